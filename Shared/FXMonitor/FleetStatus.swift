import FXContracts

/// One ingestor fleet as its instances' heartbeats describe it: which live instance streams which shard,
/// and how many of the fleet's shards no live instance streams.
public struct FleetStatus: Sendable, Equatable {
    public var group: String
    public var shardCount: Int64
    public var redundancy: Int64
    /// Shard id -> the live instances streaming it (sorted).
    public var owners: [String: [String]]

    public init(group: String, shardCount: Int64, redundancy: Int64, owners: [String: [String]]) {
        self.group = group
        self.shardCount = shardCount
        self.redundancy = redundancy
        self.owners = owners
    }

    /// Shards of the fleet that no live instance streams (the count: the shard layout is each replica's).
    public var unowned: Int64 {
        max(0, shardCount - Int64(owners.count))
    }
    /// Shards streamed by fewer live instances than the redundancy asks for (unowned ones included).
    public var underReplicated: Int64 {
        unowned + Int64(owners.values.filter { Int64($0.count) < redundancy }.count)
    }

    /// The fleets of `instances`: owners from the live ones (a stopped instance's last heartbeat lists no
    /// shard); the shard count and redundancy from each group's newest heartbeat, dead instances included,
    /// so a fleet whose replicas all died still shows its shards unowned until the board forgets them.
    public static func fleets(_ instances: [InstanceStatus]) -> [FleetStatus] {
        var fleets: [String: FleetStatus] = [:]
        var newest: [String: Int64] = [:]
        for instance in instances {
            guard let fleet = instance.fleet else { continue }
            var status = fleets[fleet.group] ?? FleetStatus(group: fleet.group, shardCount: fleet.shardCount, redundancy: fleet.redundancy, owners: [:])
            if instance.heartbeatTs >= newest[fleet.group] ?? .min {
                newest[fleet.group] = instance.heartbeatTs
                status.shardCount = fleet.shardCount
                status.redundancy = fleet.redundancy
            }
            if instance.alive {
                for shard in fleet.shards { status.owners[shard, default: []].append(instance.instance) }
            }
            fleets[fleet.group] = status
        }
        return fleets.keys.sorted().map { group in
            var status = fleets[group]!
            status.owners = status.owners.mapValues { $0.sorted() }
            return status
        }
    }
}
