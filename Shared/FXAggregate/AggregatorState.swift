import FXContracts
import FXCandles
import FXCore

/// What the aggregator holds between flushes, per owned partition: its lease generation, the ticks
/// consumed but not yet written, the next offset after them, the event-time watermark and how far its
/// buckets were closed. A value type kept behind a lock: consumption, flushes and rebalances mutate
/// it, and every mutation returns the ``Action``s the service carries out outside the lock.
struct AggregatorState: Sendable {
    struct Limits: Sendable {
        /// Pending ticks that trigger a flush at once.
        var flushMaxTicks: Int
        /// Pending ticks at which consumption pauses until a flush takes them.
        var maxPending: Int
        /// Allowed lateness (ns): the watermark is the newest tick time minus this.
        var lateness: Int64
        /// After this long without a message, a partition's watermark follows the wall clock.
        var idleTimeout: Duration
        /// The smallest timeframe (ns): buckets close on its boundaries.
        var closeStep: Int64

        init(flushMaxTicks: Int = 5_000, maxPending: Int = 20_000, lateness: Int64 = 5_000_000_000,
             idleTimeout: Duration = .seconds(10), closeStep: Int64 = 60_000_000_000) {
            self.flushMaxTicks = flushMaxTicks
            self.maxPending = maxPending
            self.lateness = lateness
            self.idleTimeout = idleTimeout
            self.closeStep = closeStep
        }
    }

    struct Partition: Sendable {
        var generation: Int64
        var pending: [TickRecord] = []
        var rejects: [RejectRecord] = []
        /// Next offset after the last consumed message, nil when nothing is pending.
        var nextOffset: Int64?
        var consumedOffset: Int64?
        var maxTs: Int64?
        var lastMessageAt: ContinuousClock.Instant
        /// The watermark up to which buckets were last closed; nil until the first close (which also
        /// re-sends finals a previous owner did not record).
        var closedThrough: Int64?
    }

    /// What the service does after a mutation, outside the lock.
    enum Action: Sendable, Equatable {
        /// Wake the flusher: ticks are pending (it flushes at once when `flushMaxTicks` are).
        case flush
        /// Stop taking messages until ``resumeIntake``: the database is behind.
        case pauseIntake
        case resumeIntake
        /// Publish `final` for the partition's candles whose bucket ends at or before `watermark`.
        case close(partition: Int32, watermark: Int64)
    }

    let limits: Limits
    private(set) var partitions: [Int32: Partition] = [:]
    private(set) var pendingCount = 0
    private(set) var intakePaused = false
    /// When the oldest message now pending was consumed (nil when nothing is): the flush interval runs
    /// from here, so a tick waits at most one interval however long the previous flush took.
    private(set) var pendingSince: ContinuousClock.Instant?

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    mutating func assigned(_ partition: Int32, generation: Int64, now: ContinuousClock.Instant) {
        partitions[partition] = Partition(generation: generation, lastMessageAt: now)
    }

    /// Assignment events still to come in the consumer's stream, per partition: one per claim made in the
    /// rebalance callback, which runs ahead of the stream. Until a partition's last one is read, the
    /// partition's messages in the stream were fetched under an earlier assignment: taken under the new
    /// generation they would store an offset behind (or, across a crash, ahead of) what was counted, so
    /// they are set aside; the new assignment reads them again from the stored offset.
    private(set) var assignmentsAhead: [Int32: Int] = [:]

    /// A claim made in the rebalance callback (``assigned(_:generation:now:)``); its messages are taken
    /// once the stream delivers its assignment event (``assignmentDelivered(_:)``).
    mutating func claimed(_ partition: Int32, generation: Int64, now: ContinuousClock.Instant) {
        assigned(partition, generation: generation, now: now)
        assignmentsAhead[partition, default: 0] += 1
    }

    /// The consumer's stream delivered an assignment of these partitions.
    mutating func assignmentDelivered(_ delivered: [Int32]) {
        for partition in delivered {
            guard let ahead = assignmentsAhead[partition] else { continue }
            assignmentsAhead[partition] = ahead > 1 ? ahead - 1 : nil
        }
    }

    /// Drops the partitions (pending ticks included: their offsets were not stored, the next owner
    /// reads them again).
    mutating func revoked(_ revoked: [Int32]) -> [Action] {
        for partition in revoked {
            if let removed = partitions.removeValue(forKey: partition) { pendingCount -= removed.pending.count }
        }
        if !hasPending { pendingSince = nil }
        return resumeIfBelowLimit()
    }

    enum Receipt: Sendable { case notOwned, accepted, late }

    /// One consumed message, decoded: a valid tick or a reject.
    struct Consumed: Sendable {
        var offset: Int64
        var tick: TickRecord?
        var reject: RejectRecord?
    }

