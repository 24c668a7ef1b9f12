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
    let board: Mutex<StreamBoard>
    let latency: Mutex<LatencyBook>
    let pipeline: Mutex<PipelineBook>
    let engine: Mutex<AlertEngine>
    /// The latest alert events, newest last (at most 200), for `/api/alerts`.
    let recentAlerts = Mutex<[AlertEvent]>([])
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
    /// The partitions of the watched topics the consumer owns now (readiness).
    let assignment = Mutex<Set<KafkaTopicPartition>>([])

    public init(configuration: MonitorConfiguration, rules: [AlertRule], kafka: KafkaConfiguration, topics: TopicNames, instance: String,
                database: PostgresConfiguration? = nil, metricsFactory: any MetricsFactory, logger: Logger, clock: MonitorClock = MonitorClock()) {
        self.database = database
        self.configuration = configuration
        self.engine = Mutex(AlertEngine(rules: rules))
        self.latency = Mutex(LatencyBook(window: configuration.latencyWindow, maxSources: configuration.maxSources))
        self.pipeline = Mutex(PipelineBook(maxSources: configuration.maxSources, maxInstances: configuration.maxInstances,
                                           forgetAfter: configuration.instanceForgetAfter))
        self.metricsFactory = metricsFactory
        self.subjects = MonitorMetrics(factory: metricsFactory)
        self.kafka = kafka
        self.topics = topics
        self.instance = instance
        self.logger = logger
        self.clock = clock
        self.board = Mutex(StreamBoard(settings: configuration.boardSettings))
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
        let (streams, instances) = board.withLock { ($0.streamCount, $0.instanceCount) }
        return (streams, instances, pipeline.withLock { $0.meterCount }, latency.withLock { $0.seriesCount }, subjects.seriesCount)
    }

    /// How many partitions of the watched topics the consumer owns now.
    public var assignedPartitions: Int { assignment.withLock { $0.count } }

    public func run() async throws {
        var properties = kafka
        properties.properties["auto.offset.reset"] = "latest"
        properties.properties["enable.partition.eof"] = "false"
        let watched = [topics.health, topics.gaps, topics.ticks, topics.rejects, topics.candles]
        let consumer = try KafkaConsumer(configuration: properties, groupID: "\(topics.prefix)monitor.\(instance)",
                                         topics: watched, logger: logger)
        let producer = try KafkaProducer(configuration: kafka, flushTimeout: .seconds(5), logger: logger)
        let alerts = AlertDispatcher(webhooks: configuration.webhooks, timeout: configuration.webhookTimeout,
                                     attempts: configuration.webhookAttempts, queueCapacity: configuration.alertQueue, producer: producer,
                                     topic: topics.alerts, metricsFactory: metricsFactory, logger: logger)
        dispatcher.withLock { $0 = alerts }
        logger.info("watching streams", metadata: ["topics": .string(watched.joined(separator: ",")),
                                                   "alert_rules": .string(engine.withLock { $0.rules.map(\.name) }.joined(separator: ",")),
                                                   "webhooks": .stringConvertible(configuration.webhooks.count)])
        try await ServiceGroup(configuration: .init(services: [
            .init(service: producer),
            .init(service: alerts),
            // A consumer that stops on its own (a rebalance handler that failed) ends its events with the
            // error; their reader then ends the service with that cause, so the consumer's own return is no error.
            .init(service: consumer, successTerminationBehavior: .ignore),
            .init(service: Intake(service: self, consumer: consumer), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: Evaluator(service: self), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: CandleReader(service: self)),
        ], logger: logger)).run()
    }

    /// Applies one message of the watched topics (public for benchmarks and tools). `now`: the monitor's
    /// clock (``clock``). Values outside the topic contracts and new keys beyond the caps are ignored and
    /// counted (`fx_monitor_ignored_total{reason}`).
    public func apply(topic: String, value: [UInt8], now: Int64) {
        events.increment()
        guard let message = try? JSONParser().parse(value) else { return ignored.record(.malformed, topic: topic) }
        if topic == topics.ticks {
            guard let source = message["source"]?.stringValue, let symbol = message["symbol"]?.stringValue,
                  let ts = message["ts"]?.int64Value else { return ignored.record(.malformed, topic: topic) }
            let received = message["recv_ts"]?.int64Value
            // Both times inside the consumers' window: their difference cannot overflow.
            guard ContractLimits.isPlausibleEventTime(ts), received.map(ContractLimits.isPlausibleEventTime) ?? true else {
                return ignored.record(.invalidTimestamp, topic: topic)
            }
            if let reason = board.withLock({ $0.tick(source: source, symbol: symbol, venueSymbol: message["venue_symbol"]?.stringValue ?? symbol,
                                                     eventTs: ts, now: now) }) {
                return ignored.record(reason, topic: topic)
            }
            ignored.record(pipeline.withLock { $0.count(.ticks, source: source, now: now) }, topic: topic)
            if let received {
                ignored.record(latency.withLock { $0.record(.exchangeToReceive, source: source, nanoseconds: received - ts, now: now) }, topic: topic)
            }
        } else if topic == topics.gaps {
            let gap: GapEvent
            do { gap = try GapEvent(json: value) } catch {
                return ignored.record(Self.reason(of: error), topic: topic)
            }
            if let reason = board.withLock({ $0.gap(gap, now: now) }) { return ignored.record(reason, topic: topic) }
            if gap.reason != .bootstrap {
                subjects.gap(source: gap.source, symbol: gap.symbol)
                ignored.record(pipeline.withLock { $0.count(.gaps, source: gap.source, now: now) }, topic: topic)
            }
        } else if topic == topics.health {
            let reading = Heartbeat.read(message, receivedAt: now)
            guard let beat = reading.heartbeat else { return ignored.record(Self.reason(reading.refused ?? .malformed), topic: topic) }
            if let reason = board.withLock({ $0.heartbeat(beat, now: now) }) { return ignored.record(reason, topic: topic) }
            for problem in reading.ignored { ignored.record(Self.reason(problem), topic: topic) }
            for reason in pipeline.withLock({ $0.heartbeat(beat, now: now) }) { ignored.record(reason, topic: topic) }
            if beat.stopping {
                logger.notice("instance stopped", metadata: ["instance": .string(beat.key)])
                return
            }
            let stages: [(String, LatencyBook.Measure)] = [("receive_to_ack", .receiveToAck), ("tick_to_candle", .tickToCandle)]
            for (name, measure) in stages {
                guard let sample = beat.latency.first(where: { $0.measure == name })?.sample, !sample.buckets.isEmpty else { continue }
                let buckets = sample.buckets.map { (micros: $0[0], count: $0[1]) }
                ignored.record(latency.withLock { $0.merge(measure, source: "all", buckets: buckets, now: now) }, topic: topic)
            }
        } else if topic == topics.rejects {
            ignored.record(pipeline.withLock { $0.count(.rejects, source: message["source"]?.stringValue ?? "unknown", now: now) }, topic: topic)
        } else if topic == topics.candles {
            ignored.record(pipeline.withLock { $0.count(.candles, source: message["source"]?.stringValue ?? "unknown", now: now) }, topic: topic)
        }
    }

    /// Derives states now (`now`: the monitor's clock; `wall`: the wall clock, for market hours); logs and
    /// counts the changes; forgets what expired; updates the per-state gauges; runs the alert rules.
    public func evaluate(now: Int64, wall: Int64? = nil) {
        let (result, snapshot) = board.withLock { board in
            let result = board.evaluate(now: now, wall: wall)
            return (result, board.snapshot)
        }
        for change in result.streams {
            transitions.increment()
            logger.notice("stream \(change.to.rawValue)", metadata: ["source": .string(change.source), "symbol": .string(change.symbol),
                                                                     "from": .string(change.from?.rawValue ?? "new"), "reason": .string(change.reason)])
        }
        pipeline.withLock { pipeline in
            for instance in result.instances where !instance.alive { pipeline.forget(instance: instance.key) }
            for key in result.forgottenInstances { pipeline.forget(instance: key) }
            pipeline.prune(now: now)
        }
        latency.withLock { $0.prune(now: now) }
        for instance in result.instances {
            logger.notice(instance.alive ? "instance heard from" : "instance missing: no heartbeat",
                          metadata: ["instance": .string(instance.key)])
        }
        for key in result.forgottenInstances { logger.notice("instance forgotten: missing too long", metadata: ["instance": .string(key)]) }
        if !result.forgottenStreams.isEmpty {
            logger.notice("streams forgotten: no data too long", metadata: ["count": .stringConvertible(result.forgottenStreams.count),
                                                                            "first": .string(result.forgottenStreams[0])])
        }
        var perState: [StreamState: Int64] = [:]
        for stream in snapshot { perState[stream.state, default: 0] += 1 }
        for state in StreamState.allCases { gauges[state]?.set(perState[state] ?? 0) }
        let inputs = AlertInputs(
            streams: snapshot, instances: board.withLock { $0.instanceSnapshot },
            latencyP99: latency.withLock { book in
                Dictionary(uniqueKeysWithValues: book.sources(.exchangeToReceive).compactMap { source in
                    book.percentiles(.exchangeToReceive, source: source, now: now).map { (source, Int64($0.p99 / 1_000)) }
                })
            },
            gapsLastHour: board.withLock { $0.gapsLastHour(now: now) })
        subjects.update(streams: snapshot, instances: inputs.instances, p99: inputs.latencyP99)
        let stageP99 = latency.withLock { book in
            Dictionary(uniqueKeysWithValues: [LatencyBook.Measure.receiveToAck, .tickToCandle].compactMap { measure in
                book.percentiles(measure, source: "all", now: now).map { (measure.rawValue, $0.p99) }
            })
        }
        let (lags, backfill) = pipeline.withLock { ($0.partitionLags, $0.backfill) }
        subjects.update(stageP99: stageP99, lags: lags, backfill: backfill, now: now)
        let alertEvents = engine.withLock { $0.evaluate(inputs, now: now) }
        guard !alertEvents.isEmpty else { return }
        recentAlerts.withLock { recent in
            recent.append(contentsOf: alertEvents)
            if recent.count > 200 { recent.removeFirst(recent.count - 200) }
        }
        dispatcher.withLock { $0 }?.dispatch(alertEvents)
    }

    /// Firing alerts now (as `/api/alerts` lists them).
    public var firingAlerts: [AlertEvent] { engine.withLock { $0.firing } }

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
