import FXContracts
import FXCore
import FXMonitor
import Testing

@Suite("Monitor: rates, consumer lag and the backfill queue")
struct PipelineBookTests {
    static let second: Int64 = 1_000_000_000

    /// A heartbeat's send time (Wednesday 2026-11-25 12:00 UTC).
    static let base: Int64 = 1_795_608_000_000_000_000

    @Test("a rate counts exactly the events of the last 60 seconds")
    func lastMinute() {
        var meter = RateMeter()
        for second in 0..<90 { meter.add(2, now: Int64(second) * Self.second + 5) }
        #expect(meter.total == 180)
        #expect(meter.lastMinute(now: 89 * Self.second) == 120, "seconds 30-89")
        #expect(meter.lastMinute(now: 119 * Self.second) == 60, "seconds 60-89 in the minute up to 119")
        #expect(meter.lastMinute(now: 148 * Self.second) == 2, "only second 89 in the minute up to 148")
        #expect(meter.lastMinute(now: 200 * Self.second) == 0, "a silent minute reads zero")
        meter.add(now: 10 * Self.second)
        #expect(meter.total == 181 && meter.lastMinute(now: 89 * Self.second) == 120, "a late event counts in the total only")
    }

    @Test("heartbeat counters become rates: reconnects per source, errors per service; a restarted instance counts from zero")
    func heartbeatIncreases() throws {
        var book = PipelineBook()
        func ingestor(reconnects: Int64, errors: Int64, at second: Int64) throws {
            var beat = Heartbeat.ingestor(instance: "i-1", ts: Self.base, lastMessage: nil, reconnects: reconnects)
            beat.counters = [.init("provider_errors", errors), .init("delivery_failures", 0), .init("dropped", 0)]
            book.heartbeat(beat.received(at: second * Self.second), now: second * Self.second)
        }
        try ingestor(reconnects: 5, errors: 7, at: 0)
        #expect(book.rate(.reconnects, source: "coinbase", now: 1 * Self.second).lastMinute == 0, "totals before the first heartbeat heard are history")
        try ingestor(reconnects: 8, errors: 9, at: 5)
        #expect(book.rate(.reconnects, source: "coinbase", now: 6 * Self.second).lastMinute == 3)
        #expect(book.rate(.errors, source: "ingestor", now: 6 * Self.second).lastMinute == 2)
        try ingestor(reconnects: 1, errors: 0, at: 10)
        #expect(book.rate(.reconnects, source: "coinbase", now: 11 * Self.second).lastMinute == 4, "after a restart its new total is new")
        book.count(.ticks, source: "coinbase", 100, now: 11 * Self.second)
        book.count(.rejects, source: "coinbase", now: 11 * Self.second)
        #expect(book.sources(.ticks) == ["coinbase"] && book.rate(.rejects, source: "coinbase", now: 12 * Self.second).lastMinute == 1)
    }

    @Test("lag per partition from aggregator and backfiller heartbeats; the backfill queue from the backfiller's ledger")
    func lagAndQueue() throws {
        var book = PipelineBook()
        var aggregator = Heartbeat(service: "aggregator", instance: "agg-1", timestamp: Self.base, startedAt: Self.base)
        aggregator.partitions = [
            .init(topic: "fx.ticks", partition: 0, consumedOffset: 88, highWatermark: 100, lag: 12,
                  fencing: .init(generation: 3, pending: 0, watermarkTs: Self.base)),
            .init(topic: "fx.ticks", partition: 1, consumedOffset: nil, highWatermark: nil, lag: nil,
                  fencing: .init(generation: 1, pending: 0, watermarkTs: nil)),
        ]
        book.heartbeat(aggregator.received(at: 1 * Self.second), now: 1 * Self.second)
        var backfiller = Heartbeat(service: "backfiller", instance: "bf-1", timestamp: Self.base, startedAt: Self.base)
        backfiller.backfiller = .init(ledger: .init(byStatus: [.open: 2, .filling: 1, .failed: 1, .unfillable: 3, .filled: 40],
                                                    oldestUnfilledFrom: 1_795_600_000_000_000_000, minutesToRepair: 12))
        backfiller.partitions = [.init(topic: "fx.gaps", partition: 0, consumedOffset: 9, highWatermark: 9, lag: 0)]
        book.heartbeat(backfiller.received(at: 2 * Self.second), now: 2 * Self.second)
        let lags = book.partitionLags
        #expect(lags.map { "\($0.service):\($0.topic):\($0.partition)=\($0.lag.map(String.init) ?? "?")" }
                == ["aggregator:fx.ticks:0=12", "aggregator:fx.ticks:1=?", "backfiller:fx.gaps:0=0"])
        #expect(book.backfill?.queued == 4, "open + filling + failed")
        #expect(book.backfill?.byStatus["unfillable"] == 3 && book.backfill?.oldestUnfilledFrom == 1_795_600_000_000_000_000 && book.backfill?.minutesToRepair == 12)
        book.forget(instance: "aggregator:agg-1")
        #expect(book.partitionLags.map(\.service) == ["backfiller"], "a missing instance's partitions are dropped")
        var unknownLedger = Heartbeat(service: "backfiller", instance: "bf-1", timestamp: Self.base, startedAt: Self.base)
        unknownLedger.backfiller = .init(ledger: nil)
        book.heartbeat(unknownLedger.received(at: 3 * Self.second), now: 3 * Self.second)
        #expect(book.backfill?.queued == 4, "a heartbeat whose ledger could not be read keeps the last known queue")
    }
}
