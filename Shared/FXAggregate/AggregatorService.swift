import FXContracts
import FXCandles
import CoreMetrics
import FXCore
import FXDatabaseChassis
import FXKafka
import FXMetrics
import FXPostgres
import Logging
import ServiceLifecycle
import Synchronization

/// The aggregator: `<prefix>ticks` -> candles in PostgreSQL (exactly once) and on `<prefix>candles`.
///
/// - Waits until the database schema is current (``SchemaGate``), then sets up what depends on it
///   (TimescaleDB compression).
/// - Consumes in a consumer group; on assignment it claims each partition in the database (bumping the
///   generation, which fences the previous owner) and seeks to the offset stored there.
/// - Ticks are flushed by size and time: candle changes and offsets in one fenced transaction
///   (``CandleStore``). A failing database stops consumption (bounded pending ticks) and is retried with
///   capped, jittered backoff; nothing is lost or doubled because offsets move only with the candles.
/// - Changed candles go to `<prefix>candles` (open ones at most every `openUpdateInterval` per key);
///   buckets that end before the partition's watermark are published once per revision with
///   `final: true` (recorded in the table, so a restart republishes what was missing).
/// - Invalid ticks go to `<prefix>rejects`; heartbeats to `<prefix>health`.
/// - Its Kafka producer and consumer and its pipeline run in a child `ServiceGroup`: at shutdown the
///   pipeline stops first (final flush), then the consumer leaves the group, then the producer flushes.
public final class AggregatorService: Service, Sendable {
    let configuration: AggregatorConfiguration
    let kafka: KafkaConfiguration
    let topics: TopicNames
    let database: PostgresConfiguration
    let schema: SchemaGate?
    let instance: String
    let logger: Logger
    let store: FencedCandleStore
    let state: Mutex<AggregatorState>
    let metrics: AggregatorMetrics
    /// Tick received by the ingestor (`recv_ts`) -> its candles committed, between two heartbeats.
    let tickToCandle = LatencyWindow()
    /// When this instance started (ns): `started_ts` of its heartbeats.
    let startedAt = WallClock.nanoseconds()
    /// Rung when the state asks for a flush.
    let flushBell = Doorbell()
    /// Rung when the state asks for a close (or a partition is assigned).
    let closeBell = Doorbell()
    /// Rung when intake may resume.
    let intakeBell = Doorbell()
    /// Closes asked for by the state, newest watermark per partition, taken by the closer.
    let requestedCloses = Mutex<[Int32: Int64]>([:])
    let lastOpenPublish = Mutex<[String: ContinuousClock.Instant]>([:])
    let errorLog = LogRateLimiter(interval: .seconds(10))

    /// - Parameter schema: opened once the schema is current; nil when the caller made sure it is.
    public init(configuration: AggregatorConfiguration, kafka: KafkaConfiguration, topics: TopicNames, database: PostgresConfiguration,
                schema: SchemaGate? = nil, instance: String, metricsFactory: any MetricsFactory, logger: Logger) {
        var configuration = configuration
        if configuration.consumerGroup.isEmpty { configuration.consumerGroup = AggregatorConfiguration.withTopicPrefix(topics.prefix).consumerGroup }
        self.configuration = configuration
        self.kafka = kafka
        self.topics = topics
        self.database = database
        self.schema = schema
        self.instance = instance
        self.logger = logger
        self.metrics = AggregatorMetrics(factory: metricsFactory)
        self.store = FencedCandleStore(timeframes: configuration.timeframes, bidAskCandles: configuration.bidAskCandles,
                                 consumerGroup: configuration.consumerGroup, topic: topics.ticks, storeTicks: configuration.storeTicks)
        let smallest = configuration.timeframes.map(\.nanoseconds).min() ?? 60_000_000_000
        self.state = Mutex(AggregatorState(limits: .init(flushMaxTicks: configuration.flushMaxTicks,
                                                         maxPending: configuration.flushMaxTicks * 4,
                                                         lateness: configuration.allowedLateness.nanosecondsClamped,
                                                         idleTimeout: configuration.idleTimeout, closeStep: smallest)))
    }

    public func run() async throws {
        guard let capabilities = await schemaCurrent() else { return }
        guard let connection = await PostgresConnection.connectRetrying(database, logger: logger) else { return }
        guard let leaseConnection = await PostgresConnection.connectRetrying(database, logger: logger) else {
            await connection.close()
            return
        }
        do {
            try await runPipeline(connection: connection, leaseConnection: leaseConnection,
                                  compression: await setUpTimescale(connection: connection, capabilities: capabilities))
        } catch {
            await connection.close()
            await leaseConnection.close()
            throw error
        }
        await connection.close()
        await leaseConnection.close()
        logger.info("aggregator stopped", metadata: ["ticks": .stringConvertible(metrics.ticks.value)])
    }

