import FXCore
import FXMonitor
import Testing

@Suite("Monitor: rates, consumer lag and the backfill queue")
struct PipelineBookTests {
    static let second: Int64 = 1_000_000_000

    static func json(_ text: String) throws -> JSONValue { try JSONParser().parse(Array(text.utf8)) }

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
        func ingestor(reconnects: Int, errors: Int, at second: Int64) throws {
            book.heartbeat(try Self.json("""
                {"v":1,"service":"ingestor","instance":"i-1","ts":1,"connections":[{"id":"coinbase-0","source":"coinbase","state":"streaming","reconnects":\(reconnects)}],
                 "counters":{"provider_errors":\(errors),"delivery_failures":0,"dropped":0}}
                """), now: second * Self.second)
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
        book.heartbeat(try Self.json("""
            {"v":1,"service":"aggregator","instance":"agg-1","ts":1,"partitions":[{"topic":"fx.ticks","partition":0,"lag":12},{"topic":"fx.ticks","partition":1,"lag":null}],"counters":{}}
            """), now: 1 * Self.second)
        book.heartbeat(try Self.json("""
            {"v":1,"service":"backfiller","instance":"bf-1","ts":1,"ledger":{"open":2,"filling":1,"failed":1,"unfillable":3,"filled":40,"oldest_unfilled_from_ts":1795600000000000000,"minutes_to_repair":12},
             "partitions":[{"topic":"fx.gaps","partition":0,"consumed_offset":9,"high_watermark":9,"lag":0}],"counters":{}}
            """), now: 2 * Self.second)
        let lags = book.partitionLags
        #expect(lags.map { "\($0.service):\($0.topic):\($0.partition)=\($0.lag.map(String.init) ?? "?")" }
                == ["aggregator:fx.ticks:0=12", "aggregator:fx.ticks:1=?", "backfiller:fx.gaps:0=0"])
        #expect(book.backfill?.queued == 4, "open + filling + failed")
        #expect(book.backfill?.byStatus["unfillable"] == 3 && book.backfill?.oldestUnfilledFrom == 1_795_600_000_000_000_000 && book.backfill?.minutesToRepair == 12)
        book.forget(instance: "aggregator:agg-1")
        #expect(book.partitionLags.map(\.service) == ["backfiller"], "a missing instance's partitions are dropped")
        book.heartbeat(try Self.json(#"{"v":1,"service":"backfiller","instance":"bf-1","ts":1,"ledger":null,"counters":{}}"#), now: 3 * Self.second)
        #expect(book.backfill?.queued == 4, "a heartbeat whose ledger could not be read keeps the last known queue")
    }
}
