import FXCandles
import FXContracts
@testable import FXAggregate
import FXCore
import Testing

/// `AggregatorState` as a specification: what each event does to the pending ticks, and which actions
/// it asks the service to carry out.
@Suite("Aggregator state machine")
struct AggregatorStateTests {
    static let second: Int64 = 1_000_000_000
    static let minute = 60 * second
    /// 2026-11-17 00:00 UTC: a realistic event time, on a minute boundary.
    static let epoch: Int64 = 29_386_080 * minute

    func tick(ts: Int64, symbol: String = "BTC/USD") -> TickRecord {
        let json = #"{"v":1,"source":"spec","symbol":"\#(symbol)","kind":"trade","ts":\#(ts),"price":"100.5","size":"1"}"#
        return try! TickRecord(json: Array(json.utf8))
    }

    func state(flushMaxTicks: Int = 3, maxPending: Int = 5, assignedAt: ContinuousClock.Instant = .now) -> AggregatorState {
        var state = AggregatorState(limits: .init(flushMaxTicks: flushMaxTicks, maxPending: maxPending, lateness: 5 * Self.second,
                                                  idleTimeout: .seconds(10), closeStep: Self.minute))
        state.assigned(0, generation: 1, now: assignedAt)
        return state
    }

    @Test("the first pending tick and a full batch wake the flusher; nothing else does")
    func flushActions() {
        var state = state()
        let base: Int64 = Self.epoch + 10 * Self.minute
        #expect(state.received(partition: 0, offset: 0, tick: tick(ts: base), reject: nil, now: .now).1 == [.flush, .close(partition: 0, watermark: base - 5 * Self.second)])
        #expect(state.received(partition: 0, offset: 1, tick: tick(ts: base + 1), reject: nil, now: .now).1 == [])
        #expect(state.received(partition: 0, offset: 2, tick: tick(ts: base + 2), reject: nil, now: .now).1 == [.flush])
        #expect(state.pendingCount == 3)
    }

    @Test("the flush interval runs from the oldest pending tick: set by the first, cleared by a take, kept by a failed flush")
    func pendingSince() {
        var state = state(flushMaxTicks: 100, maxPending: 100)
        let start = ContinuousClock.now
        #expect(state.pendingSince == nil)
        _ = state.received(partition: 0, offset: 0, tick: tick(ts: Self.epoch), reject: nil, now: start)
        _ = state.received(partition: 0, offset: 1, tick: tick(ts: Self.epoch), reject: nil, now: start + .milliseconds(80))
        #expect(state.pendingSince == start)
        let (taken, _) = state.take()
        #expect(taken.since == start)
        #expect(state.pendingSince == nil)
        // Consumed while that flush runs; the flush fails and its ticks come back in front: the older moment wins.
        _ = state.received(partition: 0, offset: 2, tick: tick(ts: Self.epoch), reject: nil, now: start + .milliseconds(150))
        #expect(state.pendingSince == start + .milliseconds(150))
        _ = state.restore(taken)
        #expect(state.pendingSince == start)
        _ = state.revoked([0])
        #expect(state.pendingSince == nil)
    }

    @Test("intake pauses at the pending limit and resumes when a flush takes the ticks")
    func backpressure() {
        var state = state(flushMaxTicks: 100, maxPending: 3)
        let base: Int64 = Self.epoch + 10 * Self.minute
        _ = state.received(partition: 0, offset: 0, tick: tick(ts: base), reject: nil, now: .now)
        _ = state.received(partition: 0, offset: 1, tick: tick(ts: base), reject: nil, now: .now)
        let (_, actions) = state.received(partition: 0, offset: 2, tick: tick(ts: base), reject: nil, now: .now)
        #expect(actions.contains(.pauseIntake))
        #expect(state.intakePaused)
        let (taken, resumed) = state.take()
        #expect(resumed == [.resumeIntake])
        #expect(taken.batches.first?.ticks.count == 3)
        #expect(taken.batches.first?.nextOffset == 3)
        // The flush failed: the ticks come back and intake pauses again.
        #expect(state.restore(taken) == [.pauseIntake])
        #expect(state.pendingCount == 3)
    }

