import FXContracts
import FXKafka
import Logging
import ServiceLifecycle

/// A service's heartbeats on `<prefix>health`: every `interval` the ``Heartbeat`` its role builds, and
/// when the service stops gracefully a last one with `"stopping": true` (the monitor then forgets the
/// instance instead of reporting it missing). The one loop the services share; each role only says what
/// goes into its heartbeat.
public struct HeartbeatLoop: Sendable {
    let interval: Duration
    let topic: String
    let producer: KafkaProducer
    let logger: Logger

    /// - Parameter producer: a producer that outlives the loop (a service stopped after it in its group),
    ///   so the last heartbeat is flushed with it.
    public init(interval: Duration, topic: String, producer: KafkaProducer, logger: Logger) {
        self.interval = interval
        self.topic = topic
        self.producer = producer
        self.logger = logger
    }

    /// Sends a heartbeat, then one every `interval`, until graceful shutdown (then the last one, waited for
    /// at most 2 s) or cancellation. `make(stopping)` builds each; `stopping` is true for the last.
    public func run(_ make: @escaping @Sendable (_ stopping: Bool) async -> Heartbeat) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await send(await make(false))
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { break }
        }
        guard Task.isShuttingDownGracefully else { return }
        let last = await make(true)
        // The calling task may be cancelled by now (a cancelled send fails at once): sent from a task of its
        // own, waited for at most 2 s (the producer's flush at shutdown delivers it otherwise).
        await Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await send(last) }
                group.addTask { try? await Task.sleep(for: .seconds(2)) }
                await group.next()
                group.cancelAll()
            }
        }.value
    }

    private func send(_ beat: Heartbeat) async {
        let message = KafkaProducerMessage(topic: topic, key: Array(beat.key.utf8), value: beat.jsonBytes())
        if case .failure(let error) = await producer.send(contentsOf: [message]).first {
            logger.warning("heartbeat not delivered: \(error)", metadata: ["stopping": .stringConvertible(beat.stopping)])
        }
    }
}
