import FXContracts
import FXCandles
import FXCore
import FXKafka
import FXPostgres
import Synchronization

/// The aggregator's side of its consumer, run by the consumer on its poll thread in the consumer's
/// order (an assignment before the messages of the partitions it assigned): each batch of tick messages
/// decoded, then handed to ``AggregatorState`` under one acquisition of its lock; the messages are read
/// where librdkafka holds them (one copy of a value, none of keys, headers or events, no task woken).
///
/// While the database is behind (``AggregatorState/intakePaused``) it waits between batches, so the
/// consumer takes no more messages. After ``stop()`` nothing more is applied: what arrives then is not
/// counted and its offsets are not stored, so the partition's next owner reads it again.
final class TickIntake: Sendable {
    private let service: AggregatorService
    private let compression: Bool
    private let connection: PostgresConnection
    private let producer: KafkaProducer
    private let stopped = Atomic<Bool>(false)
    /// Opened with the cause when a retention report fails: the intake stops and the service with it.
    let failed = AsyncLatch<any Error>()

    init(service: AggregatorService, compression: Bool, connection: PostgresConnection, producer: KafkaProducer) {
        self.service = service
        self.compression = compression
        self.connection = connection
        self.producer = producer
    }

    private var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Applies nothing more (a batch being applied finishes; a paused intake stops waiting).
    func stop() {
        stopped.store(true, ordering: .releasing)
        service.intakeBell.ring()
    }

    func deliver(_ delivery: KafkaConsumerDelivery) {
        guard !isStopped else { return }
        switch delivery {
        case .messages(let messages):
            receive(messages)
            // Backpressure: while the database is behind (or down), take no more messages.
            while service.state.withLock({ $0.intakePaused }), !isStopped {
                _ = BlockingBridge.wait { [service] in await service.intakeBell.wait(timeout: .milliseconds(250)) }
            }
        case .event(.partitionsAssigned(let assigned)):
            let ticks = assigned.filter { $0.topic == service.topics.ticks }.map(\.partition)
            service.state.withLock { $0.assignmentDelivered(ticks) }
        case .event(.offsetsBelowLogStart(let skips)):
            // Before any newer tick of these partitions is applied: the report starts at the newest candle stored.
            let outcome = BlockingBridge.wait { [service, connection, producer] in
                try await service.reportRetentionLoss(skips, connection: connection, producer: producer)
            }
            if case .failure(let error) = outcome {
                stop()
                failed.open(error)
            }
        case .event:
            break
        }
    }

    /// Decodes the batch outside the lock, then records every message under one acquisition of it.
    private func receive(_ messages: [KafkaMessageView]) {
        let horizon = compression ? WallClock.nanoseconds().subtractingClamped(service.configuration.compressAfter.nanosecondsClamped) : nil
        var decoded: [AggregatorState.Consumed] = []
        decoded.reserveCapacity(messages.count)
        for message in messages {
            let value = Array(message.value)
            do throws(TickRecord.Invalid) {
                let tick = try TickRecord(json: value)
                if let horizon, tick.ts < horizon {
                    throw TickRecord.Invalid(reason: "beyond_compression_horizon",
                                             detail: "ts older than the compressed chunks (\(service.configuration.compressAfter))")
                }
                decoded.append(AggregatorState.Consumed(offset: message.offset, tick: tick))
            } catch {
                let key = message.key.map { String(decoding: $0, as: UTF8.self) } ?? "aggregator"
                decoded.append(AggregatorState.Consumed(offset: message.offset, reject: RejectRecord(
                    source: "aggregator", stage: .aggregate, reason: error.reason, detail: error.detail,
                    receivedAt: WallClock.nanoseconds(), payload: value, instance: service.instance, key: key)))
            }
        }
        let now = ContinuousClock.now
        // A batch holds runs of one partition's messages: each run is recorded with one lookup of its partition.
        let (counts, actions) = service.state.withLock { state in
            var counts = AggregatorState.Counts()
            var actions: [AggregatorState.Action] = []
            var start = 0
            while start < messages.count {
                let partition = messages[start].partition
                var end = start + 1
                while end < messages.count, messages[end].partition == partition { end += 1 }
                let (run, more) = state.received(partition: partition, &decoded, start..<end, now: now)
                counts += run
                actions += more
                start = end
            }
            return (counts, actions)
        }
        service.metrics.ticks.increment(by: counts.ticks)
        service.metrics.rejects.increment(by: counts.rejects)
        service.metrics.lateTicks.increment(by: counts.late)
        service.apply(actions)
    }
}