    /// What a run of messages counted (nothing when the partition is not owned).
    struct Counts: Sendable, Equatable {
        var ticks = 0, rejects = 0, late = 0

        static func += (total: inout Counts, run: Counts) {
            total.ticks += run.ticks
            total.rejects += run.rejects
            total.late += run.late
        }
    }

    /// Records one consumed message: a valid tick or a reject. `late`: a tick older than the partition's
    /// watermark (it still counts; its candle gets a new revision).
    mutating func received(partition: Int32, offset: Int64, tick: TickRecord?, reject: RejectRecord?,
                           now: ContinuousClock.Instant) -> (Receipt, [Action]) {
        guard let index = ownedIndex(partition) else { return (.notOwned, []) }
        var state = Partition(generation: 0, lastMessageAt: now)
        swap(&state, &partitions.values[index])
        defer { swap(&state, &partitions.values[index]) }
        var actions: [Action] = []
        let receipt = record(&state, partition: partition, offset: offset, tick: tick, reject: reject, now: now, actions: &actions)
        return (receipt, actions)
    }

    /// Records consecutive messages of one partition, `messages[range]`, in order: each as
    /// ``received(partition:offset:tick:reject:now:)`` would, with the partition looked up once and the
    /// ticks and rejects moved out of `messages` (not copied).
    mutating func received(partition: Int32, _ messages: inout [Consumed], _ range: Range<Int>,
                           now: ContinuousClock.Instant) -> (Counts, [Action]) {
        guard let index = ownedIndex(partition) else { return (Counts(), []) }
        var state = Partition(generation: 0, lastMessageAt: now)
        swap(&state, &partitions.values[index])
        defer { swap(&state, &partitions.values[index]) }
        var counts = Counts()
        var actions: [Action] = []
        for message in range {
            let tick = messages[message].tick.take(), reject = messages[message].reject.take()
            // Pattern matches, not `!= nil`: TickRecord is Equatable, and that comparison copied the record.
            if case .some = tick { counts.ticks += 1 } else if case .some = reject { counts.rejects += 1 }
            if record(&state, partition: partition, offset: messages[message].offset, tick: tick, reject: reject,
                      now: now, actions: &actions) == .late {
                counts.late += 1
            }
        }
        return (counts, actions)
    }

    /// Where the partition's state is, when it is owned and its messages were not fetched under an earlier
    /// assignment. Its state is swapped out while it changes, then back: changed in place, a copy would
    /// share `pending` with the stored value and every append would copy the whole array (this was the
    /// aggregator's bottleneck: 70% of its CPU copying pending ticks, 7k ticks/s in the pipeline benchmark).
    private func ownedIndex(_ partition: Int32) -> Dictionary<Int32, Partition>.Index? {
        if !assignmentsAhead.isEmpty, assignmentsAhead[partition] != nil { return nil }
        return partitions.index(forKey: partition)
    }

    private mutating func record(_ state: inout Partition, partition: Int32, offset: Int64, tick: consuming TickRecord?,
                                 reject: consuming RejectRecord?, now: ContinuousClock.Instant, actions: inout [Action]) -> Receipt {
        var receipt = Receipt.accepted
        var counted = false
        if case .some = tick { counted = true } else if case .some = reject { counted = true }
        if let ts = tick?.ts {
            if let maxTs = state.maxTs, ts < maxTs.subtractingClamped(limits.lateness) {
                receipt = .late
            }
            state.maxTs = max(state.maxTs ?? ts, ts)
            state.pending.append((consume tick)!)
            pendingCount += 1
            if pendingCount == 1 || pendingCount == limits.flushMaxTicks { actions.append(.flush) }
            if pendingCount >= limits.maxPending, !intakePaused {
                intakePaused = true
                actions.append(.pauseIntake)
            }
        }
        if case .some = reject {
            state.rejects.append((consume reject)!)
            if state.pending.isEmpty, state.rejects.count == 1 { actions.append(.flush) }
        }
        state.nextOffset = offset + 1
        state.consumedOffset = offset + 1
        state.lastMessageAt = now
        if pendingSince == nil, counted { pendingSince = now }
        if let watermark = state.maxTs.map({ $0.subtractingClamped(limits.lateness) }), closeDue(state, watermark: watermark) {
            state.closedThrough = watermark
            actions.append(.close(partition: partition, watermark: watermark))
        }
        return receipt
    }

    struct Taken: Sendable {
        var batches: [FencedCandleStore.PartitionBatch]
        var rejects: [Int32: [RejectRecord]]
        /// When the oldest of them was consumed.
        var since: ContinuousClock.Instant?
        var allRejects: [RejectRecord] { rejects.keys.sorted().flatMap { rejects[$0]! } }