    private func runPipeline(connection: PostgresConnection, leaseConnection: PostgresConnection, compression: Bool) async throws {
        // Finals not acknowledged at shutdown are sent again after a restart (final_revision): do not hold
        // the shutdown long for an unreachable broker.
        let producer = try KafkaProducer(configuration: kafka, flushTimeout: .seconds(5), logger: logger)
        let handler = KafkaRebalanceHandler(
            partitionsAssigned: { [self] partitions in try await claim(partitions, on: leaseConnection) },
            partitionsRevoked: { [self] partitions in
                apply(state.withLock { $0.revoked(partitions.map(\.partition)) })
                logger.info("partitions revoked", metadata: ["partitions": .string(partitions.map { String($0.partition) }.joined(separator: ","))])
            })
        var consumerProperties = kafka
        consumerProperties.properties["enable.partition.eof"] = "false"
        // librdkafka prefetches up to 64 MiB by default; a lagging aggregator held all of it (187 MiB peak RSS
        // with 1,000 symbols). 16 MiB is still seconds of input at the flush rate.
        if consumerProperties.properties["queued.max.messages.kbytes"] == nil {
            consumerProperties.properties["queued.max.messages.kbytes"] = "16384"
        }
        // Ticks are decoded and applied on the consumer's poll thread, in its order (``TickIntake``).
        let intake = TickIntake(service: self, compression: compression, connection: connection, producer: producer)
        let consumer = try KafkaConsumer(configuration: consumerProperties, groupID: configuration.consumerGroup, topics: [topics.ticks],
                                         rebalanceHandler: handler, logger: logger) { delivery in intake.deliver(delivery) }
        logger.info("aggregating", metadata: ["group": .string(configuration.consumerGroup),
                                              "timeframes": .string(configuration.timeframes.map(\.name).joined(separator: ","))])
        let pipeline = AggregatorPipeline(service: self, connection: connection, producer: producer, consumer: consumer, intake: intake)
        // Shut down in reverse order: the pipeline (final flush), then the consumer (leaves the group),
        // then the producer (flushes).
        let group = ServiceGroup(configuration: .init(services: [
            .init(service: producer),
            // A consumer that stops on its own (a rebalance handler that failed) ends its events with the
            // error; their reader then ends the service with that cause, so the consumer's own return is no error.
            .init(service: consumer, successTerminationBehavior: .ignore),
            .init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup),
        ], logger: logger))
        try await group.run()
    }

    /// Waits for the schema to be current; the server's capabilities (nil if asked to stop first).
    private func schemaCurrent() async -> PostgresCapabilities? {
        if let schema {
            return try? await cancelWhenGracefulShutdown { try await schema.current() }
        }
        guard let connection = await PostgresConnection.connectRetrying(database, logger: logger) else { return nil }
        var backoff = Backoff(base: .milliseconds(200), cap: .seconds(5))
        while true {
            do {
                let capabilities = try await connection.withSession { try await PostgresCapabilities.detect($0) }
                await connection.close()
                return capabilities
            } catch {
                logger.warning("cannot read the server's capabilities yet: \(error)")
            }
            let wait = backoff.next()
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } } catch {
                await connection.close()
                return nil
            }
        }
    }

    /// Claims newly assigned partitions (fencing their previous owners) and returns the stored offsets.
    private func claim(_ partitions: [KafkaTopicPartition], on connection: PostgresConnection) async throws -> [KafkaTopicPartition: Int64] {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions {
            var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2))
            let giveUp = ContinuousClock.now + configuration.claimTimeout
            while true {
                do {
                    let lease = try await store.claim(partition: partition.partition, owner: instance, on: connection)
                    state.withLock { $0.claimed(partition.partition, generation: lease.generation, now: .now) }
                    if let next = lease.nextOffset { offsets[partition] = next }
                    logger.info("partition claimed", metadata: ["partition": .stringConvertible(partition.partition),
                                                               "generation": .stringConvertible(lease.generation),
                                                               "offset": .string(lease.nextOffset.map(String.init) ?? "beginning")])
                    break
                } catch {
                    // Without a lease there is no safe start offset: after `claimTimeout` give up (the stream ends,
                    // and with it the service).
                    if ContinuousClock.now >= giveUp { throw error }
                    logger.warning("cannot claim partition \(partition.partition) yet: \(error)")
                    try await Task.sleep(for: backoff.next())
                }
            }
        }
        // The closer re-sends finals a previous owner did not record and starts the idle timers.
        closeBell.ring()
        return offsets
    }

    /// The running totals its heartbeat reports (`counters`): the `/metrics` counters' values.
    public var counters: [(String, Int64)] { metrics.heartbeatCounters }

    /// Carries out the state's actions (outside its lock).
    func apply(_ actions: [AggregatorState.Action]) {
        for action in actions {
            switch action {
            case .flush: flushBell.ring()
            case .close(let partition, let watermark):
                requestedCloses.withLock { $0[partition] = max($0[partition] ?? .min, watermark) }
                closeBell.ring()
            case .resumeIntake: intakeBell.ring()
            case .pauseIntake: logger.debug("intake paused: the database is behind")
            }
        }
    }
}
