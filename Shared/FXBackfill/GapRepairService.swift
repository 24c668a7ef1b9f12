import AsyncHTTPClient
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
/// next. An idle worker waits until the ledger's next gap is due, until the intake records a gap (the
/// context's ``GapBell``), or `poll_interval_ms` at most (gaps recorded by other replicas ring no bell
/// here). Each worker has its own PostgreSQL connection (ledger, rate limiter and candle writes); all
/// share the process's Kafka producer and HTTP client. Each page of a repair is one transaction: a gap
/// interrupted by shutdown (or a kill) keeps its lease and is claimed again when the lease ends; pages
/// already written are not written again (repairs are idempotent).
public final class GapRepairService: Service, Sendable {
    let context: BackfillerContext
    let producer: KafkaProducer
    let http: HTTPClient
    var configuration: BackfillerConfiguration { context.configuration }
    var logger: Logger { context.logger }
    public let metrics: BackfillMetrics

    /// The shortest idle wait: a gap that is due but held by another claimer this instant is looked at
    /// again this soon, never in a busy loop.
    static let minimumIdleWait = Duration.milliseconds(10)

    /// - Parameters:
    ///   - producer: the process's producer (republished candles, quarantined answers); a service of the
    ///     same group that stops after this one.
    ///   - http: the process's HTTP client (``HistoryHTTPClient``), shut down after this service stops.
    public init(context: BackfillerContext, producer: KafkaProducer, http: HTTPClient) {
        self.context = context
        self.producer = producer
        self.http = http
        self.metrics = BackfillMetrics(factory: context.metricsFactory)
    }

    /// How long an idle worker waits: until the next gap is due (`nextDueIn`; nil: none waits), at most
    /// `pollInterval`, at least ``minimumIdleWait``.
    static func idleWait(nextDueIn: Duration?, pollInterval: Duration) -> Duration {
        min(pollInterval, max(nextDueIn ?? pollInterval, minimumIdleWait))
    }

    /// Ends at shutdown; workers that all stop otherwise throw ``BackfillStoppedError`` (`workers_stopped`).
    public func run() async throws {
        guard await context.schemaReady() else { return }
        logger.info("repairing gaps", metadata: ["workers": .stringConvertible(configuration.workers),
                                                 "sources": .string(HistorySource.configured(configuration).keys.sorted().joined(separator: ","))])
        do {
            try await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<self.configuration.workers {
                        group.addTask { await self.worker(index) }
                    }
                }
                guard Task.isCancelled else {
                    self.logger.critical("gap repair stopped: every worker ended without a shutdown")
                    throw BackfillStoppedError(code: "workers_stopped", context: ["service": "gap repair"])
                }
            }
        } catch is CancellationError {
            return
        }
    }

    private func worker(_ index: Int) async {
        guard let connection = await PostgresConnection.connectRetrying(context.database, logger: context.logger) else { return }
        let fetcher = HistoryFetcher(client: http, limiter: SharedRateLimiter(connection: connection, metricsFactory: context.metricsFactory),
                                     timeout: configuration.requestTimeout, metrics: metrics, logger: logger)
        let owner = "\(context.instance)/\(index)"
        let sources = HistorySource.configured(configuration)
        let repairer = GapRepairer(sources: sources,
                                   store: CandleStore(timeframes: configuration.timeframes, bidAskCandles: configuration.bidAskCandles, topic: context.topics.ticks),
                                   fetcher: fetcher, producer: producer, topics: context.topics, owner: owner,
                                   lease: configuration.lease, instance: context.instance, metrics: metrics,
                                   logger: context.logger)
        let ledger = GapLedger(connection: connection)
        let doorbell = context.gapBell.doorbell()
        defer { context.gapBell.remove(doorbell) }
        var backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
        while !Task.isCancelled {
            let gap: GapLedger.Gap
            let claimedAt = ContinuousClock.now
            do {
                let settled = WallClock.nanoseconds() - configuration.settle.nanosecondsClamped
                switch try await ledger.claimNext(owner: owner, lease: configuration.lease, settledBefore: settled,
                                                  sources: sources.keys.sorted()) {
                case .claimed(let due):
                    gap = due
                case .idle(let nextDueIn):
                    await doorbell.wait(timeout: Self.idleWait(nextDueIn: nextDueIn, pollInterval: configuration.pollInterval))
                    continue
                }
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
        await connection.close()
    }
}
