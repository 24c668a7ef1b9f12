import FXContracts
import FXCore
import FXKafka
import ServiceLifecycle

extension MonitorService {
    /// Follows the consumer's events until graceful shutdown: messages and the assignment (the service's own
    /// consumer gives both to its handler on its poll thread, ``apply(_:now:)``, and ends its events only
    /// when it stops). Returns only then: when the events end or fail otherwise, logs the cause and
    /// throws, so the process exits non-zero instead of watching nothing.
    public func intake<Events: AsyncSequence & Sendable>(_ events: Events) async throws where Events.Element == KafkaConsumerEvent {
        var failure: (any Error)?
        do {
            try await cancelWhenGracefulShutdown {
                for try await event in events {
                    if case .message(let message) = event {
                        self.apply(topic: message.topic, value: message.value, now: self.clock.now())
                    } else {
                        self.follow(event)
                    }
                }
            }
        } catch {
            failure = error
        }
        assignment.withLock { $0.removeAll() }
        if Task.isShuttingDownGracefully { return }
        let error = failure.map { MonitorError(code: .consumerFailed, detail: "the consumer failed: \($0)") }
            ?? MonitorError(code: .consumerEnded, detail: "the consumer's events ended")
        logger.critical("monitor stops: \(error.detail)", metadata: ["code": .string(error.code.rawValue)])
        throw error
    }

    /// The assignment, as the consumer's rebalance events change it (for readiness).
    func follow(_ event: KafkaConsumerEvent) {
        switch event {
        case .partitionsAssigned(let partitions): assignment.withLock { $0.formUnion(partitions) }
        case .partitionsRevoked(let partitions): assignment.withLock { $0.subtract(partitions) }
        case .offsetsBelowLogStart, .message: break   // logged by the consumer; the monitor keeps no history to repair
        }
    }

    struct Intake: Service {
        let service: MonitorService
        let consumer: KafkaConsumer

        func run() async throws {
            try await service.intake(consumer.events)
        }
    }
}
