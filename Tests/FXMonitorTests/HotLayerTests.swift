import Foundation
import FXContracts
import FXCore
import FXKafka
import FXTestSupport
import Testing

/// The hot layer end to end: fxsim's Kraken feed -> the ingestor -> the compacted `<prefix>latest` topic
/// -> a monitor started afterwards (its startup path reads the topic from the beginning) -> `/api/quotes`.
@Suite("The hot layer: the latest topic and /api/quotes", .serialized, .tags(.integration))
struct HotLayerTests {
    @Test("each symbol's latest quote and trade are on the latest topic, keyed source:symbol; an unsubscribed symbol is tombstoned, another venue's kept; a monitor started later serves them with their age")
    func latestQuotes() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("hot")
        // Values written before this ingestor started: one of its venue it no longer streams, one of another venue.
        let old = WallClock.nanoseconds() - 600_000_000_000
        var delisted = LatestQuote(source: "kraken", symbol: "DOGE/USD", venueSymbol: "DOGE/USD", instance: "old")
        delisted.quote = .init(bid: DecimalText("0.1"), ask: DecimalText("0.2"), bidSize: nil, askSize: nil, ts: old, recvTs: old)
        var other = LatestQuote(source: "oanda", symbol: "EUR/USD", venueSymbol: "EUR_USD", instance: "old")
        other.quote = .init(bid: DecimalText("1.08"), ask: DecimalText("1.09"), bidSize: nil, askSize: nil, ts: old, recvTs: old)
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        for result in await producer.send(contentsOf: [delisted, other].map {
            KafkaProducerMessage(topic: topics.latest, key: Array($0.key.utf8), value: $0.jsonBytes())
        }) { _ = try result.get() }
        await producer.shutdown()

        let recorder = try TopicRecorder(topics: [topics.latest, topics.ticks])
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "kraken", "--symbols", "BTC/USD,ETH/USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/kraken/v2", "--topic-prefix", topics.prefix,
                                                                  "--latest-interval-ms", "100"],
                                                environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"])
        try await recorder.waitFor(topics.latest, timeout: .seconds(45), "a tombstone for DOGE/USD and values of both streamed pairs") { messages in
            messages.contains { $0.isTombstone && $0.keyString == "kraken:DOGE/USD" }
                && Set(messages.filter { !$0.isTombstone }.compactMap(\.keyString)).isSuperset(of: ["kraken:BTC/USD", "kraken:ETH/USD"])
        }
        let latest = recorder.messages(topics.latest)
        #expect(!latest.contains { $0.isTombstone && $0.keyString == "oanda:EUR/USD" }, "another venue's symbol is not this ingestor's to remove")
        #expect(latest.filter(\.isTombstone).allSatisfy { $0.value.isEmpty })
        // Every value is a true copy of ticks the ingestor published: its quote and its trade, exactly.
        let values = try latest.filter { !$0.isTombstone && $0.keyString?.hasPrefix("kraken:") == true }.map { try LatestQuote(json: $0.value) }
            .filter { $0.symbol != "DOGE/USD" }
        try await recorder.waitFor(topics.ticks, timeout: .seconds(20), "the ticks behind the values") { messages in
            let ticks = Set(messages.map { String(decoding: $0.value, as: UTF8.self) })
            return values.allSatisfy { value in
                (value.quote.map { q in ticks.contains { $0.contains(#""ts":\#(q.ts),"#) && $0.contains(#""bid":"\#(q.bid?.description ?? "")""#) } } ?? true)
                    && (value.trade.map { t in ticks.contains { $0.contains(#""trade_id":"\#(t.tradeID ?? "")""#) && $0.contains(#""price":"\#(t.price)""#) } } ?? true)
            }
        }
        #expect(!values.isEmpty && values.allSatisfy { $0.marketOpen && $0.instance != "old" && ($0.quote != nil || $0.trade != nil) })
        for message in latest where !message.isTombstone {
            let value = try LatestQuote(json: message.value)
            #expect(message.keyString == value.key, "keyed source:symbol")
        }
        let checked = try MessageSchemas.validate(["latest": latest])
        #expect(checked.status == 0, "values and tombstones keep docs/schemas/latest.schema.json: \(checked.output)")

        // A monitor started now reads the compacted topic from its beginning.
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix],
                                               environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"])
        func quotes() async -> [String: JSONValue] {
            guard let body = await monitor.get("/api/quotes")?.body, let list = try? JSONParser().parse(body)["quotes"]?.arrayValue else { return [:] }
            return Dictionary(list.compactMap { item in item["symbol"]?.stringValue.map { ("\(item["source"]?.stringValue ?? ""):\($0)", item) } },
                              uniquingKeysWith: { $1 })
        }
        let served = try await TestEnvironment.eventually(timeout: .seconds(30)) {
            Set(await quotes().keys) == ["kraken:BTC/USD", "kraken:ETH/USD", "oanda:EUR/USD"]
        }
        let current = await quotes()
        #expect(served, "\(current.keys.sorted()); monitor log:\n\(monitor.log.suffix(1500))")
        #expect((current["kraken:BTC/USD"]?["age_ms"]?.int64Value ?? .max) < 10_000, "a live symbol is fresh")
        #expect((current["oanda:EUR/USD"]?["age_ms"]?.int64Value ?? 0) >= 600_000, "an old value says how old it is")
        let page = await monitor.get("/")?.body ?? ""
        #expect(page.contains(#"id="quotes""#) && page.contains("/api/quotes") && page.contains("/api/candles"), "the status page shows the hot and the cold layer")

        #expect(await ingestor.terminate(timeout: .seconds(20)) == 0)
        let monitorExit = await monitor.terminate(timeout: .seconds(20))
        #expect(monitorExit == 0, "monitor stopped cleanly; log:\n\(monitor.log.suffix(3000))")
        await recorder.stop()
    }
}
