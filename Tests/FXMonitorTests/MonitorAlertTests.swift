import FXContracts
import Foundation
import FXCore
import FXKafka
import FXTestSupport
import Testing

/// Alerts of the monitor executable: a silenced feed fires, escalates and resolves exactly once on the
/// alerts topic and every webhook; a failing webhook is retried and counted; a killed ingestor fires one
/// liveness alert.
@Suite("Monitor: alerts to the topic and webhooks", .serialized, .tags(.integration))
struct MonitorAlertTests {
    @Test("silence -> one firing, one escalation, one resolution per stream, on fx.alerts and webhooks; retries and failures counted; SIGKILL -> one liveness alert")
    func alertLifecycle() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("alert")
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).yaml").path
        try """
            rules:
              - {name: stream_stale, when: stream_state, state: stale, for: 2s, severity: warning, escalate_after: 4s, labels: {team: md}}
              - {name: instance_missing, when: instance_missing, severity: critical}
            """.write(toFile: rules, atomically: true, encoding: .utf8)
        let good = try await WebhookReceiver()
        let flaky = try await WebhookReceiver(failures: 2)
        let dead = "http://127.0.0.1:\(try TestEnvironment.freePort())/hook"
        let recorder = try TopicRecorder(topics: [topics.alerts])
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let monitor = try await ServiceProcess("monitor", arguments: [
            "--topic-prefix", topics.prefix, "--stale-after", "coinbase=3s", "--evaluate-interval-ms", "200",
            "--instance-missing-after-ms", "8000", "--alert-rules", rules, "--webhook-attempts", "3", "--webhook-timeout-ms", "1000"],
            environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500",
                          "ALERT_WEBHOOKS": [good.url, flaky.url, dead].joined(separator: ",")])
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { await MonitorLifecycleTests.ownsPartitions(monitor) },
                "monitor ready; log:\n\(monitor.log.suffix(2000))")
        #expect(!monitor.log.contains(good.url), "webhook URLs are secrets: never logged")
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix,
                                                                  "--health-interval-ms", "500"])
        #expect(try await TestEnvironment.eventually(timeout: .seconds(45)) {
            (await monitor.get("/api/streams")?.body ?? "").contains(#""state":"live""#)
        }, "live; log:\n\(monitor.log.suffix(2000))")

        _ = await sim.post("/control/silence?venue=coinbase&seconds=14")
        let id = "stream_stale:coinbase:BTC/USD"
        func events(_ bodies: [String]) -> [(String, String, Bool)] {
            var seen = Set<String>()   // a delivery sent again after a timeout is the same event
            return bodies.filter { seen.insert($0).inserted }.compactMap { try? AlertEvent(json: Array($0.utf8)) }.filter { $0.id == id }.map {
                ($0.status.rawValue, $0.severity.rawValue, $0.escalated)
            }
        }
        let expected = [("firing", "warning", false), ("firing", "critical", true), ("resolved", "critical", false)]
        let complete = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            events(good.received).count >= 3 && events(flaky.received).count >= 3
        }
        try await Task.sleep(for: .seconds(2))   // nothing more may follow
        #expect(complete, "webhook got \(good.received); monitor log:\n\(monitor.log.suffix(3000))")
        #expect(events(good.received).map { "\($0.0)/\($0.1)/\($0.2)" } == expected.map { "\($0.0)/\($0.1)/\($0.2)" })
        #expect(events(flaky.received).map { "\($0.0)/\($0.1)/\($0.2)" } == expected.map { "\($0.0)/\($0.1)/\($0.2)" },
                "the flaky webhook got every event, in order, after its failures")
        // The recorder is a consumer of its own: it reads fx.alerts at its own pace.
        _ = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            events(recorder.messages(topics.alerts).map { String(decoding: $0.value, as: UTF8.self) }).count >= 3
        }
        let published = recorder.messages(topics.alerts).map { String(decoding: $0.value, as: UTF8.self) }
        #expect(events(published).count == 3, "fx.alerts carries the same three events: \(published)")
        #expect(recorder.messages(topics.alerts).allSatisfy { $0.keyString == id || ($0.keyString ?? "").hasPrefix("instance_missing") })
        let first = try JSONParser().parse(good.received.first { $0.contains(id) } ?? "{}")
        #expect(first["labels"]?["team"]?.stringValue == "md" && first["subject"]?["symbol"]?.stringValue == "BTC/USD")

        // Counted from the kill on: under a loaded broker a heartbeat can lapse past the limit earlier
        // (that fires and resolves on its own, truthfully); the kill itself must fire exactly once. A
        // delivery that timed out is sent again, the same event (webhooks are at least once): counted once.
        func livenessFirings() -> Int {
            Set(good.received.filter { $0.contains(#""rule":"instance_missing""#) && $0.contains(#""status":"firing""#) }).count
        }
        let firedBefore = livenessFirings()
        kill(ingestor.process.processIdentifier, SIGKILL)
        let missing = try await TestEnvironment.eventually(timeout: .seconds(20)) { livenessFirings() > firedBefore }
        try await Task.sleep(for: .seconds(2))
        #expect(missing && livenessFirings() == firedBefore + 1, "one liveness alert: \(good.received)")
        // Webhooks get each event in turn (good, flaky, dead): the dead one's last failure comes last.
        let deliveredEvents = Set(good.received).count
        let settled = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            let live = await monitor.get("/health/live")?.body ?? ""
            return live.contains("counter webhook_failures \(deliveredEvents)\n")
        }
        let live = await monitor.get("/health/live")?.body ?? ""
        #expect(settled, "the dead webhook failed every event: \(live)")
        #expect(live.contains("counter webhook_deliveries \(2 * deliveredEvents)\n"), "good and flaky delivered every event: \(live)")
        // 2 flaky retries + 2 per event for the dead one, plus one per attempt that timed out on a loaded machine.
        let timedOut = good.received.count - deliveredEvents
        let retries = live.split(separator: "\n").first { $0.hasPrefix("counter webhook_retries ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
        #expect(retries.map { $0 >= 2 + 2 * deliveredEvents + timedOut } == true, "2 flaky retries + 2 per event for the dead one: \(live)")
        let alerts = try JSONParser().parse(await monitor.get("/api/alerts")?.body ?? "{}")
        #expect(alerts["firing"]?.arrayValue?.compactMap { $0["rule"]?.stringValue } == ["instance_missing"])
        #expect(await monitor.terminate(timeout: .seconds(20)) == 0)
        await recorder.stop()
        await good.stop()
        await flaky.stop()
    }
}
