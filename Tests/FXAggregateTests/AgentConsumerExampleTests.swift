import FXCore
import FXKafka
import FXTestSupport
import Foundation
import Testing

/// The example for downstream agents (docs/for-agents.md; `examples/agent_consumer.py`, confluent-kafka) run against
/// a live pipeline: it is the contract test for agents reading `fx.candles` and `fx.ticks`.
@Suite("Downstream agents: the confluent-kafka example", .serialized, .tags(.integration))
struct AgentConsumerExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the example in `language` (`python`: examples/agent_consumer.py; `go`: examples/agent_consumer.go,
    /// built by scripts/build-go-agent.sh) to completion; its exit status, its JSON lines and everything it said.
    static func runExample(_ language: String, _ arguments: [String]) throws -> (status: Int32, lines: [JSONValue], errors: String) {
        let command: [String]
        switch language {
        case "go":
            let build = try Subprocess.output("/usr/bin/env", ["bash", root.appendingPathComponent("scripts/build-go-agent.sh").path])
            guard build.status == 0, let binary = build.output.split(separator: "\n").last.map(String.init) else {
                throw TestSupportError("the Go agent did not build: \(build.output.suffix(2000))")
            }
            command = [binary]
        default:
            command = ["python3", root.appendingPathComponent("examples/agent_consumer.py").path]
        }
        let run = try Subprocess.output("/usr/bin/env", command + arguments)
        let lines = run.output.split(separator: "\n").compactMap { try? JSONParser().parse(Array($0.utf8)) }
        return (run.status, lines, run.output)
    }

    @Test("the example consumes candles and ticks of a running pipeline with prices exactly as published", arguments: ["python", "go"])
    func example(language: String) async throws {
        let topics = try await KafkaTestKit.pipelineTopics("agent")
        let database = try await PostgresTestKit.freshDatabase("agent")
        let environment = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500", "DATABASE_URL": database]
        let recorder = try TopicRecorder(topics: [topics.ticks])
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix])
        let run = try Self.runExample(language, ["--brokers", TestEnvironment.brokers, "--prefix", topics.prefix,
                                             "--group", TestEnvironment.uniqueName("agent"), "--count", "5", "--timeout", "90"])
        #expect(run.status == 0, "the example finished: \(run.errors.suffix(2000))")
        let candles = run.lines.filter { $0["topic"]?.stringValue == "candles" }
        let ticks = run.lines.filter { $0["topic"]?.stringValue == "ticks" }
        #expect(candles.count >= 5 && ticks.count >= 5, "\(run.lines.count) lines")

        // Every tick the agent printed is one the ingestor published, its decimals the very same text.
        func fingerprint(_ tick: JSONValue) -> String {
            ["symbol", "kind", "price", "size", "bid", "ask"].map { tick[$0]?.stringValue ?? "-" }.joined(separator: "|") + "@\(tick["ts"]?.int64Value ?? 0)"
        }
        func recorded() -> Set<String> {
            Set(recorder.messages(topics.ticks).compactMap { try? JSONParser().parse($0.value) }.map(fingerprint))
        }
        // The recorder is a consumer of its own: give it time to read as far as the agent did.
        _ = try await TestEnvironment.eventually(timeout: .seconds(20)) { ticks.allSatisfy { recorded().contains(fingerprint($0)) } }
        let published = recorded()
        #expect(!published.isEmpty)
        for tick in ticks {
            #expect(published.contains(fingerprint(tick)), "tick \(tick) is one the ingestor published, digit for digit")
        }
        // Every candle the agent printed is a row of the candles table (published after its commit).
        let connection = try await PostgresTestKit.connect(url: database)
        for candle in candles {
            let rows = try await connection.query("""
                SELECT count(*) AS n FROM candles WHERE source = $1 AND symbol = $2 AND timeframe = $3 AND price_type = $4
                    AND bucket = to_timestamp($5::numeric / 1000000000)
                """, [candle["source"]?.stringValue ?? "", candle["symbol"]?.stringValue ?? "", candle["timeframe"]?.stringValue ?? "",
                      candle["price_type"]?.stringValue ?? "", String(candle["start"]?.int64Value ?? 0)])
            #expect(rows.first?["n"] == "1", "candle \(candle) is stored")
        }
        await connection.close()
        await recorder.stop()
        for process in [ingestor, aggregator] { #expect(await process.terminate(timeout: .seconds(20)) == 0) }
        await PostgresTestKit.dropDatabase(database)
    }
}
