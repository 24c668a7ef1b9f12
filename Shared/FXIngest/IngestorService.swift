import FXContracts
import CoreMetrics
import FXCore
import FXKafka
import FXMetrics
import Logging
import ServiceLifecycle

/// The ingestor: creates its topics, runs every feed's connections, publishes ticks, gaps, rejects and
/// health heartbeats, and on graceful shutdown (SIGTERM) stops reading, publishes the gaps still open and
/// a last heartbeat, drains the queue and flushes the producer.
public final class IngestorService: Service, Sendable {
    private let configuration: IngestorConfiguration
    private let kafka: KafkaConfiguration
    private let topics: TopicNames
    private let instance: String
    private let metrics: IngestMetrics
    private let clock: IngestClock
    private let logger: Logger
    private let latencyObserver: (@Sendable (Duration) -> Void)?
    private let queue: PublishQueue
    /// Frame received -> Kafka acknowledged, between two heartbeats (shipped in each heartbeat).
    private let receiveToAck = LatencyWindow()

    public init(configuration: IngestorConfiguration, kafka: KafkaConfiguration, topics: TopicNames, instance: String,
                metricsFactory: any MetricsFactory, clock: IngestClock = .system, logger: Logger,
                latencyObserver: (@Sendable (Duration) -> Void)? = nil) {
        self.configuration = configuration
        self.kafka = kafka
        self.topics = topics
        self.instance = instance
        self.metrics = IngestMetrics(factory: metricsFactory)
        self.clock = clock
        self.logger = logger
        self.latencyObserver = latencyObserver
        self.queue = PublishQueue(capacity: configuration.queueCapacity)
    }

    /// The running totals the heartbeat reports: the sums of the `/metrics` counters.
    public var counters: IngestTotals { metrics.totals }

    public func run() async throws {
        let plans = try configuration.plans()
        guard await ensureTopics() else { return }
        let (connections, circuits) = makeConnections(plans)
        logger.info("ingesting", metadata: [
            "connections": .stringConvertible(connections.count),
            "symbols": .stringConvertible(plans.reduce(0) { $0 + $1.shards.reduce(0) { $0 + $1.symbols.count } }),
            "providers": .string(circuits.keys.sorted().joined(separator: ","))])
        let startedAt = clock.now()
        let publisher = KafkaPublisher(makeProducer: { [kafka, logger] in try KafkaProducer(configuration: kafka, logger: logger) },
                                       queue: queue, topics: topics, instance: instance,
                                       metrics: metrics, logger: logger,
                                       latencyObserver: { [receiveToAck, latencyObserver] latency in
                                           receiveToAck.record(nanoseconds: latency.nanosecondsClamped)
                                           latencyObserver?(latency)
                                       })
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await publisher.run() }
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { feeds in
                    for connection in connections { feeds.addTask { await connection.run() } }
                    feeds.addTask { await self.heartbeats(connections, circuits, startedAt: startedAt) }
                }
            }
            logger.info("stopping: publishing open gaps and a last heartbeat, then draining")
            for connection in connections { connection.closeOpenGaps() }
            queue.pushUrgent([heartbeat(connections, circuits, startedAt: startedAt, stopping: true)])
            queue.finish()
        }
        logger.info("ingestor drained", metadata: counters.snapshot.reduce(into: Logger.Metadata()) { $0[$1.0] = .stringConvertible($1.1) })
    }

    private func makeConnections(_ plans: [ConnectionPlan]) -> ([FeedConnection], [String: ProviderCircuit]) {
        var circuits: [String: ProviderCircuit] = [:]
        var connections: [FeedConnection] = []
        for plan in plans {
            let circuit = circuits[plan.provider.id] ?? ProviderCircuit(
                provider: plan.provider.id,
                breaker: CircuitBreaker(failureThreshold: configuration.circuitFailures, openDuration: configuration.circuitOpen))
            circuits[plan.provider.id] = circuit
            for shard in plan.shards {
                let settings = FeedConnection.Settings(
                    webSocketBase: plan.webSocketBase, symbols: shard.symbols, credential: shard.credential,
                    maxMessageBytes: configuration.maxMessageBytes.bytes, pingInterval: configuration.pingInterval,
                    backoff: configuration.backoff, enqueueMaxWait: configuration.enqueueMaxWait)
                connections.append(FeedConnection(id: shard.id, provider: plan.provider, settings: settings, tracker: plan.tracker,
                                                  circuit: circuit, queue: queue, topics: topics, instance: instance,
                                                  metrics: metrics, clock: clock, logger: logger))
            }
        }
        return (connections, circuits)
    }

    /// Creates the ingestor's topics if missing; retries while the broker is unreachable. False if the
    /// service was asked to stop first.
    private func ensureTopics() async -> Bool {
        let specs = [topics.ticks, topics.gaps, topics.health, topics.rejects].map {
            KafkaTopicSpec(name: $0, partitions: configuration.partitions)
        }
        while true {
            do {
                let admin = try KafkaAdmin(configuration: kafka, logger: logger)
                let outcome = try await admin.createTopics(specs, timeout: .seconds(10))
                logger.info("topics ready", metadata: outcome.reduce(into: Logger.Metadata()) { $0[$1.key] = .string("\($1.value)") })
                return true
            } catch {
                logger.warning("cannot create topics yet; retrying in 2 s", metadata: ["error": .string("\(error)")])
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) } } catch { return false }
        }
    }

    private func heartbeats(_ connections: [FeedConnection], _ circuits: [String: ProviderCircuit], startedAt: Int64) async {
        while true {
            queue.pushUrgent([heartbeat(connections, circuits, startedAt: startedAt)])
            do { try await Task.sleep(for: configuration.healthInterval) } catch { return }
        }
    }

    private func heartbeat(_ connections: [FeedConnection], _ circuits: [String: ProviderCircuit], startedAt: Int64,
                           stopping: Bool = false) -> PublishItem {
        var beat = Heartbeat(service: "ingestor", instance: instance, timestamp: clock.now(), startedAt: startedAt)
        beat.ingestor = Heartbeat.IngestorSection(
            connections: connections.map(\.health), queueDepth: Int64(queue.count),
            circuits: circuits.sorted { $0.key < $1.key }.map { Heartbeat.Circuit(provider: $0.key, state: $0.value.state.rawValue) })
        beat.counters = counters.snapshot.map { Heartbeat.Counter($0.0, Int64($0.1)) }
        beat.latency = [Heartbeat.Latency("receive_to_ack", receiveToAck.drain())]
        beat.stopping = stopping
        return PublishItem(message: KafkaProducerMessage(topic: topics.health, key: Array(beat.key.utf8), value: beat.jsonBytes()),
                           kind: .health)
    }
}
