import FXContracts
import Foundation
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// The real executables under hostile input, all at once: ticks, gap events and heartbeats with Int64
/// extremes, NUL bytes, 17,000-digit prices and 10 KB names, and absurd API parameters. Every process
/// stays up and live, and ordinary data sent after the hostile data flows through.
@Suite("Hostile input to the real services", .serialized, .tags(.integration))
struct HostileInputExecutableTests {
    @Test("aggregator, backfiller and monitor stay live under hostile ticks, gaps, heartbeats and API calls; good data after them lands")
    func hostileEverywhere() async throws {
        let prefix = TestEnvironment.uniqueName("hostile") + "."
        let topics = TopicNames(prefix: prefix)
        let admin = try KafkaAdmin(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics(topics.all.map { KafkaTopicSpec(name: $0, partitions: 1) })
        let environment = ["TOPIC_PREFIX": prefix]
        var services: [ServiceProcess] = []
        for name in ["aggregator", "backfiller", "monitor"] { services.append(try await ServiceProcess(name, environment: environment)) }
        defer { for service in services { service.process.terminate() } }
        for service in services {
            let ready = try await TestEnvironment.eventually(timeout: .seconds(60)) { await service.get("/health/ready")?.status == 200 }
            #expect(ready, "ready; log:\n\(service.log)")
        }
        let source = TestEnvironment.uniqueName("hx")
        let symbol = "H\(UUID().uuidString.prefix(6))/USD".uppercased()
        let now = WallClock.nanoseconds()
        func tick(ts: String = "\(now)", seq: String = "1", symbol: String = symbol, price: String = "1.5", id: String = #""1""#) -> String {
            #"{"v":1,"kind":"trade","source":"\#(source)","symbol":"\#(symbol)","venue_symbol":"X","ts":\#(ts),"recv_ts":\#(ts),"seq":\#(seq),"price":"\#(price)","size":"1","side":null,"trade_id":\#(id)}"#
        }
        func gap(from: String, to: String, symbol: String = symbol, detail: String = "x") -> String {
            #"{"v":1,"source":"coinbase","symbol":"\#(symbol)","venue_symbol":"X-Y","from_ts":\#(from),"to_ts":\#(to),"reason":"disconnect","detected_ts":\#(now),"detail":"\#(detail)","instance":"i"}"#
        }
        func heartbeat(_ counters: String, ts: String = "\(now)") -> String {
            #"{"v":1,"service":"ingestor","instance":"hostile","ts":\#(ts),"started_ts":-9223372036854775808,"counters":\#(counters),"connections":[{"id":"c","source":"\#(source)","state":"streaming","symbols":9223372036854775807,"messages":-1,"last_message_ts":9223372036854775807}]}"#
        }
        let hostileTicks = [tick(ts: "9223372036854000000"), tick(ts: "-9223372036854775808"), tick(seq: "9223372036854775807"),
                            tick(id: #""a\u0000b""#), tick(id: "\"" + String(repeating: "x", count: 5_000) + "\""),
                            tick(price: String(repeating: "9", count: 17_000)), tick(symbol: String(repeating: "A", count: 10_240)),
                            "not json", "{}", "[]"]
        let hostileGaps = [gap(from: "9223372036854775807", to: "-9223372036854775808"), gap(from: "-9223372036854775808", to: "9223372036854775807"),
                           gap(from: "\(now)", to: "\(now)", symbol: String(repeating: "B", count: 10_240)),
                           gap(from: "\(now)", to: "\(now)", detail: #"nul \u0000 inside"#), "{\"v\":1}"]
        let hostileHeartbeats = [heartbeat(#"{"reconnects|":9223372036854775807,"ticks":-9223372036854775808,"x":1e999}"#),
                                 heartbeat(#"{"ticks":9223372036854775807}"#, ts: "-9223372036854775808"),
                                 heartbeat(#"{"ticks":9223372036854775807}"#, ts: "9223372036854775807")]
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        func send(_ topic: String, _ values: [String]) async throws {
            for result in await producer.send(contentsOf: values.map { KafkaProducerMessage(topic: topic, key: "\(source):k", value: $0) }) {
                _ = try result.get()
            }
        }
        try await send(topics.ticks, hostileTicks)
        try await send(topics.gaps, hostileGaps)
        try await send(topics.health, hostileHeartbeats)
        for path in ["/api/candles?source=\(source)&symbol=A/B&limit=-9223372036854775808", "/api/candles?source=x&symbol=" + String(repeating: "Z", count: 5_000),
                     "/api/candles?source=\(source)&symbol=A/B&timeframe=%00&limit=99999999999999999999999", "/api/streams", "/api/pipeline", "/api/instances"] {
            let answer = await services[2].get(path)
            #expect(answer.map { $0.status < 500 || $0.status == 503 } == true, "\(path): \(String(describing: answer?.status))")
        }
        // Ordinary data after the hostile data.
        let goodTicks = (0..<5).map { tick(ts: "\(now - 120_000_000_000 + Int64($0) * 1_000_000_000)", seq: "\($0 + 1)", id: "\"\($0 + 10)\"") }
        try await send(topics.ticks, goodTicks)
        try await send(topics.gaps, [gap(from: "\(now - 600_000_000_000)", to: "\(now - 540_000_000_000)")])
        await producer.shutdown()

        let db = try await PostgresTestKit.connect()
        let candles = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            (try? await db.query("SELECT tick_count FROM candles WHERE source = $1 AND symbol = $2 AND timeframe = '1m'",
                                 [source, symbol]))?.rows.compactMap { $0["tick_count"].flatMap { Int($0) } }.reduce(0, +) == 5
        }
        #expect(candles, "the five good ticks were counted after the hostile ones")
        let recorded = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            (try? await db.query("SELECT count(*) AS n FROM gaps WHERE source = 'coinbase' AND symbol = $1", [symbol]))?.first?["n"] == "1"
        }
        #expect(recorded, "the good gap event was recorded after the hostile ones")
        await db.close()
        for service in services {
            #expect(service.process.isRunning, "still running; log:\n\(service.log.suffix(3_000))")
            #expect(await service.get("/health/live")?.status == 200)
        }
        for service in services { #expect(await service.terminate() == 0, "clean exit; log:\n\(service.log.suffix(3_000))") }
    }
}
