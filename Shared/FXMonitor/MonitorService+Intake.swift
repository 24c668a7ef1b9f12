import FXContracts
import FXCore
import FXKafka
import ServiceLifecycle

extension MonitorService {
    /// Follows the consumer's events until graceful shutdown: the assignment, and the messages of a consumer
    /// that delivers them as events (the service's own consumer applies its messages on its poll thread,
    /// ``apply(_:now:)``). Returns only then: when the events end or fail otherwise, logs the cause and
    /// throws, so the process exits non-zero instead of watching nothing.
    public func intake<Events: AsyncSequence & Sendable>(_ events: Events) async throws where Events.Element == KafkaConsumerEvent {
        var failure: (any Error)?
        do {
            try await cancelWhenGracefulShutdown {
                for try await event in events {
                    switch event {
                    case .message(let message): self.apply(topic: message.topic, value: message.value, now: self.clock.now())
                    case .partitionsAssigned(let partitions): self.assignment.withLock { $0.formUnion(partitions) }
                    case .partitionsRevoked(let partitions): self.assignment.withLock { $0.subtract(partitions) }
                    case .offsetsBelowLogStart: break   // logged by the consumer; the monitor keeps no history to repair
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

    struct Intake: Service {
        let service: MonitorService
        let consumer: KafkaConsumer

        func run() async throws {
            try await service.intake(consumer.events)
        }
    }
}
