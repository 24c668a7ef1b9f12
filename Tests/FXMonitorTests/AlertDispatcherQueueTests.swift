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
@Suite("Monitor: a hanging webhook holds up only its own queue", .serialized)
struct AlertDispatcherQueueTests {
    /// A TCP listener that accepts connections (the kernel's backlog) and never answers.
    final class HangingListener: Sendable {
        let fd: Int32
        let port: Int

        init() throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = fd
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                    guard bind(fd, pointer, length) == 0, listen(fd, 128) == 0 else { return -1 }
                    return getsockname(fd, pointer, &length)
                }
            }
            guard bound == 0 else { throw TestSupportError("cannot listen") }
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        var url: String { "http://127.0.0.1:\(port)/hook" }

        deinit { close(fd) }
    }

    static func event(_ index: Int) -> AlertEvent {
        AlertEvent(id: "stream_stale:coinbase:S\(index)/USD", rule: "stream_stale", status: .firing, severity: .warning, escalated: false,
                   subject: ["source": "coinbase", "symbol": "S\(index)/USD"], summary: "spec \(index)", labels: [:],
                   startedAt: 1, at: 2)
    }

    @Test("with a webhook that accepts and never answers: every event reaches the other webhook and fx.alerts; the hanging one's queue drops the overflow, counted")
    func hangingWebhook() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("alertq")
        let hanging = try HangingListener()
        let good = try await WebhookReceiver()
        let recorder = try TopicRecorder(topics: [topics.alerts])
        let logger = TestEnvironment.logger("dispatcher")
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: logger))
        let dispatcher = AlertDispatcher(webhooks: [hanging.url, good.url], timeout: .seconds(60), attempts: 1, queueCapacity: 10,
                                         producer: producer, topic: topics.alerts, metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        let running = Task { try await dispatcher.run() }
        for index in 0..<30 {   // one every 20 ms: the answering destinations keep up, the hanging one's queue fills
            dispatcher.dispatch([Self.event(index)])
            try await Task.sleep(for: .milliseconds(20))
        }
        let delivered = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            good.received.count == 30 && recorder.messages(topics.alerts).count == 30
        }
        #expect(delivered, "good webhook: \(good.received.count), fx.alerts: \(recorder.messages(topics.alerts).count)")
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
