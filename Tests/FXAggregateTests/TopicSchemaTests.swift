import FXCore
import FXKafka
import FXTestSupport
import Foundation
import Testing

/// The topic contracts of docs/schemas (JSON Schema, draft 2020-12) against what a live pipeline writes:
/// every message of the six topics, recorded while fxsim, ingestor, aggregator, backfiller and monitor
/// run (with a malformed frame and a dropped connection for rejects, gaps, repairs and alerts), passes
/// `scripts/validate-messages.py`; hand-made invalid messages fail it.
@Suite("Topic schemas: docs/schemas against a live pipeline", .serialized, .tags(.integration))
struct TopicSchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let names = ["ticks", "gaps", "health", "rejects", "candles", "alerts"]

    /// Runs the validator on NDJSON files; its exit status and everything it printed.
    static func validate(_ files: [String], require: [String] = []) throws -> (status: Int32, output: String) {
        let script = root.appendingPathComponent("scripts/validate-messages.py").path
        let schemas = root.appendingPathComponent("docs/schemas").path
        return try Subprocess.output("/usr/bin/env", ["python3", script, "--schemas", schemas]
                                         + (require.isEmpty ? [] : ["--require", require.joined(separator: ",")]) + files)
    }

    /// `ticks: 12 valid, 0 invalid` -> 12, per topic.
    static func validCounts(_ output: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, parts[0].hasSuffix(":"), let count = Int(parts[1]) else { continue }
            counts[String(parts[0].dropLast())] = count
        }
        return counts
    }

    /// One NDJSON line per message, `{"topic":..,"key":..,"value":<the message verbatim>}`.
    static func ndjson(_ messages: [(name: String, message: KafkaConsumerMessage)]) -> String {
        messages.map { name, message in
            "{\"topic\":\(JSONWriter.quoted(name)),\"key\":\(message.keyString.map(JSONWriter.quoted) ?? "null"),\"value\":"
                + String(decoding: message.value, as: UTF8.self) + "}"
        }.joined(separator: "\n") + "\n"
    }

    static func write(_ text: String, name: String, suffix: String = "ndjson") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(TestEnvironment.uniqueName(name)).\(suffix)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("hand-made messages that break the contract fail the validator, each named with its reason")
    func invalidMessagesFail() throws {
        let tick = #"{"v":1,"kind":"trade","source":"coinbase","symbol":"BTC/USD","venue_symbol":"BTC-USD","ts":1795597585133000000,"recv_ts":1795597585134210000,"seq":5,"price":"50000.1","size":"0.5","side":"buy","trade_id":"10"}"#
        let missingSize = tick.replacingOccurrences(of: "\"size\":\"0.5\",", with: "")
        let floatPrice = tick.replacingOccurrences(of: "\"50000.1\"", with: "50000.1")
        let badSymbol = tick.replacingOccurrences(of: "BTC/USD", with: "btc/usd")
        let unknownVersion = tick.replacingOccurrences(of: "\"v\":1", with: "\"v\":2")
        let floatTime = tick.replacingOccurrences(of: "1795597585133000000", with: "1.795597585133e18")
        let candle = #"{"v":1,"source":"coinbase","symbol":"BTC/USD","timeframe":"1m","price_type":"trade","start":1795599300000000000,"end":1795599360000000000,"open":"50012.50","high":"50020","low":"50001.25","close":"50010","volume":"3.2041","tick_count":57,"vwap":null,"final":true,"revision":1,"origin":"stream"}"#
        // Line 1 is valid; lines 2-7: a missing field, a float price, a bad symbol, an unknown version, a float time, a decimal not in canonical form.
        let lines = [tick, missingSize, floatPrice, badSymbol, unknownVersion, floatTime].map { #"{"topic":"ticks","value":\#($0)}"# }
            + [#"{"topic":"candles","value":\#(candle)}"#]
        let file = try Self.write(lines.joined(separator: "\n") + "\n", name: "schema-invalid")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try Self.validate([file])
        #expect(run.status == 1, "\(run.output)")
        for line in 2...7 {
            #expect(run.output.contains("\(file):\(line):"), "line \(line) is reported: \(run.output)")
        }
        #expect(!run.output.contains("\(file):1:"), "the valid tick passes: \(run.output)")
        #expect(run.output.contains("'size' is a required property"))
        #expect(run.output.contains("ticks: 1 valid, 5 invalid") && run.output.contains("candles: 0 valid, 1 invalid"), "\(run.output)")
    }

    @Test("every message of every topic that a live pipeline writes follows docs/schemas")
    func livePipelineFollowsTheSchemas() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("schema")
        let database = try await PostgresTestKit.freshDatabase("schema")
        let environment = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500", "DATABASE_URL": database]
        let recorder = try TopicRecorder(topics: topics.all)
        // Alerts without waiting for the shipped rules' thresholds: any gap of a stream fires one.
        let rules = try Self.write("""
            rules:
              - name: gaps_frequent
                when: gaps_per_hour
                threshold: 0
                for: 0s
                severity: warning
                labels: {team: schema-spec}
            """, name: "schema-rules", suffix: "yaml")
        defer { try? FileManager.default.removeItem(atPath: rules) }
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50", "--history-minutes", "30"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix, "--evaluate-interval-ms", "200",
                                                                "--alert-rules", rules], environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix, "--health-interval-ms", "500",
                                                                      "--bootstrap-days", "1", "--settle-seconds", "2", "--poll-interval-ms", "200",
                                                                      "--rest-url", "coinbase=http://127.0.0.1:\(sim.port)/coinbase"],
                                            environment: environment)
        try #require(try await TestEnvironment.eventually(timeout: .seconds(30)) { await monitor.get("/health/ready")?.status == 200 })
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix,
                                                                  "--health-interval-ms", "500"])
        try #require(try await TestEnvironment.eventually(timeout: .seconds(30)) { await ingestor.get("/health/ready")?.status == 200 })
        try await Task.sleep(for: .seconds(2))
        // A malformed frame (a reject) and a dropped connection (gaps, then a repair and an alert).
        _ = await sim.post("/control/malformed?venue=coinbase&kind=json")
        _ = await sim.post("/control/drop?venue=coinbase")

        func services(_ messages: [KafkaConsumerMessage]) -> Set<String> {
            Set(messages.compactMap { try? JSONParser().parse($0.value) }.compactMap { $0["service"]?.stringValue })
        }
        try await recorder.waitFor(topics.ticks, timeout: .seconds(60), "ticks") { !$0.isEmpty }
        try await recorder.waitFor(topics.rejects, timeout: .seconds(60), "a reject") { !$0.isEmpty }
        try await recorder.waitFor(topics.gaps, timeout: .seconds(60), "gap events") { !$0.isEmpty }
        try await recorder.waitFor(topics.alerts, timeout: .seconds(60), "an alert") { !$0.isEmpty }
        try await recorder.waitFor(topics.candles, timeout: .seconds(90), "stream and repaired candles") { messages in
            let origins = Set(messages.compactMap { try? JSONParser().parse($0.value) }.compactMap { $0["origin"]?.stringValue })
            return origins.contains("stream") && origins.contains("backfill")
        }
        try await recorder.waitFor(topics.health, timeout: .seconds(30), "heartbeats of every role") {
            services($0).isSuperset(of: ["ingestor", "aggregator", "backfiller"])
        }
        // Graceful stops: the last heartbeats (`"stopping": true`) are part of the contract too.
        for process in [ingestor, backfiller, aggregator, monitor] { #expect(await process.terminate(timeout: .seconds(20)) == 0) }
        try await recorder.waitFor(topics.health, timeout: .seconds(20), "stopping heartbeats") { messages in
            messages.compactMap { try? JSONParser().parse($0.value) }.filter { $0["stopping"]?.boolValue == true }.count >= 3
        }
        await recorder.stop()

        var recorded: [(name: String, message: KafkaConsumerMessage)] = []
        for (name, topic) in zip(Self.names, [topics.ticks, topics.gaps, topics.health, topics.rejects, topics.candles, topics.alerts]) {
            recorded += recorder.messages(topic).map { (name, $0) }
        }
        let file = try Self.write(Self.ndjson(recorded), name: "schema-live")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try Self.validate([file], require: Self.names)
        #expect(run.status == 0, "the validator passes every recorded message:\n\(run.output.suffix(6000))")
        let counts = Self.validCounts(run.output)
        for name in Self.names {
            #expect((counts[name] ?? 0) > 0, "\(name): valid messages were recorded and counted (\(run.output.suffix(600)))")
        }
        _ = await sim.terminate()
        await PostgresTestKit.dropDatabase(database)
    }
}
