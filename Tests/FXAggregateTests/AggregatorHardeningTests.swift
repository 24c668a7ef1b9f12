import FXContracts
import FXCandles
import Foundation
@testable import FXAggregate
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// The aggregator keeps running on any input: arithmetic on event times never traps, a tick the database
/// refuses is set aside instead of stopping its partition, and hostile messages become rejects.
@Suite("Aggregator hardening: no trap, no poison stops a partition", .serialized, .tags(.integration))
struct AggregatorHardeningTests {
    static let minute: Int64 = 60_000_000_000

    func tick(ts: Int64) -> TickRecord {
        try! TickRecord(json: Array(#"{"v":1,"source":"spec","symbol":"BTC/USD","kind":"trade","ts":\#(ts),"price":"100.5","size":"1"}"#.utf8))
    }

    @Test("watermarks and closes at the contract's edges with an unbounded lateness never trap")
    func extremeLateness() {
        for lateness in [Int64.max, Int64.min + 1, 0] {
            var state = AggregatorState(limits: .init(flushMaxTicks: 3, maxPending: 5, lateness: lateness, idleTimeout: .zero, closeStep: Self.minute))
            state.assigned(0, generation: 1, now: .now)
            _ = state.received(partition: 0, offset: 0, tick: tick(ts: ContractLimits.latestEventTime), reject: nil, now: .now)
            _ = state.received(partition: 0, offset: 1, tick: tick(ts: ContractLimits.earliestEventTime), reject: nil, now: .now)
            _ = state.dueCloses(wallNow: .max, now: .now + .seconds(1))
            _ = state.dueCloses(wallNow: .min, now: .now + .seconds(1))
            #expect(state.watermark(0, wallNow: .max, now: .now + .seconds(1)) != nil)
        }
    }

    @Test("a flush with a poison tick among good ones: the culprit goes to rejects with its reason, the rest commits, offsets move past it")
    func poisonTick() async throws {
        let fixture = try await AggregatorFixture(partitions: 1)
        let recorder = try TopicRecorder(topics: [fixture.topics.rejects])
        let start: Int64 = 1_795_200_000_000_000_000
        let good = Recomputation.messages(source: fixture.source, symbols: ["EUR/USD", "BTC/USD"], count: 300, start: start, seed: 9)
        let poisonID = "poison-\(UUID().uuidString.prefix(8).lowercased())"
        let poison = Array(#"{"v":1,"kind":"trade","source":"\#(fixture.source)","symbol":"EUR/USD","venue_symbol":"x","ts":\#(start + 1_000_000),"recv_ts":\#(start + 1_000_000),"seq":null,"price":"99999","size":"1","side":null,"trade_id":"\#(poisonID)"}"#.utf8)
        // A refusal the store cannot foresee: a check constraint that only this tick's identity breaks.
        let admin = try await PostgresTestKit.connect()
        let constraint = "spec_\(poisonID.replacingOccurrences(of: "-", with: "_"))"
        try await admin.query("ALTER TABLE ticks ADD CONSTRAINT \(constraint) CHECK (tick_key <> 't:\(poisonID)')")
        do {
            let log = Array(good[..<150]) + [poison] + Array(good[150...])
            let expected = Recomputation.candles(good.map { try! TickRecord(json: $0) }, timeframes: fixture.configuration.timeframes)
            try await withServices([fixture.service()]) {
                let counts = try await fixture.produce(log)
                try await fixture.waitForOffsets(counts)
                expectEqual(try await fixture.stored(), expected)
                let rejects = try await recorder.waitFor(fixture.topics.rejects, "the poison tick's reject") { messages in
                    messages.contains { String(decoding: $0.value, as: UTF8.self).contains(poisonID) }
                }
                let reject = try #require(rejects.compactMap { try? RejectRecord(json: $0.value) }
                    .first { String(decoding: $0.raw, as: UTF8.self).contains(poisonID) })
                #expect(reject.stage == .aggregate)
                #expect(reject.reason == "database_refused")
                #expect(reject.detail.contains("23514"))
                #expect(rejects.count == 1, "only the culprit is set aside")
            }
        } catch {
            try? await admin.query("ALTER TABLE ticks DROP CONSTRAINT IF EXISTS \(constraint)")
            await recorder.stop()
            throw error
        }
        try await admin.query("ALTER TABLE ticks DROP CONSTRAINT IF EXISTS \(constraint)")
        await admin.close()
        await recorder.stop()
    }

    @Test("hostile ticks (Int64 extremes, a NUL trade id, a 17,000-digit price, a 10 KB symbol) become rejects; good ticks after them flow")
    func hostileTicks() async throws {
        let fixture = try await AggregatorFixture(partitions: 1)
        let recorder = try TopicRecorder(topics: [fixture.topics.rejects])
        let start: Int64 = 1_795_200_000_000_000_000
        func trade(ts: String = "\(start)", seq: String = "1", symbol: String = "EUR/USD", price: String = "1.1", id: String = #""1""#) -> [UInt8] {
            Array(#"{"v":1,"kind":"trade","source":"\#(fixture.source)","symbol":"\#(symbol)","ts":\#(ts),"recv_ts":\#(ts),"seq":\#(seq),"price":"\#(price)","size":"1","trade_id":\#(id)}"#.utf8)
        }
        let hostile = [trade(ts: "9223372036854000000"), trade(ts: "9223372036854775807"), trade(ts: "-9223372036854775808"),
                       trade(seq: "9223372036854775807"), trade(id: #""a\u0000b""#), trade(id: "\"" + String(repeating: "x", count: 3_000) + "\""),
                       trade(price: String(repeating: "9", count: 17_000)), trade(symbol: String(repeating: "A", count: 10_240))]
        let good = Recomputation.messages(source: fixture.source, symbols: ["EUR/USD"], count: 50, start: start, seed: 4)
        let expected = Recomputation.candles(good.map { try! TickRecord(json: $0) }, timeframes: fixture.configuration.timeframes)
        try await withServices([fixture.service()]) {
            let counts = try await fixture.produce(hostile + good)
            try await fixture.waitForOffsets(counts)
            expectEqual(try await fixture.stored(), expected)
            let rejects = try await recorder.waitFor(fixture.topics.rejects, "every hostile tick rejected") { $0.count >= hostile.count }
            let reasons = rejects.compactMap { try? JSONParser().parse($0.value)["reason"]?.stringValue }
            #expect(reasons.sorted() == ["invalid_decimal", "invalid_sequence", "invalid_symbol", "invalid_timestamp", "invalid_timestamp",
                                         "invalid_timestamp", "invalid_trade_id", "invalid_trade_id"])
        }
        await recorder.stop()
    }
}