    @Test("messages of a partition this instance does not own are ignored")
    func notOwned() {
        var state = state()
        let (receipt, actions) = state.received(partition: 7, offset: 0, tick: tick(ts: Self.epoch), reject: nil, now: .now)
        #expect(receipt == .notOwned)
        #expect(actions.isEmpty)
        #expect(state.pendingCount == 0)
    }

    @Test("a tick older than the watermark is late but still pending")
    func late() {
        var state = state()
        let base: Int64 = Self.epoch + 10 * Self.minute
        _ = state.received(partition: 0, offset: 0, tick: tick(ts: base), reject: nil, now: .now)
        let (receipt, _) = state.received(partition: 0, offset: 1, tick: tick(ts: base - 6 * Self.second), reject: nil, now: .now)
        #expect(receipt == .late)
        #expect(state.pendingCount == 2)
    }

    @Test("buckets close when the watermark passes the next boundary of the smallest timeframe, once")
    func closes() {
        var state = state(flushMaxTicks: 1_000, maxPending: 2_000)
        let base: Int64 = Self.epoch + 10 * Self.minute
        func closes(_ ts: Int64, _ offset: Int64) -> [AggregatorState.Action] {
            state.received(partition: 0, offset: offset, tick: tick(ts: ts), reject: nil, now: .now).1.filter {
                if case .close = $0 { return true } else { return false }
            }
        }
        #expect(closes(base + 5 * Self.second, 0) == [.close(partition: 0, watermark: base)], "first close after assignment")
        #expect(closes(base + 30 * Self.second, 1) == [])
        #expect(closes(base + 64 * Self.second, 2) == [], "watermark 59 s: the 10:00 bucket is still open")
        #expect(closes(base + 65 * Self.second, 3) == [.close(partition: 0, watermark: base + 60 * Self.second)])
        #expect(closes(base + 66 * Self.second, 4) == [], "closed once per boundary")
    }

    @Test("an idle partition closes by the wall clock, and the closer knows when to look next")
    func idleCloses() {
        let start = ContinuousClock.now
        var state = state(assignedAt: start)
        let wall: Int64 = 100 * Self.minute + 30 * Self.second
        let (notYet, wait) = state.dueCloses(wallNow: wall, now: start)
        #expect(notYet.isEmpty)
        #expect(wait == .seconds(10), "it becomes idle after the idle timeout")
        let (due, next) = state.dueCloses(wallNow: wall, now: start + .seconds(11))
        #expect(due == [.close(partition: 0, watermark: wall - 5 * Self.second)])
        // Next boundary 101:00 is reached by the wall-clock watermark at 101:05.
        #expect(next == .nanoseconds(Self.minute + 5 * Self.second - 30 * Self.second))
        #expect(state.dueCloses(wallNow: wall + Self.second, now: start + .seconds(12)).closes.isEmpty)
    }

    @Test("a revoked partition drops its pending ticks and lets intake resume")
    func revoked() {
        var state = state(flushMaxTicks: 100, maxPending: 2)
        _ = state.received(partition: 0, offset: 0, tick: tick(ts: Self.epoch), reject: nil, now: .now)
        _ = state.received(partition: 0, offset: 1, tick: tick(ts: Self.epoch), reject: nil, now: .now)
        #expect(state.intakePaused)
        #expect(state.revoked([0]) == [.resumeIntake])
        #expect(state.pendingCount == 0)
        #expect(state.take().0.batches.isEmpty)
    }

