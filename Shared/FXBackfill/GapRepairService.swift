import CoreMetrics
import FXAggregate
import FXCore
import FXDatabaseChassis
import FXKafka
import FXPostgres
import Logging
import ServiceLifecycle

/// The repair workers of one backfiller instance: each claims the next due gap from the ledger (leased,
/// `FOR UPDATE SKIP LOCKED`, so replicas share the work), fills it with ``GapRepairer`` and claims the
/// next; idle workers look again every `poll_interval_ms`. Each worker has its own PostgreSQL connection
/// (ledger, rate limiter and candle writes). Each page of a repair is one transaction: a gap interrupted
/// by shutdown (or a kill) keeps its lease and is claimed again when the lease ends; pages already
/// written are not written again (repairs are idempotent).
public final class GapRepairService: Service, Sendable {
    let configuration: BackfillerConfiguration
    let kafka: KafkaConfiguration
    let topics: TopicNames
    let database: PostgresConfiguration
    let schema: SchemaGate?
    let instance: String
    let metricsFactory: any MetricsFactory
    public let metrics: BackfillMetrics
    let logger: Logger

    public init(configuration: BackfillerConfiguration, kafka: KafkaConfiguration, topics: TopicNames, database: PostgresConfiguration,
                schema: SchemaGate?, instance: String, metricsFactory: any MetricsFactory, logger: Logger) {
        self.configuration = configuration
        self.kafka = kafka
        self.topics = topics
        self.database = database
        self.schema = schema
        self.instance = instance
        self.metricsFactory = metricsFactory
        self.metrics = BackfillMetrics(factory: metricsFactory)
        self.logger = logger
    }

    public func run() async throws {
        if let schema {
            guard (try? await cancelWhenGracefulShutdown { try await schema.current() }) != nil else { return }
        }
        let producer = try KafkaProducer(configuration: kafka, flushTimeout: .seconds(5), logger: logger)
        let workers = Workers(service: self, producer: producer)
        logger.info("repairing gaps", metadata: ["workers": .stringConvertible(configuration.workers),
                                                 "sources": .string(HistorySource.configured(configuration).keys.sorted().joined(separator: ","))])
        try await ServiceGroup(configuration: .init(services: [
            .init(service: producer),
            .init(service: workers, successTerminationBehavior: .gracefullyShutdownGroup),
        ], logger: logger)).run()
    }

    /// The worker loops, last in their group: they stop before the producer flushes.
    struct Workers: Service {
        let service: GapRepairService
        let producer: KafkaProducer

        func run() async throws {
            try? await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<service.configuration.workers {
                        group.addTask { await worker(index) }
                    }
                }
            }
        }

        private func worker(_ index: Int) async {
            let configuration = service.configuration
            guard let connection = await PostgresConnection.connectRetrying(service.database, logger: service.logger) else { return }
            let fetcher = HistoryFetcher(limiter: SharedRateLimiter(connection: connection, metricsFactory: service.metricsFactory),
                                         timeout: configuration.requestTimeout, metrics: service.metrics, logger: service.logger)
            let owner = "\(service.instance)/\(index)"
            let repairer = GapRepairer(sources: HistorySource.configured(configuration),
                                       store: CandleStore(timeframes: configuration.timeframes, bidAskCandles: false, consumerGroup: "",
                                                          topic: service.topics.ticks),
                                       fetcher: fetcher, producer: producer, topics: service.topics, owner: owner,
                                       lease: configuration.lease, instance: service.instance, metrics: service.metrics,
                                       logger: service.logger)
            let ledger = GapLedger(connection: connection)
            let sources = HistorySource.configured(configuration).keys.sorted()
            var backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
            while !Task.isCancelled {
                do {
                    let settled = WallClock.nanoseconds() - Int64(configuration.settle.components.seconds) * 1_000_000_000
                    guard let gap = try await ledger.claim(owner: owner, lease: configuration.lease, settledBefore: settled,
                                                                   sources: sources) else {
                        try? await Task.sleep(for: configuration.pollInterval)
                        continue
                    }
                    let outcome = try await repairer.fill(gap, connection: connection)
                    if case .filled = outcome {} else {
                        service.logger.warning("gap not repaired", metadata: ["gap": .stringConvertible(gap.id), "source": .string(gap.source),
                                                                               "symbol": .string(gap.symbol), "outcome": .string("\(outcome)")])
                    }
                    backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
                } catch is CancellationError {
                    break
                } catch {
                    if Task.isCancelled { break }
                    service.logger.error("gap repair failed (the gap is claimed again after its lease): \(error)")
                    try? await Task.sleep(for: backoff.next())
                }
            }
            await fetcher.shutdown()
            await connection.close()
        }
    }
}
