import FXContracts
import CoreMetrics
import FXCore
import FXDatabaseChassis
import FXKafka
import FXPostgres
import FXMetrics
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// Watches the pipeline: reads `<prefix>health`, `<prefix>gaps`, `<prefix>ticks`, `<prefix>rejects` and
/// `<prefix>candles` from their newest messages (a consumer group of its own per instance, nothing
/// committed: its state is rebuilt from the live topics), keeps a ``StreamBoard``, a ``LatencyBook`` and a
/// ``PipelineBook`` (rates, lag, backfill queue), derives states every `evaluate_interval_ms` (logging each
/// change), runs the alert rules on them (``AlertEngine``; events go out through the ``AlertDispatcher``)
/// and serves everything as JSON: `/api/streams`, `/api/instances`, `/api/latency`, `/api/pipeline`,
/// `/api/alerts`.
///
/// Its state is bounded (``StreamBoard``, ``PipelineBook``, ``LatencyBook``: `max_streams`,
/// `max_instances`, `max_sources`; stopped instances removed at once, missing ones forgotten after
/// `instance_forget_after_ms`), every value read is checked against ``FXCore/ContractLimits`` (what
/// falls outside is ignored and counted in `fx_monitor_ignored_total{reason}`), and when the consumer's
/// events end or fail the service throws (``MonitorError``): the process exits non-zero.
public final class MonitorService: Service, Sendable {
    let configuration: MonitorConfiguration
    let kafka: KafkaConfiguration
    let topics: TopicNames
    let instance: String
    let logger: Logger
    /// Everything derived, behind one lock (``MonitorState``); side effects happen outside it.
    let state: Mutex<MonitorState>
    let metricsFactory: any MetricsFactory
    let dispatcher = Mutex<AlertDispatcher?>(nil)
    let subjects: MonitorMetrics
    let database: PostgresConfiguration?
    /// The connection `/api/candles` reads from, once open.
    let candleReader = Mutex<PostgresConnection?>(nil)
    let events: EventCounter
    let transitions: EventCounter
    let ignored: IgnoredInputs
    let gauges: [StreamState: EventGauge]
    /// Silences are measured on this clock (monotonic), market hours on the wall clock.
    public let clock: MonitorClock
    /// The hot layer (`<prefix>latest`), for `GET /api/quotes`.
    let quotes: Mutex<QuoteBoard>
    /// The partitions of the watched topics the consumer owns now (readiness).
    let assignment = Mutex<Set<KafkaTopicPartition>>([])

    public init(configuration: MonitorConfiguration, rules: [AlertRule], kafka: KafkaConfiguration, topics: TopicNames, instance: String,
                database: PostgresConfiguration? = nil, metricsFactory: any MetricsFactory, logger: Logger, clock: MonitorClock = MonitorClock()) {
        self.database = database
        self.configuration = configuration
        self.state = Mutex(MonitorState(
            board: StreamBoard(settings: configuration.boardSettings),
            latency: LatencyBook(window: configuration.latencyWindow, maxSources: configuration.maxSources),
            pipeline: PipelineBook(maxSources: configuration.maxSources, maxInstances: configuration.maxInstances,
                                   forgetAfter: configuration.instanceForgetAfter),
            engine: AlertEngine(rules: rules),
            trust: HeartbeatTrust(expectedInstances: configuration.expectedInstances)))
        self.metricsFactory = metricsFactory
        self.quotes = Mutex(QuoteBoard(limit: configuration.boardSettings.maxStreams))
        self.subjects = MonitorMetrics(factory: metricsFactory)
        self.kafka = kafka
        self.topics = topics
        self.instance = instance
        self.logger = logger
        self.clock = clock
        self.events = EventCounter(label: "fx_monitor_events_total", factory: metricsFactory)
        self.transitions = EventCounter(label: "fx_monitor_transitions_total", factory: metricsFactory)
        self.ignored = IgnoredInputs(factory: metricsFactory, logger: logger)
        self.gauges = Dictionary(uniqueKeysWithValues: StreamState.allCases.map {
            ($0, EventGauge(label: "fx_monitor_streams", dimensions: [("state", $0.rawValue)], factory: metricsFactory))
        })
    }

