import FXContracts
import Foundation
import FXCore
import FXKafka
@testable import FXMonitor
import FXTestSupport
import Logging
import CoreMetrics
import Testing

/// Webhook deliveries never hold up the alerts topic or the other webhooks: each destination has a
/// bounded queue of its own; a full queue drops (and counts) new events for that destination only.
@Suite("Monitor: a hanging webhook holds up only its own queue", .serialized, .tags(.integration))
struct AlertDispatcherQueueTests {
    static func event(_ index: Int) -> AlertEvent {
        AlertEvent(id: "stream_stale:coinbase:S\(index)/USD", rule: "stream_stale", status: .firing, severity: .warning, escalated: false,
                   subject: ["source": "coinbase", "symbol": "S\(index)/USD"], summary: "spec \(index)", labels: [:],
                   startedAt: 1, at: 2)
    }

    @Test("with a webhook that accepts and never answers: every event reaches the other webhook and fx.alerts; the hanging one's queue drops the overflow, counted")
    func hangingWebhook() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("alertq")
        let hanging = try BlackHoleListener()
        let hangingURL = "http://127.0.0.1:\(hanging.port)/hook"
        let good = try await WebhookReceiver()
        let recorder = try TopicRecorder(topics: [topics.alerts])
        let logger = TestEnvironment.logger("dispatcher")
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: logger))
        let dispatcher = AlertDispatcher(webhooks: [hangingURL, good.url], timeout: .seconds(60), attempts: 1, queueCapacity: 10,
                                         producer: producer, topic: topics.alerts, metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        let running = Task { try await dispatcher.run() }
        // In batches of 5, each sent once the answering destinations have taken the previous ones (their
        // queues never fill, however loaded the machine), while the hanging one's queue fills.
        for batch in 0..<6 {
            for index in (batch * 5)..<(batch * 5 + 5) { dispatcher.dispatch([Self.event(index)]) }
            let caughtUp = try await TestEnvironment.eventually(timeout: .seconds(30)) {
                good.received.count == batch * 5 + 5 && recorder.messages(topics.alerts).count == batch * 5 + 5
            }
            #expect(caughtUp, "batch \(batch): good webhook \(good.received.count), fx.alerts \(recorder.messages(topics.alerts).count)")
        }
        #expect(dispatcher.dropped("webhook_1") == 19, "30 events - 10 queued - 1 in flight: \(dispatcher.dropped("webhook_1"))")
        #expect(dispatcher.dropped("webhook_2") == 0 && dispatcher.dropped("topic") == 0)
        #expect(good.received.compactMap { try? JSONParser().parse(Array($0.utf8))["summary"]?.stringValue } == (0..<30).map { "spec \($0)" },
                "in order")
        running.cancel()
        await recorder.stop()
        await good.stop()
        await producer.shutdown()
    }
}
