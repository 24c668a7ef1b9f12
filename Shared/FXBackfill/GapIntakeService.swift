import FXContracts
import CoreMetrics
import FXCore
import FXDatabaseChassis
import FXKafka
import FXMetrics
import FXPostgres
import Logging
import ServiceLifecycle
import Synchronization

/// Records every `<prefix>gaps` event in the gap ledger, once, in a consumer group so replicas share
/// the events. An event that is not a valid gap, or that the database refuses, goes to `<prefix>rejects`
/// (`stage: backfill`, with its reason) and the others of its batch are recorded (``GapRecorder``). A
/// Kafka offset is committed only after its event is recorded or set aside (recording is idempotent: a
/// replayed event changes nothing). A `bootstrap` event (a symbol's stream started) records the
/// downtime since the symbol's newest stored minute, or `bootstrap_days` of history before it when the
/// symbol has none. A recorded gap rings the context's ``GapBell`` (this process's idle repair workers
/// claim it at once). A consumer stream that ends or fails outside a shutdown stops the service with
/// ``BackfillStoppedError`` (the process exits non-zero), which carries the failure as its `cause`. Counts: `fx_backfill_gap_events_total{outcome="recorded"|
/// "duplicate"|"invalid"|"bootstrap"|"bootstrap_skipped"}`.
public final class GapIntakeService: Service, Sendable {
    let context: BackfillerContext
    /// The process's producer (rejects), a service of the same group that stops after this one.
    let producer: KafkaProducer
    var configuration: BackfillerConfiguration { context.configuration }
    var topics: TopicNames { context.topics }
    var instance: String { context.instance }
    var logger: Logger { context.logger }
    let recorded: EventCounter
    let duplicates: EventCounter
    let invalid: EventCounter
    let bootstraps: EventCounter
    let bootstrapsSkipped: EventCounter
    let bookResyncs: EventCounter
    /// The group consumer while it runs (for the heartbeat's lag).
    let consumer = Mutex<KafkaConsumer?>(nil)

    public init(context: BackfillerContext, producer: KafkaProducer) {
        self.context = context
        self.producer = producer
        let metricsFactory = context.metricsFactory
        func counter(_ outcome: String) -> EventCounter {
            EventCounter(label: "fx_backfill_gap_events_total", dimensions: [("outcome", outcome)], factory: metricsFactory)
        }
        recorded = counter("recorded")
        duplicates = counter("duplicate")
        invalid = counter("invalid")
        bootstraps = counter("bootstrap")
        bootstrapsSkipped = counter("bootstrap_skipped")
        bookResyncs = counter("book")
    }

    /// The totals for health bodies.
    public var counters: [(String, Int64)] {
        [("gap_events_recorded", recorded.value), ("gap_events_duplicate", duplicates.value), ("gap_events_invalid", invalid.value),
         ("bootstraps_recorded", bootstraps.value), ("bootstraps_skipped", bootstrapsSkipped.value),
         ("gap_events_book", bookResyncs.value)]
    }

    /// How far this instance is behind on its `<prefix>gaps` partitions.
    public func lag() -> [KafkaPartitionLag] {
        consumer.withLock { $0 }?.lag() ?? []
    }

