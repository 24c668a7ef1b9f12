import Foundation
import FXCore
import FXKafka
import FXTestSupport
import Testing

/// The monitor executable watching a running pipeline (fxsim -> ingestor) through the real broker.
@Suite("Monitor: stream states of a running pipeline", .serialized, .tags(.integration))
struct MonitorExecutableTests {
    func streams(_ monitor: ServiceProcess) async -> [String: JSONValue] {
        guard let body = await monitor.get("/api/streams")?.body, let document = try? JSONParser().parse(body),
              let list = document["streams"]?.arrayValue else { return [:] }
        return Dictionary(list.compactMap { item in item["symbol"]?.stringValue.map { ($0, item) } }, uniquingKeysWith: { $1 })
    }

    @Test("a silenced feed turns stale within its threshold and live again; a SIGKILLed ingestor turns its streams down; latency is measured")
    func statesFollowThePipeline() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("mon")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix, "--stale-after", "coinbase=4s",
                                                                "--evaluate-interval-ms", "200", "--instance-missing-after-ms", "3000"],
                                         environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"])
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { await MonitorLifecycleTests.ownsPartitions(monitor) },
                "monitor ready; log:\n\(monitor.log.suffix(2000))")
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix,
                                                                  "--health-interval-ms", "500"])
        let live = try await TestEnvironment.eventually(timeout: .seconds(45)) {
            let current = await streams(monitor)
            return current["BTC/USD"]?["state"]?.stringValue == "live" && current["ETH/USD"]?["state"]?.stringValue == "live"
        }
        let afterStart = await streams(monitor)
        #expect(live, "\(afterStart); monitor log:\n\(monitor.log.suffix(2000))")
        let instances = await monitor.get("/api/instances")?.body ?? ""
        #expect(instances.contains(#""service":"ingestor""#) && instances.contains(#""alive":true"#), "\(instances)")

        _ = await sim.post("/control/silence?venue=coinbase&seconds=12")
        let silencedAt = ContinuousClock.now
        let stale = try await TestEnvironment.eventually(timeout: .seconds(12)) {
            await streams(monitor)["BTC/USD"]?["state"]?.stringValue == "stale"
        }
        let silenced = await streams(monitor)
        #expect(stale, "stale within the 4 s threshold (+ heartbeat and evaluation intervals): \(silenced)")
        #expect(ContinuousClock.now - silencedAt < .seconds(9))
        #expect(silenced["BTC/USD"]?["reason"]?.stringValue?.hasPrefix("no data for") == true)
        let metrics = await monitor.get("/metrics")?.body ?? ""
        #expect(metrics.split(separator: "\n").contains { $0.hasPrefix("fx_monitor_stream_state{") && $0.contains(#"symbol="BTC/USD""#) && $0.hasSuffix(" 2.0") },
                "the per-stream state gauge says stale (2) for Prometheus rules")
        let back = try await TestEnvironment.eventually(timeout: .seconds(40)) {
            await streams(monitor)["BTC/USD"]?["state"]?.stringValue == "live"
        }
        let recovered = await streams(monitor)
        #expect(back, "live again after the silence: \(recovered)")

        let latency = try JSONParser().parse(await monitor.get("/api/latency")?.body ?? "{}")
        #expect(latency["exchange_to_receive"]?["coinbase"]?["count"]?.int64Value ?? 0 > 0, "exchange -> receive percentiles")

        kill(ingestor.process.processIdentifier, SIGKILL)
        let down = try await TestEnvironment.eventually(timeout: .seconds(15)) {
            let current = await streams(monitor)
            return current["BTC/USD"]?["state"]?.stringValue == "down" && current["ETH/USD"]?["state"]?.stringValue == "down"
        }
        let afterKill = await streams(monitor)
        #expect(down, "\(afterKill)")
        #expect(afterKill["BTC/USD"]?["reason"]?.stringValue?.hasPrefix("no ingestor heartbeat") == true)
        #expect(monitor.log.contains("instance missing: no heartbeat"), "one liveness line")
        #expect(await monitor.terminate(timeout: .seconds(20)) == 0)
    }
}