    /// The totals for health bodies.
    public var counters: [(String, Int64)] {
        var totals = [("events", events.value), ("transitions", transitions.value), ("ignored", ignored.total)]
        if let dispatcher = dispatcher.withLock({ $0 }) {
            totals += [("alerts_firing", dispatcher.firing.value), ("alerts_resolved", dispatcher.resolved.value),
                       ("webhook_deliveries", dispatcher.delivered.value), ("webhook_failures", dispatcher.failed.value),
                       ("webhook_retries", dispatcher.retries.value), ("alerts_dropped", dispatcher.droppedTotal)]
        }
        return totals
    }

    /// Messages ignored for `reason` so far (``IgnoreReason``).
    public func ignoredCount(_ reason: IgnoreReason) -> Int64 { ignored.count(reason) }

    /// How many streams, instances, rate meters, latency series and per-subject metric series the monitor holds.
    public var stateSizes: (streams: Int, instances: Int, meters: Int, latencySeries: Int, metricSeries: Int) {
        let sizes = state.withLock { ($0.board.streamCount, $0.board.instanceCount, $0.pipeline.meterCount, $0.latency.seriesCount) }
        return (sizes.0, sizes.1, sizes.2, sizes.3, subjects.seriesCount)
    }

    /// How many partitions of the watched topics the consumer owns now.
    public var assignedPartitions: Int { assignment.withLock { $0.count } }

    public func run() async throws {
        var properties = kafka
        properties.properties["auto.offset.reset"] = "latest"
        properties.properties["enable.partition.eof"] = "false"
        let watched = [topics.health, topics.gaps, topics.ticks, topics.rejects, topics.candles]
        // Messages are applied on the consumer's poll thread, in batches (no copy out, no hand-off per
        // message), the assignment followed there too; its events carry only the end.
        let consumer = try KafkaConsumer(configuration: properties, groupID: "\(topics.prefix)monitor.\(instance)",
                                         topics: watched, logger: logger) { [self] delivery in
            switch delivery {
            case .messages(let messages): apply(messages, now: clock.now())
            case .event(let event): follow(event)
            }
        }
        let quoteConsumer = try makeQuoteConsumer()
        let producer = try KafkaProducer(configuration: kafka, flushTimeout: .seconds(5), logger: logger)
        let alerts = AlertDispatcher(webhooks: configuration.webhooks, timeout: configuration.webhookTimeout,
                                     attempts: configuration.webhookAttempts, queueCapacity: configuration.alertQueue, producer: producer,
                                     topic: topics.alerts, metricsFactory: metricsFactory, logger: logger)
        dispatcher.withLock { $0 = alerts }
        logger.info("watching streams", metadata: ["topics": .string(watched.joined(separator: ",")),
                                                   "alert_rules": .string(state.withLock { $0.engine.rules.map(\.name) }.joined(separator: ",")),
                                                   "webhooks": .stringConvertible(configuration.webhooks.count)])
        try await ServiceGroup(configuration: .init(services: [
            .init(service: producer),
            .init(service: alerts),
            // A consumer that stops on its own (a rebalance handler that failed) ends its events with the
            // error; their reader then ends the service with that cause, so the consumer's own return is no error.
            .init(service: consumer, successTerminationBehavior: .ignore),
            .init(service: Intake(service: self, consumer: consumer), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: quoteConsumer, successTerminationBehavior: .ignore),
            .init(service: QuoteIntake(service: self, consumer: quoteConsumer), successTerminationBehavior: .ignore),
            .init(service: Evaluator(service: self), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: CandleReader(service: self)),
        ], logger: logger)).run()
    }

    /// Applies one message of the watched topics (public for benchmarks and tools). `now`: the monitor's
    /// clock (``clock``). Values outside the topic contracts and new keys beyond the caps are ignored and
    /// counted (`fx_monitor_ignored_total{reason}`).
    public func apply(topic: String, value: [UInt8], now: Int64) {
        events.increment()
        guard let kind = kind(of: topic) else {
            ignored.record(.malformed, topic: topic)
            return
        }
        // Parsed and checked outside the lock; only the book-keeping happens under it.
        let message = MonitorState.decode(kind, value, now: now)
        let applied = state.withLock { $0.apply(message, now: now) }
        settle(applied, topic: topic)
    }

