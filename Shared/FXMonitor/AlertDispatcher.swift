import AsyncHTTPClient
import CoreMetrics
import FXCore
import FXKafka
import FXMetrics
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Delivers alert events: to the log (always), to `<prefix>alerts` (key = the alert's id), and to every
/// webhook (HTTP POST of the same JSON, in order, each with a timeout, retried with backoff; a delivery
/// that fails every attempt is logged and counted, and the next event is sent).
/// Counts: `fx_monitor_alerts_total{status}`, `fx_monitor_webhook_deliveries_total{outcome="ok"|"failed"}`,
/// `fx_monitor_webhook_retries_total`.
public final class AlertDispatcher: Service, Sendable {
    let webhooks: [String]
    let timeout: Duration
    let attempts: Int
    let producer: KafkaProducer
    let topic: String
    let logger: Logger
    let queue: AsyncStream<AlertEvent>
    let input: AsyncStream<AlertEvent>.Continuation
    let firing: EventCounter
    let resolved: EventCounter
    public let delivered: EventCounter
    public let failed: EventCounter
    public let retries: EventCounter

    public init(webhooks: [String], timeout: Duration, attempts: Int, producer: KafkaProducer, topic: String,
                metricsFactory: any MetricsFactory, logger: Logger) {
        self.webhooks = webhooks
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.producer = producer
        self.topic = topic
        self.logger = logger
        (queue, input) = AsyncStream.makeStream(of: AlertEvent.self, bufferingPolicy: .bufferingNewest(10_000))
        firing = EventCounter(label: "fx_monitor_alerts_total", dimensions: [("status", "firing")], factory: metricsFactory)
        resolved = EventCounter(label: "fx_monitor_alerts_total", dimensions: [("status", "resolved")], factory: metricsFactory)
        delivered = EventCounter(label: "fx_monitor_webhook_deliveries_total", dimensions: [("outcome", "ok")], factory: metricsFactory)
        failed = EventCounter(label: "fx_monitor_webhook_deliveries_total", dimensions: [("outcome", "failed")], factory: metricsFactory)
        retries = EventCounter(label: "fx_monitor_webhook_retries_total", factory: metricsFactory)
    }

    /// Hands events over (never blocks the evaluation; the newest 10,000 wait if webhooks are slow).
    public func dispatch(_ events: [AlertEvent]) {
        for event in events {
            (event.status == .firing ? firing : resolved).increment()
            let level: Logger.Level = event.status == .resolved ? .notice : (event.severity == .critical ? .error : .warning)
            logger.log(level: level, "alert \(event.status.rawValue)\(event.escalated ? " (escalated)" : ""): \(event.summary)",
                       metadata: ["alert": .string(event.id), "severity": .string(event.severity.rawValue)])
            input.yield(event)
        }
    }

    public func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await withGracefulShutdownHandler {
            for await event in queue {
                let body = event.jsonBytes()
                let results = await producer.send(contentsOf: [KafkaProducerMessage(topic: topic, key: Array(event.id.utf8), value: body)])
                if case .failure(let error) = results.first { logger.error("alert \(event.id) not published on \(topic): \(error)") }
                for url in webhooks { await post(body, to: url, id: event.id, client: client) }
            }
        } onGracefulShutdown: { [input] in
            input.finish()
        }
        try? await client.shutdown()
    }

    private func post(_ body: [UInt8], to url: String, id: String, client: HTTPClient) async {
        var backoff = Backoff(base: .milliseconds(250), cap: .seconds(5))
        for attempt in 1...attempts {
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanosecondsClamped))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(Int(response.status.code)) {
                    delivered.increment()
                    return
                }
                logger.warning("webhook answered \(response.status.code)", metadata: ["alert": .string(id), "attempt": .stringConvertible(attempt)])
            } catch {
                logger.warning("webhook failed: \(type(of: error))", metadata: ["alert": .string(id), "attempt": .stringConvertible(attempt)])
            }
            guard attempt < attempts else { break }
            retries.increment()
            try? await Task.sleep(for: backoff.next())
        }
        failed.increment()
        logger.error("alert \(id) not delivered to a webhook after \(attempts) attempts")
    }
}
