import FXCore

/// What the aggregator holds between flushes, per owned partition: its lease generation, the ticks
/// consumed but not yet written, the next offset after them, and the event-time watermark. A value
/// type kept behind a lock; consumption, flushes and rebalances mutate it.
struct AggregatorState: Sendable {
    struct Partition: Sendable {
        var generation: Int64
        var pending: [TickRecord] = []
        var rejects: [RejectRecord] = []
        /// Next offset after the last consumed message, nil when nothing is pending.
        var nextOffset: Int64?
        var consumedOffset: Int64?
        var maxTs: Int64?
        var lastMessageAt: ContinuousClock.Instant
        var symbols: Set<String> = []
    }

    private(set) var partitions: [Int32: Partition] = [:]
    private(set) var pendingCount = 0
    private(set) var lateTicks = 0

    mutating func assigned(_ partition: Int32, generation: Int64, now: ContinuousClock.Instant) {
        partitions[partition] = Partition(generation: generation, lastMessageAt: now)
    }

    /// Drops the partitions (pending ticks included: their offsets were not stored, the next owner
    /// reads them again).
    mutating func revoked(_ revoked: [Int32]) {
        for partition in revoked {
            if let removed = partitions.removeValue(forKey: partition) { pendingCount -= removed.pending.count }
        }
    }

    enum Receipt { case notOwned, accepted, late }

    /// Records one consumed message: a valid tick or a reject. `late`: a tick older than the partition's
    /// watermark (it still counts; its candle gets a new revision).
    mutating func received(partition: Int32, offset: Int64, tick: TickRecord?, reject: RejectRecord?,
                           lateness: Int64, now: ContinuousClock.Instant) -> Receipt {
        guard var state = partitions[partition] else { return .notOwned }
        var receipt = Receipt.accepted
        if let tick {
            if let maxTs = state.maxTs, tick.ts < maxTs - lateness {
                lateTicks += 1
                receipt = .late
            }
            state.maxTs = max(state.maxTs ?? tick.ts, tick.ts)
            state.pending.append(tick)
            state.symbols.insert(tick.source + "\u{0}" + tick.symbol)
            pendingCount += 1
        }
        if let reject { state.rejects.append(reject) }
        state.nextOffset = offset + 1
        state.consumedOffset = offset + 1
        state.lastMessageAt = now
        partitions[partition] = state
        return receipt
    }

    struct Taken: Sendable {
        var batches: [CandleStore.PartitionBatch]
        var rejects: [Int32: [RejectRecord]]
        var allRejects: [RejectRecord] { rejects.keys.sorted().flatMap { rejects[$0]! } }
    }

    /// Everything pending, as one flush.
    mutating func take() -> Taken {
        var batches: [CandleStore.PartitionBatch] = []
        var rejects: [Int32: [RejectRecord]] = [:]
        for (id, var state) in partitions {
            guard let next = state.nextOffset else { continue }
            batches.append(.init(partition: id, generation: state.generation, nextOffset: next, ticks: state.pending))
            if !state.rejects.isEmpty { rejects[id] = state.rejects }
            pendingCount -= state.pending.count
            state.pending = []
            state.rejects = []
            state.nextOffset = nil
            partitions[id] = state
        }
        return Taken(batches: batches.sorted { $0.partition < $1.partition }, rejects: rejects)
    }

    /// A flush failed: its ticks go back in front of whatever arrived since (same partition, same lease).
    mutating func restore(_ taken: Taken, except fenced: Int32? = nil) {
        for batch in taken.batches where batch.partition != fenced {
            guard var state = partitions[batch.partition], state.generation == batch.generation else { continue }
            state.pending = batch.ticks + state.pending
            state.rejects = (taken.rejects[batch.partition] ?? []) + state.rejects
            state.nextOffset = state.nextOffset ?? batch.nextOffset
            pendingCount += batch.ticks.count
            partitions[batch.partition] = state
        }
    }

    /// Event-time watermark of a partition (ns): max `ts` minus the allowed lateness; once the partition
    /// has been idle for `idle`, the wall clock minus the lateness (so quiet partitions close buckets).
    func watermark(_ partition: Int32, lateness: Int64, idle: Duration, wallNow: Int64, now: ContinuousClock.Instant) -> Int64? {
        guard let state = partitions[partition] else { return nil }
        let eventTime = state.maxTs.map { $0 - lateness }
        if now - state.lastMessageAt >= idle { return max(eventTime ?? .min, wallNow - lateness) }
        return eventTime
    }

    var owned: [Int32] { partitions.keys.sorted() }
}