    @Test("a flush's tick -> candle latencies: one per tick that carries recv_ts, from it to the commit, over every partition")
    func flushLatencies() {
        var state = state(flushMaxTicks: 100, maxPending: 100)
        state.assigned(1, generation: 1, now: .now)
        func tick(ts: Int64, receivedAt: Int64?) -> TickRecord {
            let recv = receivedAt.map { #","recv_ts":\#($0)"# } ?? ""
            let json = #"{"v":1,"source":"spec","symbol":"BTC/USD","kind":"trade","ts":\#(ts),"price":"1","size":"1"\#(recv)}"#
            return try! TickRecord(json: Array(json.utf8))
        }
        _ = state.received(partition: 0, offset: 0, tick: tick(ts: Self.epoch, receivedAt: Self.epoch + 1_000), reject: nil, now: .now)
        _ = state.received(partition: 0, offset: 1, tick: tick(ts: Self.epoch, receivedAt: nil), reject: nil, now: .now)
        _ = state.received(partition: 1, offset: 0, tick: tick(ts: Self.epoch, receivedAt: Self.epoch + 5_000), reject: nil, now: .now)
        let (taken, _) = state.take()
        #expect(taken.latencies(committedAt: Self.epoch + 10_000).sorted() == [5_000, 9_000])
    }

    @Test("after a claim, messages still in the stream from an earlier assignment are set aside until the stream delivers each assignment made")
    func staleMessagesAfterReassignment() {
        var state = AggregatorState(limits: .init(flushMaxTicks: 100, maxPending: 100, lateness: 5 * Self.second,
                                                  idleTimeout: .seconds(10), closeStep: Self.minute))
        let base: Int64 = Self.epoch + 10 * Self.minute
        // Two rebalances ran in the callback (claims at generations 2 and 3) before the stream caught up.
        state.claimed(0, generation: 2, now: .now)
        _ = state.revoked([0])
        state.claimed(0, generation: 3, now: .now)
        // Fetched under the first assignment: they would store offset 51 under generation 3.
        #expect(state.received(partition: 0, offset: 50, tick: tick(ts: base), reject: nil, now: .now).0 == .notOwned)
        state.assignmentDelivered([0])
        // Fetched under generation 2's assignment, delivered after its event: still not this claim's.
        #expect(state.received(partition: 0, offset: 20, tick: tick(ts: base), reject: nil, now: .now).0 == .notOwned)
        #expect(state.take().0.batches.isEmpty)
        state.assignmentDelivered([0])
        #expect(state.received(partition: 0, offset: 10, tick: tick(ts: base), reject: nil, now: .now).0 == .accepted)
        let taken = state.take().0
        #expect(taken.batches.first?.generation == 3 && taken.batches.first?.nextOffset == 11 && taken.batches.first?.ticks.count == 1)
    }

    @Test("a run of one partition's messages recorded at once does what recording them one by one does: counts, actions, pending ticks, offsets")
    func runEqualsOneByOne() throws {
        let base: Int64 = Self.epoch + 10 * Self.minute
        let reject = RejectRecord(source: "aggregator", stage: .aggregate, reason: "malformed_json", detail: "spec",
                                  receivedAt: base, payload: Array("{".utf8), instance: "spec", key: "spec")
        // A first close, a late tick, a reject, a flush at the batch size, a pause at the pending limit, a later close.
        let run: [AggregatorState.Consumed] = [
            .init(offset: 7, tick: tick(ts: base)), .init(offset: 8, tick: tick(ts: base - 6 * Self.second)),
            .init(offset: 9, reject: reject), .init(offset: 10, tick: tick(ts: base + 70 * Self.second)),
            .init(offset: 11, tick: tick(ts: base + 71 * Self.second)), .init(offset: 12, tick: tick(ts: base + 72 * Self.second)),
        ]
        let now = ContinuousClock.now
        var single = state(flushMaxTicks: 3, maxPending: 5, assignedAt: now)
        var singleActions: [AggregatorState.Action] = []
        var singleCounts = AggregatorState.Counts()
        for message in run {
            let (receipt, actions) = single.received(partition: 0, offset: message.offset, tick: message.tick, reject: message.reject, now: now)
            singleActions += actions
            if message.tick != nil { singleCounts.ticks += 1 } else { singleCounts.rejects += 1 }
            if receipt == .late { singleCounts.late += 1 }
        }
        var batched = state(flushMaxTicks: 3, maxPending: 5, assignedAt: now)
        var messages = run
        let (counts, actions) = batched.received(partition: 0, &messages, 0..<messages.count, now: now)

        #expect(counts == AggregatorState.Counts(ticks: 5, rejects: 1, late: 1))
        #expect(counts == singleCounts)
        #expect(actions == singleActions)
        #expect(actions.contains(.pauseIntake) && actions.filter { $0 == .flush }.count == 2)
        #expect(batched.pendingCount == single.pendingCount && batched.intakePaused == single.intakePaused)
        let (fromRun, fromSingles) = (batched.take().0, single.take().0)
        let batch = try #require(fromRun.batches.first)
        #expect(batch.nextOffset == 13 && batch.ticks.map(\.ts) == run.compactMap { $0.tick?.ts })
        #expect(batch.ticks == fromSingles.batches.first?.ticks && fromRun.allRejects == fromSingles.allRejects)

        var elsewhere = run
        #expect(batched.received(partition: 3, &elsewhere, 0..<elsewhere.count, now: now) == (AggregatorState.Counts(), []),
                "a partition not owned counts nothing")
        #expect(elsewhere.compactMap(\.tick).count == 5, "and takes nothing out of the messages")
    }

