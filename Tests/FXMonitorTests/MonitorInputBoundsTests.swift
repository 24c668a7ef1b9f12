import FXContracts
import FXCore
@testable import FXMonitor
import Testing

/// Untrusted integers from the topics never trap the monitor: values outside the topic contracts
/// (``ContractLimits``) are ignored and counted; sums of counters saturate.
@Suite("Monitor: Int64 extremes in ticks, heartbeats and gap events")
struct MonitorInputBoundsTests {
    typealias S = MonitorTestSupport
    static let extremes: [Int64] = [.min, .min + 1, -1, 0, 1_000_000, .max - 1, .max]

    @Test("a tick whose ts or recv_ts lies outside 2000-2100 (a venue time before 1733, Int64.min, Int64.max) is ignored and counted; a good tick still counts")
    func extremeTickTimes() {
        let service = S.service()
        let now = S.wednesday
        var bad = 0
        for ts in Self.extremes {
            for recv in Self.extremes + [now] {
                service.apply(topic: S.topics.ticks, value: S.tick(ts: ts, recv: recv), now: now)
                bad += 1
            }
        }
        // A Coinbase `time` of year 1700: far before 1733, `recv_ts - ts` overflows Int64.
        service.apply(topic: S.topics.ticks, value: S.tick(ts: -8_520_336_000 * S.second, recv: now), now: now)
        service.apply(topic: S.topics.ticks, value: S.tick(ts: now, recv: .max), now: now)
        service.apply(topic: S.topics.ticks, value: S.tick(ts: now - S.second, recv: now), now: now)
        service.evaluate(now: now)
        #expect(service.ignoredCount(.invalidTimestamp) == Int64(bad + 2))
        #expect(service.stateSizes.streams == 1, "the good tick made its stream known")
        let latency = service.state.withLock { $0.latency.percentiles(.exchangeToReceive, source: "coinbase", now: now) }
        #expect(latency?.count == 1 && (latency?.p50 ?? 0) >= 999_000, "one sample of about 1 s")
    }

    @Test("heartbeat counters at Int64 extremes (min then max, max twice, negative reconnects) saturate or are ignored; rates stay non-negative")
    func extremeCounters() {
        let service = S.service()
        let now = S.wednesday
        for (step, value) in [Int64.min, .max, .max, .min, 0, .max].enumerated() {
            service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(ts: now, lastMessage: now, errors: value, reconnects: value),
                          now: now + Int64(step) * S.second)
        }
        service.evaluate(now: now + 6 * S.second)
        let errors = service.state.withLock { $0.pipeline.rate(.errors, source: "ingestor", now: now + 6 * S.second) }
        #expect(errors.lastMinute >= 0 && errors.total >= 0)
        #expect(service.ignoredCount(.invalidNumber) >= 4, "negative counters are ignored")
        var meter = RateMeter()
        meter.add(.max, now: now)
        meter.add(.max, now: now)
        #expect(meter.total == .max && meter.lastMinute(now: now) == .max, "sums saturate")
    }

    @Test("heartbeat times, connection times, ledger counts and times, partitions and latency buckets at Int64 extremes: ignored, never a crash")
    func extremeHeartbeatFields() throws {
        let service = S.service()
        let now = S.wednesday
        for value in Self.extremes {
            service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(ts: value, lastMessage: value), now: now)
            service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(ts: now, lastMessage: value), now: now)
            service.apply(topic: S.topics.health, value: S.bytes(#"{"v":1,"service":"backfiller","instance":"bf-1","ts":\#(now),"ledger":{"open":\#(value),"filling":\#(value),"failed":\#(value),"unfillable":0,"filled":0,"oldest_unfilled_from_ts":\#(value),"minutes_to_repair":\#(value)},"partitions":[{"topic":"spec.gaps","partition":\#(value),"lag":\#(value)}],"counters":{}}"#), now: now)
            service.apply(topic: S.topics.health, value: S.bytes(#"{"v":1,"service":"aggregator","instance":"agg-1","ts":\#(now),"partitions":[{"topic":"spec.ticks","partition":0,"lag":\#(value)}],"counters":{"flush_failures":\#(value)},"latency":{"tick_to_candle":{"count":1,"buckets":[[\#(value),\#(value)],[1000,\#(value)]]}}}"#), now: now)
            service.evaluate(now: now + S.second)
        }
        let book = service.state.withLock { $0.pipeline }
        #expect((book.backfill?.queued ?? 0) >= 0 && book.partitionLags.allSatisfy { ($0.lag ?? 0) >= 0 && $0.partition <= Int64(Int32.max) })
        #expect(service.ignoredCount(.invalidTimestamp) >= 4 && service.ignoredCount(.invalidNumber) >= 4)
        let body = String(decoding: MonitorAPI.pipeline(book, now: now), as: UTF8.self)
        #expect(try JSONParser().parse(Array(body.utf8))["backfill"] != nil)
    }

    @Test("gap events whose from_ts/to_ts lie outside 2000-2100 are ignored and counted (real encoded gap events)")
    func extremeGaps() {
        let service = S.service()
        let now = S.wednesday
        for value in Self.extremes {
            let gap = GapEvent(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", from: value, to: now, reason: .disconnect,
                               detectedAt: now, detail: "spec", instance: "ing-1")
            service.apply(topic: S.topics.gaps, value: gap.jsonBytes(), now: now)
        }
        service.evaluate(now: now)
        #expect(service.ignoredCount(.invalidTimestamp) == Int64(Self.extremes.count))
        #expect(service.stateSizes.streams == 0)
    }

    @Test("sources, symbols and instances outside their contracts are ignored as invalid names")
    func invalidNames() {
        let service = S.service()
        let now = S.wednesday
        service.apply(topic: S.topics.ticks, value: S.tick(source: String(repeating: "a", count: 33), ts: now, recv: now), now: now)
        service.apply(topic: S.topics.ticks, value: S.tick(source: "Coin Base", ts: now, recv: now), now: now)
        service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: String(repeating: "i", count: 254), ts: now, lastMessage: now), now: now)
        #expect(service.ignoredCount(.invalidName) == 3)
        #expect(service.stateSizes.streams == 0 && service.stateSizes.instances == 0)
    }
}
