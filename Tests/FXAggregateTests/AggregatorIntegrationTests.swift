import FXCandles
import Foundation
import FXAggregate
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

func expectEqual(_ stored: [Recomputation.Key: Recomputation.Candle], _ expected: [Recomputation.Key: Recomputation.Candle],
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(stored.count == expected.count, "candle rows", sourceLocation: sourceLocation)
    var mismatches = 0
    for (key, candle) in expected where stored[key] != candle {
        mismatches += 1
        if mismatches <= 5 { Issue.record("\(key): stored \(stored[key].map(String.init(describing:)) ?? "nil"), expected \(candle)", sourceLocation: sourceLocation) }
    }
    #expect(mismatches == 0, "\(mismatches) candles differ from the recomputation", sourceLocation: sourceLocation)
}

@Suite("Aggregator end to end: ticks topic -> exactly-once candles", .serialized, .tags(.integration))
struct AggregatorIntegrationTests {
    static let start: Int64 = 1_795_100_000_000_000_000

    @Test("a shuffled log with 10% duplicates and late ticks, replayed twice, equals the recomputation from the distinct ticks")
    func recompute() async throws {
        let fixture = try await AggregatorFixture()
        let messages = Recomputation.messages(source: fixture.source, symbols: ["EUR/USD", "GBP/USD", "BTC/USD", "ETH/USD", "USD/JPY"],
                                              count: 4_000, start: Self.start, seed: 21)
        let log = Recomputation.disorder(messages, duplicateShare: 0.1, seed: 5)
        let expected = Recomputation.candles(messages.map { try! TickRecord(json: $0) }, timeframes: fixture.configuration.timeframes)
        try await withServices([fixture.service()]) {
            let counts = try await fixture.produce(log)
            try await fixture.waitForOffsets(counts)
            expectEqual(try await fixture.stored(), expected)
            var again = counts
            for (partition, count) in try await fixture.produce(log) { again[partition, default: 0] += count }
            try await fixture.waitForOffsets(again)
            expectEqual(try await fixture.stored(), expected)
        }
    }