    public func run() async throws {
        guard await context.schemaReady(),
              let connection = await PostgresConnection.connectRetrying(context.database, logger: logger) else { return }
        do {
            var consumerConfiguration = context.kafka
            consumerConfiguration.properties["enable.partition.eof"] = "false"
            let consumer = try KafkaConsumer(configuration: consumerConfiguration, groupID: configuration.consumerGroup,
                                             topics: [topics.gaps], logger: logger)
            let recorder = GapRecorder(connection: connection, bootstrapLookback: .seconds(configuration.bootstrapDays) * 86_400, logger: logger)
            let intake = Intake(service: self, recorder: recorder, producer: producer, consumer: consumer)
            self.consumer.withLock { $0 = consumer }
            defer { self.consumer.withLock { $0 = nil } }
            logger.info("recording gap events", metadata: ["group": .string(configuration.consumerGroup)])
            // The consumer stopping on its own ends its stream: the intake then reports why and fails the group.
            try await ServiceGroup(configuration: .init(services: [
                .init(service: consumer, successTerminationBehavior: .ignore),
                .init(service: intake, successTerminationBehavior: .gracefullyShutdownGroup),
            ], logger: logger)).run()
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    /// The consuming loop, last in its group: stops first at shutdown. It takes the messages that arrived
    /// meanwhile as one batch (at most ``maxBatch``), records them in one transaction (``GapRecorder``),
    /// sends what was refused to `<prefix>rejects` and commits past the whole batch. A stream that ends or
    /// fails outside a shutdown throws ``BackfillStoppedError``.
    struct Intake: Service {
        static let maxBatch = 500

        let service: GapIntakeService
        let recorder: GapRecorder
        let producer: KafkaProducer
        let consumer: KafkaConsumer

        func run() async throws {
            let queue = GapBatchQueue(capacity: Self.maxBatch)
            let end: GapBatchQueue.End
            do {
                end = try await cancelWhenGracefulShutdown {
                    try await withThrowingTaskGroup(of: GapBatchQueue.End?.self) { group in
                        group.addTask { await queue.fill(from: consumer.events); return nil }
                        group.addTask { try await process(queue) }
                        var end = GapBatchQueue.End.cancelled
                        while let result = try await group.next() {
                            if let result { end = result; break }
                        }
                        group.cancelAll()
                        return end
                    }
                }
            } catch is CancellationError {
                return
            }
            if let error = Self.stopError(end, topic: service.topics.gaps, group: service.configuration.consumerGroup, logger: service.logger) {
                throw error
            }
        }

        /// The error a stream's end stops the intake with (nil: stopped by a shutdown); a failure is its
        /// `cause`, as the consumer threw it.
        static func stopError(_ end: GapBatchQueue.End, topic: String, group: String, logger: Logger) -> BackfillStoppedError? {
            let context = ["service": "gap intake", "topic": topic, "group": group]
            switch end {
            case .cancelled:
                return nil
            case .finished:
                logger.critical("gap intake stopped: the consumer's stream ended without a shutdown", metadata: context.mapValues { .string($0) })
                return BackfillStoppedError(code: "stream_ended", context: context)
            case .failed(let cause):
                logger.critical("gap intake stopped: the consumer's stream failed: \(cause)", metadata: context.mapValues { .string($0) })
                return BackfillStoppedError(code: "stream_failed", context: context.merging(["cause": "\(cause)"]) { $1 }, cause: cause)
            }
        }

        private func process(_ queue: GapBatchQueue) async throws -> GapBatchQueue.End {
            while true {
                switch await queue.next() {
                case .ended(let end): return end
                case .messages(let batch): try await handle(batch)
                }
            }
        }

        /// Records a batch; refused messages go to `<prefix>rejects`; the offsets move past all of them.
        func handle(_ batch: [KafkaConsumerMessage]) async throws {
            var events: [GapEvent] = []
            var positions: [Int] = []
            var refused: [(message: KafkaConsumerMessage, reason: String, detail: String)] = []
            for (index, message) in batch.enumerated() {
                do {
                    events.append(try GapEvent(json: message.value))
                    positions.append(index)
                } catch let error as ContractError {
                    refused.append((message, error.reason == "malformed_message" ? "invalid_gap_event" : error.reason, error.message))
                } catch {
                    refused.append((message, "invalid_gap_event", "\(error)"))
                }
            }
            let outcomes = try await recorder.record(events)
            var newGaps = false
            for (position, outcome) in zip(positions, outcomes) {
                switch outcome {
                case .recorded: service.recorded.increment(); newGaps = true
                case .duplicate: service.duplicates.increment()
                case .bootstrap(let gap): (gap != nil ? service.bootstraps : service.bootstrapsSkipped).increment(); newGaps = newGaps || gap != nil
                case .refused(let reason, let detail): refused.append((batch[position], reason, detail))
                case .notCandles: service.bookResyncs.increment()
                }
            }
            // Committed: this process's idle workers look at once.
            if newGaps { service.context.gapBell.ring() }
            // Delivered before the offsets move past them, or the intake stops (exit non-zero; replayed after the restart).
            if !refused.isEmpty { try await reject(refused) }
            var offsets: [KafkaTopicPartition: Int64] = [:]
            for message in batch { offsets[message.topicPartition] = max(offsets[message.topicPartition] ?? 0, message.offset + 1) }
            do { try await consumer.commit(offsets) }
            catch { service.logger.warning("cannot commit gap event offsets (they are replayed, recording is idempotent): \(error)") }
        }

        private func reject(_ refused: [(message: KafkaConsumerMessage, reason: String, detail: String)]) async throws {
            let now = WallClock.nanoseconds()
            var messages: [KafkaProducerMessage] = []
            for (message, reason, detail) in refused {
                service.invalid.increment()
                service.logger.warning("gap event set aside: \(reason): \(ContractLimits.preview(detail))",
                                       metadata: ["partition": .stringConvertible(message.partition), "offset": .stringConvertible(message.offset)])
                let record = RejectRecord(source: "backfiller", stage: .backfill, reason: reason, detail: detail, receivedAt: now,
                                          payload: message.value, instance: service.instance, key: message.keyString ?? "backfiller")
                messages.append(KafkaProducerMessage(topic: service.topics.rejects, key: Array(record.key.utf8), value: record.jsonBytes()))
            }
            for case .failure(let error) in await producer.send(contentsOf: messages) {
                service.logger.critical("gap intake stopped: a refused gap event could not be sent to \(service.topics.rejects): \(error)")
                throw BackfillStoppedError(code: "rejects_undelivered", context: ["topic": service.topics.rejects, "cause": "\(error)"], cause: error)
            }
        }
    }
}
