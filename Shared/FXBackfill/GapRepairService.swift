import CoreMetrics
import FXCandles
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
    let context: BackfillerContext
    var configuration: BackfillerConfiguration { context.configuration }
    var logger: Logger { context.logger }
    public let metrics: BackfillMetrics

    public init(context: BackfillerContext) {
        self.context = context
        self.metrics = BackfillMetrics(factory: context.metricsFactory)
    }

    public func run() async throws {
        guard await context.schemaReady() else { return }
        let producer = try KafkaProducer(configuration: context.kafka, flushTimeout: .seconds(5), logger: logger)
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

        /// Ends at shutdown; workers that all stop otherwise throw ``BackfillStoppedError`` (`workers_stopped`).
        func run() async throws {
            do {
                try await cancelWhenGracefulShutdown {
                    await withTaskGroup(of: Void.self) { group in
                        for index in 0..<service.configuration.workers {
                            group.addTask { await worker(index) }
                        }
                    }
                    guard Task.isCancelled else {
                        service.logger.critical("gap repair stopped: every worker ended without a shutdown")
                        throw BackfillStoppedError(code: "workers_stopped", context: ["service": "gap repair"])
                    }
                }
            } catch is CancellationError {
                return
            }
        }

        private func worker(_ index: Int) async {
            let configuration = service.configuration
            let context = service.context
            guard let connection = await PostgresConnection.connectRetrying(context.database, logger: context.logger) else { return }
            let fetcher = HistoryFetcher(limiter: SharedRateLimiter(connection: connection, metricsFactory: context.metricsFactory),
                                         timeout: configuration.requestTimeout, metrics: service.metrics, logger: service.logger)
            let owner = "\(context.instance)/\(index)"
            let sources = HistorySource.configured(configuration)
            let repairer = GapRepairer(sources: sources,
                                       store: CandleStore(timeframes: configuration.timeframes, bidAskCandles: false, topic: context.topics.ticks),
                                       fetcher: fetcher, producer: producer, topics: context.topics, owner: owner,
                                       lease: configuration.lease, instance: context.instance, metrics: service.metrics,
                                       logger: context.logger)
            let ledger = GapLedger(connection: connection)
            var backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
            while !Task.isCancelled {
                let gap: GapLedger.Gap
                let claimedAt = ContinuousClock.now
                do {
                    let settled = WallClock.nanoseconds() - configuration.settle.nanosecondsClamped
                    guard let due = try await ledger.claim(owner: owner, lease: configuration.lease, settledBefore: settled,
                                                           sources: sources.keys.sorted()) else {
                        try? await Task.sleep(for: configuration.pollInterval)
                        continue
                    }
                    gap = due
                    backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
                } catch {
                    if Task.isCancelled { break }
                    context.logger.error("cannot claim gaps (retrying): \(error)")
                    try? await Task.sleep(for: backoff.next())
                    continue
                }
                // Throws only when cancelled: the gap keeps its lease and is claimed again when it ends.
                guard let outcome = try? await repairer.fill(gap, claimedAt: claimedAt, connection: connection) else { break }
                if case .filled = outcome {} else {
                    context.logger.warning("gap not repaired", metadata: ["gap": .stringConvertible(gap.id), "source": .string(gap.source),
                                                                           "symbol": .string(gap.symbol), "outcome": .string("\(outcome)")])
                }
            }
            await fetcher.shutdown()
            await connection.close()
        }
    }
}