    @Test("closed buckets are published once per revision with final: true; invalid ticks go to rejects")
    func candlesTopic() async throws {
        let fixture = try await AggregatorFixture(partitions: 1)
        let recorder = try TopicRecorder(topics: [fixture.topics.candles, fixture.topics.rejects, fixture.topics.health])
        let now = WallClock.nanoseconds()
        let base = now / 60_000_000_000 * 60_000_000_000 - 120_000_000_000   // two minutes ago, minute-aligned
        func trade(_ offset: Int64, _ price: String, _ id: Int) -> [UInt8] {
            Array(#"{"v":1,"kind":"trade","source":"\#(fixture.source)","symbol":"EUR/USD","venue_symbol":"x","ts":\#(base + offset),"recv_ts":\#(base + offset),"seq":null,"price":"\#(price)","size":"2","side":null,"trade_id":"\#(id)"}"#.utf8)
        }
        try await withServices([fixture.service()]) {
            _ = try await fixture.produce([trade(1_000_000_000, "1.10", 1), trade(2_000_000_000, "1.30", 2), trade(3_000_000_000, "1.20", 3),
                                           Array(#"{"v":1,"kind":"trade","source":"x"}"#.utf8), Array("not json".utf8)])
            let finals = try await recorder.waitFor(fixture.topics.candles, "a final 1m candle") { messages in
                messages.contains { m in
                    let c = try? JSONParser().parse(m.value)
                    return c?["source"]?.stringValue == fixture.source && c?["timeframe"]?.stringValue == "1m" && c?["final"]?.boolValue == true
                }
            }
            let minute = try #require(finals.compactMap { try? JSONParser().parse($0.value) }
                .first { $0["timeframe"]?.stringValue == "1m" && $0["final"]?.boolValue == true })
            #expect(minute["open"]?.stringValue == "1.1")
            #expect(minute["high"]?.stringValue == "1.3")
            #expect(minute["close"]?.stringValue == "1.2")
            #expect(minute["volume"]?.stringValue == "6")
            #expect(minute["tick_count"]?.int64Value == 3)
            #expect(minute["vwap"]?.decimal == DecimalText("1.2"))
            #expect(minute["start"]?.int64Value == base)
            #expect(minute["end"]?.int64Value == base + 60_000_000_000)
            #expect(minute["revision"]?.int64Value == 1)
            #expect(finals.first.flatMap { $0.keyString } == "\(fixture.source):EUR/USD")

            // A late tick in that closed minute: a new revision, published final again.
            _ = try await fixture.produce([trade(500_000_000, "1.00", 0)])
            let revised = try await recorder.waitFor(fixture.topics.candles, "revision 2 of the minute, final") { messages in
                messages.contains { m in
                    let c = try? JSONParser().parse(m.value)
                    return c?["timeframe"]?.stringValue == "1m" && c?["final"]?.boolValue == true && c?["revision"]?.int64Value == 2
                }
            }
            let finalsPerRevision = Dictionary(grouping: revised.compactMap { try? JSONParser().parse($0.value) }
                .filter { $0["timeframe"]?.stringValue == "1m" && $0["final"]?.boolValue == true }) { $0["revision"]?.int64Value ?? 0 }
            #expect(finalsPerRevision[1]?.count == 1 && finalsPerRevision[2]?.count == 1, "one final per revision")
            #expect(finalsPerRevision[2]?.first?["open"]?.stringValue == "1")

            let rejects = try await recorder.waitFor(fixture.topics.rejects, "two rejects") { $0.count >= 2 }
            let reasons = Set(rejects.compactMap { try? JSONParser().parse($0.value)["reason"]?.stringValue })
            #expect(reasons == ["missing_field", "malformed_json"])
            try await recorder.waitFor(fixture.topics.health, "an aggregator heartbeat") { messages in
                messages.contains { (try? JSONParser().parse($0.value))?["service"]?.stringValue == "aggregator" }
            }
        }
        await recorder.stop()
    }

    @Test("two instances in one group with a rebalance mid-stream count nothing twice")
    func rebalance() async throws {
        let fixture = try await AggregatorFixture(partitions: 4)
        let messages = Recomputation.messages(source: fixture.source, symbols: (0..<12).map { "S\($0)/USD" }, count: 6_000,
                                              start: Self.start, seed: 33)
        let expected = Recomputation.candles(messages.map { try! TickRecord(json: $0) }, timeframes: fixture.configuration.timeframes)
        let first = Array(messages.prefix(3_000)), second = Array(messages.suffix(3_000))
        var produced: [Int32: Int64] = [:]
        try await withServices([fixture.service(instance: "a")]) {
            for (p, c) in try await fixture.produce(first) { produced[p, default: 0] += c }
            // a owns every partition before b joins, so b's join moves partitions from a to b.
            let owner = try await PostgresTestKit.connect()
            let ownsAll = try await TestEnvironment.eventually(timeout: .seconds(40)) {
                try await owner.query("SELECT 1 FROM aggregator_offsets WHERE consumer_group = $1 AND owner = 'a'", [fixture.group]).count
                    == Int(fixture.partitions)
            }
            await owner.close()
            #expect(ownsAll, "instance a claimed every partition")
            try await withServices([fixture.service(instance: "b")]) {
                // The rebalance has happened once b owns a partition; the second half then flows through both.
                let probe = try await PostgresTestKit.connect()
                let joined = try await TestEnvironment.eventually(timeout: .seconds(40)) {
                    let rows = try await probe.query("SELECT 1 FROM aggregator_offsets WHERE consumer_group = $1 AND owner = 'b'", [fixture.group])
                    return rows.count > 0
                }
                await probe.close()
                #expect(joined, "instance b was given partitions")
                for (p, c) in try await fixture.produce(second) { produced[p, default: 0] += c }
                try await fixture.waitForOffsets(produced)
            }
            // b left: a takes everything back; replay a duplicate slice while it does.
            for (p, c) in try await fixture.produce(Array(messages[1_000..<2_000])) { produced[p, default: 0] += c }
            try await fixture.waitForOffsets(produced)
        }
        expectEqual(try await fixture.stored(), expected)
        let connection = try await PostgresTestKit.connect()
        let owners = try await connection.query("SELECT DISTINCT owner FROM aggregator_offsets WHERE consumer_group = $1", [fixture.group])
        #expect(Set(owners.rows.compactMap { $0["owner"] }).isSubset(of: ["a", "b"]))
        let generations = try await connection.query("SELECT max(generation) AS g FROM aggregator_offsets WHERE consumer_group = $1", [fixture.group])
        #expect((Int(generations.first?["g"] ?? "0") ?? 0) >= 2, "partitions changed hands")
        await connection.close()
    }
}