    /// Applies a batch of messages of the watched topics as lent by the consumer (on its poll thread):
    /// each one decoded outside the lock, like ``apply(topic:value:now:)``, and the batch applied under one
    /// acquisition of it.
    public func apply(_ messages: [KafkaMessageView], now: Int64) {
        events.increment(by: messages.count)
        var decoded: [MonitorState.Message] = []
        decoded.reserveCapacity(messages.count)
        for message in messages {
            guard let kind = kind(of: message.topic) else {
                decoded.append(.ignored(.malformed))
                continue
            }
            decoded.append(MonitorState.decode(kind, Array(message.value), now: now))
        }
        let applied = state.withLock { state in decoded.map { state.apply($0, now: now) } }
        for (index, outcome) in applied.enumerated() where !outcome.isEmpty {
            settle(outcome, topic: messages[index].topic)
        }
    }

    private func kind(of topic: String) -> MonitorState.Topic? {
        switch topic {
        case topics.ticks: .ticks
        case topics.gaps: .gaps
        case topics.health: .health
        case topics.rejects: .rejects
        case topics.candles: .candles
        default: nil
        }
    }

    /// The side effects of one applied message, outside the lock: ignored inputs counted, gap and resync
    /// series, a stopping instance logged.
    private func settle(_ applied: MonitorState.Applied, topic: String) {
        for reason in applied.ignored { ignored.record(reason, topic: topic) }
        if let gap = applied.gap { subjects.gap(source: gap.source, symbol: gap.symbol) }
        if let resync = applied.bookResync { subjects.gap(source: resync.source, symbol: resync.symbol, family: "fx_monitor_book_resyncs_total") }
        if let key = applied.stoppedInstance { logger.notice("instance stopped", metadata: ["instance": .string(key)]) }
    }

    /// Derives states now (`now`: the monitor's clock; `wall`: the wall clock, for market hours) in the
    /// state (``MonitorState/evaluate(now:wall:)``); then, outside the lock, logs and counts the changes,
    /// sets the gauges and dispatches the alert events.
    public func evaluate(now: Int64, wall: Int64? = nil) {
        let evaluation = state.withLock { $0.evaluate(now: now, wall: wall) }
        let result = evaluation.board
        for change in result.streams {
            transitions.increment()
            logger.notice("stream \(change.to.rawValue)", metadata: ["source": .string(change.source), "symbol": .string(change.symbol),
                                                                     "from": .string(change.from?.rawValue ?? "new"), "reason": .string(change.reason)])
        }
        for instance in result.instances {
            logger.notice(instance.alive ? "instance heard from" : "instance missing: no heartbeat",
                          metadata: ["instance": .string(instance.key)])
        }
        for key in result.forgottenInstances { logger.notice("instance forgotten: missing too long", metadata: ["instance": .string(key)]) }
        if !result.forgottenStreams.isEmpty {
            logger.notice("streams forgotten: no data too long", metadata: ["count": .stringConvertible(result.forgottenStreams.count),
                                                                            "first": .string(result.forgottenStreams[0])])
        }
        let perState = evaluation.perState
        for state in StreamState.allCases { gauges[state]?.set(perState[state] ?? 0) }
        subjects.update(streams: evaluation.streams, instances: evaluation.instances, p99: evaluation.latencyP99)
        subjects.update(stageP99: evaluation.stageP99, lags: evaluation.lags, backfill: evaluation.backfill, now: now)
        subjects.update(fleets: evaluation.fleets)
        guard !evaluation.alerts.isEmpty else { return }
        dispatcher.withLock { $0 }?.dispatch(evaluation.alerts)
    }

    /// Firing alerts now (as `/api/alerts` lists them).
    public var firingAlerts: [AlertEvent] { state.withLock { $0.engine.firing } }

    /// Opens the connection `/api/candles` reads from (retrying until PostgreSQL answers), closes it at shutdown.
    struct CandleReader: Service {
        let service: MonitorService

        func run() async throws {
            guard let database = service.database,
                  let connection = await PostgresConnection.connectRetrying(database, logger: service.logger) else { return }
            service.candleReader.withLock { $0 = connection }
            try? await gracefulShutdown()
            service.candleReader.withLock { $0 = nil }
            await connection.close()
        }
    }

    struct Evaluator: Service {
        let service: MonitorService

        func run() async throws {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                service.evaluate(now: service.clock.now(), wall: WallClock.nanoseconds())
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: service.configuration.evaluateInterval) }
            }
        }
    }
}