    @Test("a batch with runs of two partitions: each run takes only its own range, in order, and leaves the other messages alone")
    func runsOfTwoPartitions() throws {
        let base: Int64 = Self.epoch + 10 * Self.minute
        var state = AggregatorState(limits: .init(flushMaxTicks: 100, maxPending: 100, lateness: 5 * Self.second,
                                                  idleTimeout: .seconds(10), closeStep: Self.minute))
        let now = ContinuousClock.now
        state.assigned(0, generation: 1, now: now)
        state.assigned(1, generation: 1, now: now)
        // One consumer batch: partition 0 (offsets 3...4), partition 1 (20...22), partition 0 again (5).
        var batch: [AggregatorState.Consumed] = [
            .init(offset: 3, tick: tick(ts: base)), .init(offset: 4, tick: tick(ts: base + 1)),
            .init(offset: 20, tick: tick(ts: base + 70 * Self.second, symbol: "ETH/USD")),
            .init(offset: 21, tick: tick(ts: base + 71 * Self.second, symbol: "ETH/USD")),
            .init(offset: 22, tick: tick(ts: base + 72 * Self.second, symbol: "ETH/USD")),
            .init(offset: 5, tick: tick(ts: base + 2)),
        ]
        let (middle, middleActions) = state.received(partition: 1, &batch, 2..<5, now: now)
        #expect(middle == AggregatorState.Counts(ticks: 3, rejects: 0, late: 0))
        #expect(middleActions == [.flush, .close(partition: 1, watermark: base + 65 * Self.second)])
        #expect(batch[0..<2].allSatisfy { $0.tick != nil } && batch[5].tick != nil, "messages outside the range are left alone")
        #expect(batch[2..<5].allSatisfy { $0.tick == nil }, "the run's ticks were moved into the state")
        _ = state.received(partition: 0, &batch, 0..<2, now: now)
        _ = state.received(partition: 0, &batch, 5..<6, now: now)

        let taken = state.take().0.batches.sorted { $0.partition < $1.partition }
        #expect(taken.map(\.partition) == [0, 1])
        #expect(taken[0].nextOffset == 6 && taken[0].ticks.map(\.ts) == [base, base + 1, base + 2])
        #expect(taken[1].nextOffset == 23 && taken[1].ticks.map(\.symbol) == ["ETH/USD", "ETH/USD", "ETH/USD"])
    }
}
