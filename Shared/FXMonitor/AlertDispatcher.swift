import FXContracts
import AsyncHTTPClient
import CoreMetrics
import FXCore
import FXKafka
import FXMetrics
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Delivers alert events: to the log (always), to `<prefix>alerts` (key = the alert's id), and to every
/// webhook (HTTP POST of the same JSON, in order, each with a timeout, retried with backoff; a delivery
/// that fails every attempt is logged and counted, and the next event is sent).
///
/// Each destination (the topic, each webhook) has a queue of its own, of `queueCapacity` events, and a
/// worker of its own: a webhook that hangs holds up only its own queue. When a queue is full, the new
/// event is dropped for that destination, counted (`fx_monitor_alerts_dropped_total{destination}`,
/// `destination` = `topic` or `webhook_<n>`, n from 1 in the configured order: URLs are secrets) and logged.
/// Counts: `fx_monitor_alerts_total{status}`, `fx_monitor_webhook_deliveries_total{outcome="ok"|"failed"}`,
/// `fx_monitor_webhook_retries_total`.
public final class AlertDispatcher: Service, Sendable {
    /// One destination's queue.
    struct Lane: Sendable {
        /// `topic` or `webhook_<n>`.
        let name: String
        /// nil: the topic; else the webhook's URL.
        let url: String?
        let events: AsyncStream<AlertEvent>
        let input: AsyncStream<AlertEvent>.Continuation
        let dropped: EventCounter
    }

    let timeout: Duration
    let attempts: Int
    let producer: KafkaProducer
    let topic: String
    let logger: Logger
    let lanes: [Lane]
    let firing: EventCounter
    let resolved: EventCounter
    public let delivered: EventCounter
    public let failed: EventCounter
    public let retries: EventCounter

    public init(webhooks: [String], timeout: Duration, attempts: Int, queueCapacity: Int = 1_000, producer: KafkaProducer, topic: String,
                metricsFactory: any MetricsFactory, logger: Logger) {
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.producer = producer
        self.topic = topic
        self.logger = logger
        let destinations: [(String, String?)] = [("topic", nil)] + webhooks.enumerated().map { ("webhook_\($0.offset + 1)", $0.element) }
        lanes = destinations.map { name, url in
            let (events, input) = AsyncStream.makeStream(of: AlertEvent.self, bufferingPolicy: .bufferingOldest(max(1, queueCapacity)))
            return Lane(name: name, url: url, events: events, input: input,
                        dropped: EventCounter(label: "fx_monitor_alerts_dropped_total", dimensions: [("destination", name)], factory: metricsFactory))
        }
        firing = EventCounter(label: "fx_monitor_alerts_total", dimensions: [("status", "firing")], factory: metricsFactory)
        resolved = EventCounter(label: "fx_monitor_alerts_total", dimensions: [("status", "resolved")], factory: metricsFactory)
        delivered = EventCounter(label: "fx_monitor_webhook_deliveries_total", dimensions: [("outcome", "ok")], factory: metricsFactory)
        failed = EventCounter(label: "fx_monitor_webhook_deliveries_total", dimensions: [("outcome", "failed")], factory: metricsFactory)
        retries = EventCounter(label: "fx_monitor_webhook_retries_total", factory: metricsFactory)
    }

    /// Events dropped because a destination's queue was full, over all destinations.
    public var droppedTotal: Int64 { lanes.reduce(0) { $0 + $1.dropped.value } }

    /// Events dropped for one destination (`topic`, `webhook_1`, ...).
    public func dropped(_ destination: String) -> Int64 { lanes.first { $0.name == destination }?.dropped.value ?? 0 }

    /// Hands events over to every destination's queue (never blocks the evaluation).
    public func dispatch(_ events: [AlertEvent]) {
        for event in events {
            (event.status == .firing ? firing : resolved).increment()
            let level: Logger.Level = event.status == .resolved ? .notice : (event.severity == .critical ? .error : .warning)
            logger.log(level: level, "alert \(event.status.rawValue)\(event.escalated ? " (escalated)" : ""): \(event.summary)",
                       metadata: ["alert": .string(event.id), "severity": .string(event.severity.rawValue)])
            for lane in lanes {
                guard case .dropped = lane.input.yield(event) else { continue }
                lane.dropped.increment()
                let count = lane.dropped.value
                // The 1st, 2nd, 4th, 8th... drop of a destination is logged.
                if count & (count - 1) == 0 {
                    logger.error("alert dropped: the \(lane.name) queue is full", metadata: [
                        "alert": .string(event.id), "destination": .string(lane.name), "dropped_so_far": .stringConvertible(count)])
                }
            }
        }
    }

    public func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for lane in lanes {
                    group.addTask { await self.drain(lane, client: client) }
                }
            }
        } onGracefulShutdown: { [lanes] in
            for lane in lanes { lane.input.finish() }
        }
        try? await client.shutdown()
    }

    private func drain(_ lane: Lane, client: HTTPClient) async {
        for await event in lane.events {
            let body = event.jsonBytes()
            if let url = lane.url {
                await post(body, to: url, id: event.id, client: client)
            } else {
                let results = await producer.send(contentsOf: [KafkaProducerMessage(topic: topic, key: Array(event.id.utf8), value: body)])
                if case .failure(let error) = results.first { logger.error("alert \(event.id) not published on \(topic): \(error)") }
            }
        }
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
