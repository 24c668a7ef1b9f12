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
public final class MonitorService: Service, Sendable {
    let configuration: MonitorConfiguration
    let kafka: KafkaConfiguration
    let topics: TopicNames
    let instance: String
    let logger: Logger
    let board: Mutex<StreamBoard>
    let latency: Mutex<LatencyBook>
    let pipeline = Mutex(PipelineBook())
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
    let gauges: [StreamState: EventGauge]

    public init(configuration: MonitorConfiguration, rules: [AlertRule], kafka: KafkaConfiguration, topics: TopicNames, instance: String,
                database: PostgresConfiguration? = nil, metricsFactory: any MetricsFactory, logger: Logger) {
        self.database = database
        self.configuration = configuration
        self.engine = Mutex(AlertEngine(rules: rules))
        self.latency = Mutex(LatencyBook(window: configuration.latencyWindow))
        self.metricsFactory = metricsFactory
        self.subjects = MonitorMetrics(factory: metricsFactory)
        self.kafka = kafka
        self.topics = topics
        self.instance = instance
        self.logger = logger
        self.board = Mutex(StreamBoard(settings: configuration.boardSettings))
        self.events = EventCounter(label: "fx_monitor_events_total", factory: metricsFactory)
        self.transitions = EventCounter(label: "fx_monitor_transitions_total", factory: metricsFactory)
        self.gauges = Dictionary(uniqueKeysWithValues: StreamState.allCases.map {
            ($0, EventGauge(label: "fx_monitor_streams", dimensions: [("state", $0.rawValue)], factory: metricsFactory))
        })
    }

    /// The totals for health bodies.
    public var counters: [(String, Int64)] {
        var totals = [("events", events.value), ("transitions", transitions.value)]
        if let dispatcher = dispatcher.withLock({ $0 }) {
            totals += [("alerts_firing", dispatcher.firing.value), ("alerts_resolved", dispatcher.resolved.value),
                       ("webhook_deliveries", dispatcher.delivered.value), ("webhook_failures", dispatcher.failed.value),
                       ("webhook_retries", dispatcher.retries.value)]
        }
        return totals
    }

    public func run() async throws {
        var properties = kafka
        properties.properties["auto.offset.reset"] = "latest"
        properties.properties["enable.partition.eof"] = "false"
        let watched = [topics.health, topics.gaps, topics.ticks, topics.rejects, topics.candles]
        let consumer = try KafkaConsumer(configuration: properties, groupID: "\(topics.prefix)monitor.\(instance)",
                                         topics: watched, logger: logger)
        let producer = try KafkaProducer(configuration: kafka, flushTimeout: .seconds(5), logger: logger)
        let alerts = AlertDispatcher(webhooks: configuration.webhooks, timeout: configuration.webhookTimeout,
                                     attempts: configuration.webhookAttempts, producer: producer, topic: topics.alerts,
                                     metricsFactory: metricsFactory, logger: logger)
        dispatcher.withLock { $0 = alerts }
        logger.info("watching streams", metadata: ["topics": .string(watched.joined(separator: ",")),
                                                   "alert_rules": .string(engine.withLock { $0.rules.map(\.name) }.joined(separator: ",")),
                                                   "webhooks": .stringConvertible(configuration.webhooks.count)])
        try await ServiceGroup(configuration: .init(services: [
            .init(service: producer),
            .init(service: alerts),
            .init(service: consumer),
            .init(service: Intake(service: self, consumer: consumer), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: Evaluator(service: self), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: CandleReader(service: self)),
        ], logger: logger)).run()
    }

    /// Applies one message of the watched topics (public for benchmarks and tools).
    public func apply(topic: String, value: [UInt8], now: Int64) {
        events.increment()
        guard let message = try? JSONParser().parse(value) else { return }
        if topic == topics.ticks {
            guard let source = message["source"]?.stringValue, let symbol = message["symbol"]?.stringValue,
                  let ts = message["ts"]?.int64Value else { return }
            board.withLock { $0.tick(source: source, symbol: symbol, venueSymbol: message["venue_symbol"]?.stringValue ?? symbol, eventTs: ts, now: now) }
            pipeline.withLock { $0.count(.ticks, source: source, now: now) }
            if let received = message["recv_ts"]?.int64Value {
                latency.withLock { $0.record(.exchangeToReceive, source: source, nanoseconds: received - ts, now: now) }
            }
        } else if topic == topics.gaps {
            if let gap = try? GapEvent(json: value) {
                board.withLock { $0.gap(gap, now: now) }
                if gap.reason != .bootstrap {
                    subjects.gap(source: gap.source, symbol: gap.symbol)
                    pipeline.withLock { $0.count(.gaps, source: gap.source, now: now) }
                }
            }
        } else if topic == topics.health {
            board.withLock { $0.heartbeat(message, now: now) }
            pipeline.withLock { $0.heartbeat(message, now: now) }
            let stages: [(String, LatencyBook.Measure)] = [("receive_to_ack", .receiveToAck), ("tick_to_candle", .tickToCandle)]
            for (name, measure) in stages {
                let buckets = LatencySample.buckets(of: message["latency"]?[name])
                if !buckets.isEmpty { latency.withLock { $0.merge(measure, source: "all", buckets: buckets, now: now) } }
            }
        } else if topic == topics.rejects {
            pipeline.withLock { $0.count(.rejects, source: message["source"]?.stringValue ?? "unknown", now: now) }
        } else if topic == topics.candles {
            pipeline.withLock { $0.count(.candles, source: message["source"]?.stringValue ?? "unknown", now: now) }
        }
    }

    /// Derives states now; logs and counts the changes; updates the per-state gauges; runs the alert rules.
    public func evaluate(now: Int64) {
        let (changes, instances, snapshot) = board.withLock { board in
            let result = board.evaluate(now: now)
            return (result.streams, result.instances, board.snapshot)
        }
        for change in changes {
            transitions.increment()
            logger.notice("stream \(change.to.rawValue)", metadata: ["source": .string(change.source), "symbol": .string(change.symbol),
                                                                     "from": .string(change.from?.rawValue ?? "new"), "reason": .string(change.reason)])
        }
        for instance in instances where !instance.alive { pipeline.withLock { $0.forget(instance: instance.key) } }
        for instance in instances {
            logger.notice(instance.alive ? "instance heard from" : "instance missing: no heartbeat",
                          metadata: ["instance": .string(instance.key)])
        }
        for state in StreamState.allCases { gauges[state]?.set(Int64(snapshot.filter { $0.state == state }.count)) }
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

    struct Intake: Service {
        let service: MonitorService
        let consumer: KafkaConsumer

        func run() async throws {
            try? await cancelWhenGracefulShutdown {
                for try await event in consumer.events {
                    guard case .message(let message) = event else { continue }
                    service.apply(topic: message.topic, value: message.value, now: WallClock.nanoseconds())
                }
            }
        }
    }

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
                service.evaluate(now: WallClock.nanoseconds())
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: service.configuration.evaluateInterval) }
            }
        }
    }
}
