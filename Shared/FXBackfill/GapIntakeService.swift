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
/// the events. An event that is not a valid gap goes to `<prefix>rejects` (`stage: backfill`). A Kafka
/// offset is committed only after its event is recorded (recording is idempotent: a replayed event
/// changes nothing). A `bootstrap` event (a symbol's stream started) records `bootstrap_days` of history
/// before it when the symbol has none. Counts: `fx_backfill_gap_events_total{outcome="recorded"|
/// "duplicate"|"invalid"|"bootstrap"|"bootstrap_skipped"}`.
public final class GapIntakeService: Service, Sendable {
    let context: BackfillerContext
    var configuration: BackfillerConfiguration { context.configuration }
    var topics: TopicNames { context.topics }
    var instance: String { context.instance }
    var logger: Logger { context.logger }
    let recorded: EventCounter
    let duplicates: EventCounter
    let invalid: EventCounter
    let bootstraps: EventCounter
    let bootstrapsSkipped: EventCounter
    /// The group consumer while it runs (for the heartbeat's lag).
    let consumer = Mutex<KafkaConsumer?>(nil)

    public init(context: BackfillerContext) {
        self.context = context
        let metricsFactory = context.metricsFactory
        func counter(_ outcome: String) -> EventCounter {
            EventCounter(label: "fx_backfill_gap_events_total", dimensions: [("outcome", outcome)], factory: metricsFactory)
        }
        recorded = counter("recorded")
        duplicates = counter("duplicate")
        invalid = counter("invalid")
        bootstraps = counter("bootstrap")
        bootstrapsSkipped = counter("bootstrap_skipped")
    }

    /// The totals for health bodies.
    public var counters: [(String, Int64)] {
        [("gap_events_recorded", recorded.value), ("gap_events_duplicate", duplicates.value), ("gap_events_invalid", invalid.value),
         ("bootstraps_recorded", bootstraps.value), ("bootstraps_skipped", bootstrapsSkipped.value)]
    }

    /// How far this instance is behind on its `<prefix>gaps` partitions.
    public func lag() -> [KafkaPartitionLag] {
        consumer.withLock { $0 }?.lag() ?? []
    }

    public func run() async throws {
        guard await context.schemaReady(),
              let connection = await PostgresConnection.connectRetrying(context.database, logger: logger) else { return }
        do {
            let producer = try KafkaProducer(configuration: context.kafka, flushTimeout: .seconds(5), logger: logger)
            var consumerConfiguration = context.kafka
            consumerConfiguration.properties["enable.partition.eof"] = "false"
            let consumer = try KafkaConsumer(configuration: consumerConfiguration, groupID: configuration.consumerGroup,
                                             topics: [topics.gaps], logger: logger)
            let intake = Intake(service: self, ledger: GapLedger(connection: connection), producer: producer, consumer: consumer)
            self.consumer.withLock { $0 = consumer }
            defer { self.consumer.withLock { $0 = nil } }
            logger.info("recording gap events", metadata: ["group": .string(configuration.consumerGroup)])
            try await ServiceGroup(configuration: .init(services: [
                .init(service: producer), .init(service: consumer),
                .init(service: intake, successTerminationBehavior: .gracefullyShutdownGroup),
            ], logger: logger)).run()
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    /// The consuming loop, last in its group: stops first at shutdown.
    struct Intake: Service {
        let service: GapIntakeService
        let ledger: GapLedger
        let producer: KafkaProducer
        let consumer: KafkaConsumer

        func run() async throws {
            try? await cancelWhenGracefulShutdown {
                for try await event in consumer.events {
                    guard case .message(let message) = event else { continue }
                    await handle(message)
                }
            }
        }

        private func handle(_ message: KafkaConsumerMessage) async {
            let gap: GapEvent
            do { gap = try GapEvent(json: message.value) }
            catch {
                service.invalid.increment()
                let reject = RejectRecord(source: "backfiller", stage: "backfill", reason: "invalid_gap_event", detail: "\(error)",
                                          receivedAt: WallClock.nanoseconds(), payload: message.value, instance: service.instance,
                                          key: message.keyString ?? "backfiller")
                _ = await producer.send(contentsOf: [KafkaProducerMessage(topic: service.topics.rejects, key: Array(reject.key.utf8),
                                                                          value: reject.jsonBytes())])
                try? await consumer.commit(message)
                return
            }
            var backoff = Backoff(base: .milliseconds(200), cap: .seconds(10))
            while !Task.isCancelled {
                do {
                    if gap.reason == .bootstrap {
                        let days = service.configuration.bootstrapDays
                        let recorded = days > 0 ? try await ledger.recordBootstrap(gap, lookback: .seconds(days * 86_400)) : nil
                        (recorded != nil ? service.bootstraps : service.bootstrapsSkipped).increment()
                    } else if try await ledger.record(gap) != nil { service.recorded.increment() } else { service.duplicates.increment() }
                    try? await consumer.commit(message)
                    return
                } catch {
                    service.logger.warning("cannot record a gap event yet (retrying): \(error)")
                    try? await Task.sleep(for: backoff.next())
                }
            }
        }
    }
}
