import Foundation
import FXCore
import FXKafka
import FXTestSupport
import Testing

/// The monitor executable over the life of the instances it watches: a cleanly stopped ingestor leaves
/// no alert; every heartbeat writer says `stopping` last. (The consumer's events ending is specified in-process, ``MonitorIntakeTests``: the local
/// broker has no fatal consumer error to provoke.)
@Suite("Monitor: cleanly stopped instances", .serialized, .tags(.integration))
struct MonitorLifecycleTests {
    /// Ready, and ready because its consumer owns partitions (it reads from the newest messages).
    static func ownsPartitions(_ monitor: ServiceProcess) async -> Bool {
        guard let ready = await monitor.get("/health/ready") else { return false }
        return ready.status == 200 && ready.body.contains("kafka_partitions")
    }

    @Test("an ingestor stopped with SIGTERM says so in its last heartbeat: the monitor forgets it at once, no instance_missing alert")
    func cleanStop() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("monstop")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix, "--evaluate-interval-ms", "200",
                                                                "--instance-missing-after-ms", "2000"],
                                         environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"])
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { await Self.ownsPartitions(monitor) },
                "monitor ready; log:\n\(monitor.log.suffix(2000))")
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix,
                                                                  "--health-interval-ms", "500"])
        #expect(try await TestEnvironment.eventually(timeout: .seconds(45)) {
            (await monitor.get("/api/instances")?.body ?? "").contains(#""service":"ingestor""#)
        }, "the monitor hears the ingestor; log:\n\(monitor.log.suffix(2000))")
        #expect(await ingestor.terminate(timeout: .seconds(20)) == 0)
        let gone = try await TestEnvironment.eventually(timeout: .seconds(10)) {
            !(await monitor.get("/api/instances")?.body ?? "\"ingestor\"").contains(#""service":"ingestor""#)
        }
        #expect(gone && monitor.log.contains("instance stopped"), "log:\n\(monitor.log.suffix(2000))")
        try await Task.sleep(for: .seconds(4))   // twice instance_missing_after: a missing instance would have fired by now
        let alerts = try JSONParser().parse(Array((await monitor.get("/api/alerts")?.body ?? "{}").utf8))
        let ids = (alerts["recent"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(!ids.contains { $0.hasPrefix("instance_missing") }, "no liveness alert for a clean stop: \(ids)")
        #expect(!monitor.log.contains("instance missing: no heartbeat"))
        #expect(await monitor.terminate(timeout: .seconds(20)) == 0)
    }

    @Test("an aggregator and a backfiller stopped with SIGTERM publish a last heartbeat with \"stopping\": true, and exit 0")
    func stoppingHeartbeats() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("monbeat")
        let database = try await PostgresTestKit.freshDatabase("monbeat")
        let environment = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500", "DATABASE_URL": database]
        let recorder = try TopicRecorder(topics: [topics.health])
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix, "--health-interval-ms", "500",
                                                                      "--bootstrap-days", "0"], environment: environment)
        func beats(_ service: String) -> [JSONValue] {
            recorder.messages(topics.health).compactMap { try? JSONParser().parse($0.value) }.filter { $0["service"]?.stringValue == service }
        }
        #expect(try await TestEnvironment.eventually(timeout: .seconds(45)) { !beats("aggregator").isEmpty && !beats("backfiller").isEmpty },
                "heartbeats; aggregator log:\n\(aggregator.log.suffix(1500))\nbackfiller log:\n\(backfiller.log.suffix(1500))")
        #expect(await aggregator.terminate(timeout: .seconds(30)) == 0)
        #expect(await backfiller.terminate(timeout: .seconds(30)) == 0)
        let stopped = try await TestEnvironment.eventually(timeout: .seconds(15)) {
            beats("aggregator").last?["stopping"]?.boolValue == true && beats("backfiller").last?["stopping"]?.boolValue == true
        }
        #expect(stopped, "last heartbeats: \(beats("aggregator").last.map { "\($0)" } ?? "none") / \(beats("backfiller").last.map { "\($0)" } ?? "none")")
        #expect(beats("aggregator").dropLast().allSatisfy { $0["stopping"] == nil }, "only the last one says so")
        await recorder.stop()
    }
}
