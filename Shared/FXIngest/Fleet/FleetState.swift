/// Which shards this instance streams, from the control partitions the group gives it: a value type
/// whose events return what to start and stop (``IngestorFleet`` does it, outside its lock).
///
/// - Incremental (cooperative-sticky) assignment: an assignment adds partitions, a revocation takes
///   exactly those away; a revoked shard stops at once (before its new owner is given it).
/// - Eager (range) assignment: every rebalance revokes everything and assigns anew; the shards keep
///   streaming through the revocation and are reconciled with the next assignment, so a shard that
///   stays here never blinks and one that moves overlaps its new owner briefly instead of leaving a hole.
struct FleetState: Sendable {
    enum Action: Sendable, Equatable {
        case start(Int)
        case stop(Int)
    }

    let layout: ShardLayout
    let incremental: Bool
    private(set) var owned: Set<Int32> = []
    /// Shard indexes streaming now.
    private(set) var running: Set<Int> = []

    init(layout: ShardLayout, incremental: Bool) {
        self.layout = layout
        self.incremental = incremental
    }

    mutating func assigned(_ partitions: [Int32]) -> [Action] {
        if incremental { owned.formUnion(partitions) } else { owned = Set(partitions) }
        return reconcile()
    }

    mutating func revoked(_ partitions: [Int32]) -> [Action] {
        owned.subtract(partitions)
        return incremental ? reconcile() : []
    }

    /// The instance left the group (stopping, or its consumer ended): everything stops.
    mutating func left() -> [Action] {
        owned = []
        return reconcile()
    }

    private mutating func reconcile() -> [Action] {
        let wanted = layout.shardIndexes(owning: owned)
        let actions = running.subtracting(wanted).sorted().map(Action.stop) + wanted.subtracting(running).sorted().map(Action.start)
        running = wanted
        return actions
    }
}
