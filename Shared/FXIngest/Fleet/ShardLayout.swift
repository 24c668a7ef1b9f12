/// The shards of one feeds configuration, as a fleet of ingestors splits them: shard `i` (one
/// connection's symbols, in the order of the connection plans) is streamed by the owners of the control
/// topic's partitions `i`, `i + S`, ..., `i + (R - 1) * S` (S shards, redundancy R: one partition per
/// copy of a shard, copies grouped by slot so that a range assignment (with at least as many members
/// as copies) never gives two copies of a shard
/// to one member while the group has two or more).
public struct ShardLayout: Sendable, Equatable {
    public struct Shard: Sendable, Equatable {
        public var id: String
        public var symbols: [String]

        public init(id: String, symbols: [String]) {
            self.id = id
            self.symbols = symbols
        }
    }

    public let shards: [Shard]
    public let redundancy: Int

    public init(shards: [Shard], redundancy: Int) {
        self.shards = shards
        self.redundancy = max(1, redundancy)
    }

    /// The layout of connection plans (every plan's shards, in order).
    public init(plans: [ConnectionPlan], redundancy: Int) {
        self.init(shards: plans.flatMap { $0.shards.map { Shard(id: $0.id, symbols: $0.symbols) } }, redundancy: redundancy)
    }

    /// Partitions of the control topic: one per shard and copy.
    public var partitionCount: Int32 { Int32(clamping: shards.count * redundancy) }

    /// The shard a control partition stands for (nil: outside the layout).
    public func shardIndex(ofPartition partition: Int32) -> Int? {
        guard !shards.isEmpty, partition >= 0, partition < partitionCount else { return nil }
        return Int(partition) % shards.count
    }

    /// The shards to stream when owning `partitions` (two copies of one shard are streamed once).
    public func shardIndexes(owning partitions: some Sequence<Int32>) -> Set<Int> {
        Set(partitions.compactMap(shardIndex(ofPartition:)))
    }

    /// A short fingerprint of the layout (shard ids, their symbols, the redundancy): 16 hex digits of
    /// FNV-1a. Part of the control topic's and the group's names, so replicas of another configuration
    /// (a rollout that changes the symbols) form a group of their own instead of mis-reading partitions.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0x1f) &* 0x0000_0100_0000_01b3
        }
        mix("r\(redundancy)")
        for shard in shards {
            mix(shard.id)
            for symbol in shard.symbols { mix(symbol) }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