        /// Each tick's time from the ingestor's receipt (`recv_ts`) to `committedAt` (ns); ticks without
        /// `recv_ts` have none. Read in place: no tick is copied.
        func latencies(committedAt: Int64) -> [Int64] {
            var latencies: [Int64] = []
            latencies.reserveCapacity(batches.reduce(0) { $0 + $1.ticks.count })
            for batch in batches.indices {
                for tick in batches[batch].ticks.indices {
                    if let receivedAt = batches[batch].ticks[tick].receivedAt { latencies.append(committedAt.subtractingClamped(receivedAt)) }
                }
            }
            return latencies
        }
    }

    /// Everything pending, as one flush.
    mutating func take() -> (Taken, [Action]) {
        var batches: [FencedCandleStore.PartitionBatch] = []
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
        defer { pendingSince = nil }
        return (Taken(batches: batches.sorted { $0.partition < $1.partition }, rejects: rejects, since: pendingSince), resumeIfBelowLimit())
    }

    /// A flush failed: its ticks go back in front of whatever arrived since (same partition, same lease).
    mutating func restore(_ taken: Taken, except fenced: Int32? = nil) -> [Action] {
        for batch in taken.batches where batch.partition != fenced {
            guard var state = partitions[batch.partition], state.generation == batch.generation else { continue }
            state.pending = batch.ticks + state.pending
            state.rejects = (taken.rejects[batch.partition] ?? []) + state.rejects
            state.nextOffset = state.nextOffset ?? batch.nextOffset
            pendingCount += batch.ticks.count
            partitions[batch.partition] = state
            if let since = taken.since { pendingSince = min(pendingSince ?? since, since) }
        }
        if pendingCount >= limits.maxPending, !intakePaused {
            intakePaused = true
            return [.pauseIntake]
        }
        return []
    }

    private mutating func resumeIfBelowLimit() -> [Action] {
        guard intakePaused, pendingCount < limits.maxPending else { return [] }
        intakePaused = false
        return [.resumeIntake]
    }

    /// Whether anything (ticks or rejects) waits for a flush.
    var hasPending: Bool { partitions.values.contains { $0.nextOffset != nil } }

    /// Event-time watermark of a partition (ns): max `ts` minus the allowed lateness; once the partition
    /// has been idle for `idleTimeout`, the wall clock minus the lateness (so quiet partitions close buckets).
    func watermark(_ partition: Int32, wallNow: Int64, now: ContinuousClock.Instant) -> Int64? {
        guard let state = partitions[partition] else { return nil }
        let eventTime = state.maxTs.map { $0.subtractingClamped(limits.lateness) }
        if now - state.lastMessageAt >= limits.idleTimeout { return max(eventTime ?? .min, wallNow.subtractingClamped(limits.lateness)) }
        return eventTime
    }

    /// Closes due by the clock (idle partitions, whose watermark follows the wall clock): each returned
    /// close is recorded as done. Also says how long until the next one can be due (nil: none can be
    /// until a message arrives), so the closer sleeps exactly that long.
    mutating func dueCloses(wallNow: Int64, now: ContinuousClock.Instant) -> (closes: [Action], nextCheck: Duration?) {
        var closes: [Action] = []
        var next: Duration?
        func consider(_ wait: Duration) { next = min(next ?? wait, wait) }
        for id in partitions.keys.sorted() {
            guard var state = partitions[id] else { continue }
            let idleSince = state.lastMessageAt + limits.idleTimeout
            guard now >= idleSince, let watermark = watermark(id, wallNow: wallNow, now: now) else {
                consider(idleSince - now)
                continue
            }
            if closeDue(state, watermark: watermark) {
                state.closedThrough = watermark
                partitions[id] = state
                closes.append(.close(partition: id, watermark: watermark))
            }
            // The wall-clock watermark crosses the next boundary at boundary + lateness.
            let boundary = nextBoundary(after: state.closedThrough ?? watermark)
            consider(.nanoseconds(max(0, boundary.addingClamped(limits.lateness).subtractingClamped(wallNow))))
        }
        return (closes, next)
    }

    /// A close is due the first time, and whenever the watermark passes the next bucket boundary.
    private func closeDue(_ state: Partition, watermark: Int64) -> Bool {
        guard let closed = state.closedThrough else { return true }
        return watermark >= nextBoundary(after: closed)
    }

    private func nextBoundary(after ts: Int64) -> Int64 {
        let step = limits.closeStep
        // Clamped: event times are bounded by the tick contract, but a close must never trap.
        let floor = ts >= 0 ? ts / step * step : (ts.subtractingClamped(step - 1) / step) * step
        return floor.addingClamped(step)
    }

    var owned: [Int32] { partitions.keys.sorted() }
}
