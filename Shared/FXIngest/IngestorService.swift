import FXContracts
import CoreMetrics
import FXCore
import FXKafka
import FXMetrics
import FXServiceChassis
import Logging
import ServiceLifecycle
import Synchronization

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
    /// The fleet this instance belongs to (nil: it streams every configured shard).
    let fleet: IngestorFleet?
    /// The raw capture (nil: no feed has `capture_raw`).
    public let capture: RawCapture?

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
        self.capture = configuration.feeds.contains(where: \.captureRaw)
            ? RawCapture(settings: configuration.capture, topics: topics, instance: instance, metricsFactory: metricsFactory, logger: logger)
            : nil
        // The configuration's plans were checked when it was resolved.
        self.fleet = configuration.fleetGroup.isEmpty ? nil : (try? configuration.plans()).map { plans in
            IngestorFleet(group: configuration.fleetGroup, layout: ShardLayout(plans: plans, redundancy: configuration.redundancy), topics: topics,
                          instance: instance, settle: max(.seconds(2), configuration.healthInterval * 3),
                          // Venues without a per-credential connection limit allow a second session during a move.
                          overlapping: Set(plans.flatMap { plan in plan.shards.map { _ in plan.provider.defaults.connectionsPerCredential == nil } }
                                               .enumerated().filter(\.element).map(\.offset)))
        }
    }

    /// Readiness in a fleet: `/health/ready` waits until the instance is in the fleet's group, so a rollout
    /// with surge stops an old replica only once the new one has its share.
    public var readinessChecks: [any DependencyCheck] {
        fleet.map { [FleetMembershipCheck(fleet: $0)] } ?? []
    }

    /// The running totals the heartbeat reports: the sums of the `/metrics` counters.
    public var counters: IngestTotals { metrics.totals }

    public func run() async throws {
        let plans = try configuration.plans()
        let fleet = self.fleet
        guard await ensureTopics(fleet: fleet) else { return }
        let circuits = makeCircuits(plans)
        let shards = plans.flatMap { plan in plan.shards.map { (plan, $0) } }
        let connections: @Sendable () -> [FeedConnection]
        let fixed: [FeedConnection]
        if let fleet {
            fixed = []
            connections = { fleet.connections }
            logger.info("joining the ingestor fleet", metadata: [
                "fleet": .string(fleet.group), "control_topic": .string(fleet.controlTopic), "shards": .stringConvertible(shards.count),
                "redundancy": .stringConvertible(fleet.layout.redundancy)])
        } else {
            fixed = shards.map { makeConnection($0.0, $0.1, circuits: circuits) }
            connections = { fixed }
            logger.info("ingesting", metadata: [
                "connections": .stringConvertible(fixed.count),
                "symbols": .stringConvertible(plans.reduce(0) { $0 + $1.shards.reduce(0) { $0 + $1.symbols.count } }),
                "providers": .string(circuits.keys.sorted().joined(separator: ","))])
        }
        let startedAt = clock.now()
        var publishing = KafkaPublisher.Settings()
        publishing.linger = configuration.publishLinger
        let publisher = KafkaPublisher(makeProducer: { [kafka, logger] in try KafkaProducer(configuration: kafka, logger: logger) },
                                       queue: queue, topics: topics, instance: instance,
                                       metrics: metrics, settings: publishing, logger: logger,
                                       latencyObserver: { [receiveToAck, latencyObserver] latency in
                                           receiveToAck.record(nanoseconds: latency.nanosecondsClamped)
                                           latencyObserver?(latency)
                                       })
        let fleetFailure = Mutex<(any Error)?>(nil)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await publisher.run() }
            if let capture {
                group.addTask { [kafka] in try await capture.run(kafka: kafka) }
            }
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { feeds in
                    feeds.addTask { await self.heartbeats(connections, circuits, fleet: fleet, startedAt: startedAt) }
                    feeds.addTask { await self.publishLatest(connections) }
                    if self.configuration.latestPrune {
                        feeds.addTask { await self.pruneLatest(keep: Self.latestKeys(plans)) }
                    }
                    guard let fleet else {
                        for connection in fixed { feeds.addTask { await connection.run() } }
                        return
                    }
                    do {
                        try await self.follow(fleet, shards: shards, circuits: circuits, feeds: &feeds)
                    } catch where !(error is CancellationError) && !Task.isCancelled && !Task.isShuttingDownGracefully {
                        fleetFailure.withLock { $0 = error }
                    } catch {
                        // Stopping: the membership ends with the service.
                    }
                    feeds.cancelAll()
                }
            }
            logger.info("stopping: publishing open gaps and a last heartbeat, then draining")
            for connection in connections() { connection.closeOpenGaps() }
            queue.pushUrgent(connections().flatMap { $0.latest.withLock { $0.take() } }.map { .latest($0, topics: topics) })
            queue.pushUrgent([heartbeat(connections(), circuits, fleet: fleet, startedAt: startedAt, stopping: true)])
            queue.finish()
            capture?.finish()
        }
        logger.info("ingestor drained", metadata: counters.snapshot.reduce(into: Logger.Metadata()) { $0[$1.0] = .stringConvertible($1.1) })
        if let failure = fleetFailure.withLock({ $0 }) { throw failure }
    }

    /// Streams the shards the fleet gives this instance until the service stops (the group is left and
    /// every shard stops) or the membership fails (then every shard stops too, and the error is thrown:
    /// the other replicas take the shards over).
    private func follow(_ fleet: IngestorFleet, shards: [(ConnectionPlan, ConnectionPlan.Shard)], circuits: [String: ProviderCircuit],
                        feeds: inout DiscardingTaskGroup) async throws {
        let consumer = try KafkaConsumer(
            configuration: IngestorFleet.consumerConfiguration(kafka, redundancy: fleet.layout.redundancy, sessionTimeout: configuration.fleetSessionTimeout),
            groupID: fleet.groupID, topics: [fleet.controlTopic], rebalanceHandler: fleet.rebalanceHandler, bufferCapacity: 1_000, logger: logger)
        feeds.addTask { [logger] in
            do { try await consumer.run() } catch { logger.error("fleet membership failed: \(error)") }
        }
        func apply(_ actions: [FleetState.Action], leaving: Bool = false) {
            for action in actions {
                switch action {
                case .start(let index):
                    if fleet.revive(index) {
                        logger.notice("shard assigned back while still streaming: kept", metadata: ["shard": .string(shards[index].1.id)])
                        continue
                    }
                    let now = clock.now()
                    let connection = makeConnection(shards[index].0, shards[index].1, circuits: circuits, gapFilter: fleet.gapFilter(index))
                    let stop = fleet.started(index, connection: connection, now: now)
                    logger.notice("shard assigned: streaming", metadata: ["shard": .string(connection.id)])
                    feeds.addTask { [queue, clock] in
                        await Self.stream(connection, until: stop)
                        // Stopped cleanly (a rebalance or a graceful stop): the exact last event times.
                        queue.pushUrgent(fleet.released(index, connection: connection, since: now, now: clock.now()))
                    }
                case .stop(let index) where !leaving && fleet.overlaps(index):
                    // Make-before-break: the venue allows a second session, so the shard streams on until its
                    // new owner has had time for its first data.
                    guard let generation = fleet.scheduleStop(index) else { continue }
                    logger.notice("shard moved: streaming on while its new owner starts", metadata: [
                        "shard": .string(shards[index].1.id), "overlap_ms": .stringConvertible(fleet.overlap.nanosecondsClamped / 1_000_000)])
                    feeds.addTask { [clock] in
                        try? await Task.sleep(for: fleet.overlap)
                        self.publish(handovers: fleet.stop(index, generation: generation, now: clock.now()))
                    }
                case .stop(let index):
                    logger.notice("shard revoked: unsubscribing", metadata: ["shard": .string(shards[index].1.id)])
                    publish(handovers: fleet.stop(index, now: clock.now()))
                }
            }
        }
        defer { apply(fleet.leave(), leaving: true) }
        for try await event in consumer.events {
            apply(fleet.actions(for: event))
        }
        // The consumer's events end only when it stops: at shutdown (this task is cancelled) or failing.
        if !Task.isCancelled, !Task.isShuttingDownGracefully { throw IngestorFleetError(reason: "the fleet membership ended unexpectedly") }
    }

    /// Runs one shard's connection until it is told to stop (or cancelled), then publishes its open gaps.
    private static func stream(_ connection: FeedConnection, until stop: AsyncStream<Void>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await connection.run() }
            group.addTask { for await _ in stop {} }
            await group.next()
            group.cancelAll()
        }
        connection.closeOpenGaps()
    }

    /// Publishes a fleet's handover windows (logged and counted like every gap event).
    private func publish(handovers: [GapEvent]) {
        guard !handovers.isEmpty else { return }
        for gap in handovers {
            metrics.source(gap.source).gap(gap.reason)
            logger.notice("gap", metadata: ["symbol": .string(gap.symbol), "reason": .string(gap.reason.rawValue),
                                            "from_ts": .stringConvertible(gap.from), "to_ts": .stringConvertible(gap.to),
                                            "detail": .string(gap.detail)])
        }
        queue.pushUrgent(handovers.map { .gap($0, topics: topics) })
    }

    private func makeCircuits(_ plans: [ConnectionPlan]) -> [String: ProviderCircuit] {
        var circuits: [String: ProviderCircuit] = [:]
        for plan in plans where circuits[plan.provider.id] == nil {
            circuits[plan.provider.id] = ProviderCircuit(
                provider: plan.provider.id,
                breaker: CircuitBreaker(failureThreshold: configuration.circuitFailures, openDuration: configuration.circuitOpen),
                attemptBudget: plan.provider.connectionAttemptBudget)
        }
        return circuits
    }

    private func makeConnection(_ plan: ConnectionPlan, _ shard: ConnectionPlan.Shard, circuits: [String: ProviderCircuit],
                                gapFilter: (@Sendable ([GapEvent]) -> [GapEvent])? = nil) -> FeedConnection {
        var settings = FeedConnection.Settings(
            webSocketBase: plan.webSocketBase, symbols: shard.symbols, credential: shard.credential,
            maxMessageBytes: configuration.maxMessageBytes.bytes, pingInterval: configuration.pingInterval,
            backoff: configuration.backoff, enqueueMaxWait: configuration.enqueueMaxWait)
        settings.bookSnapshotInterval = configuration.bookSnapshotInterval
        settings.restBase = plan.restBase
        return FeedConnection(id: shard.id, provider: plan.provider, settings: settings, tracker: plan.tracker,
                              circuit: circuits[plan.provider.id]!, queue: queue, topics: topics, instance: instance,
                              metrics: metrics, clock: clock, logger: logger, gapFilter: gapFilter,
                              capture: plan.captureRaw ? capture?.tap(source: plan.provider.id, connection: shard.id) : nil)
    }

    /// Creates the ingestor's topics if missing; retries while the broker is unreachable. False if the
    /// service was asked to stop first.
    private func ensureTopics(fleet: IngestorFleet?) async -> Bool {
        var specs = configuration.createTopics ? [topics.ticks, topics.gaps, topics.health, topics.rejects, topics.books].map {
            KafkaTopicSpec(name: $0, partitions: configuration.partitions, replicationFactor: configuration.replicationFactor)
        } : []
        if configuration.createTopics, capture != nil {
            specs.append(KafkaTopicSpec(name: topics.raw, partitions: configuration.partitions, replicationFactor: configuration.replicationFactor))
        }
        if configuration.createTopics {
            specs.append(KafkaTopicSpec(name: topics.latest, partitions: configuration.partitions, replicationFactor: configuration.replicationFactor,
                                        configs: topics.configs(for: topics.latest)))
        }
        // A fleet's control topic is the ingestor's own (its name holds the shard layout's fingerprint).
        if let fleet { specs.append(KafkaTopicSpec(name: fleet.controlTopic, partitions: fleet.layout.partitionCount,
                                                  replicationFactor: configuration.replicationFactor)) }
        if specs.isEmpty { return true }
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

    private func heartbeats(_ connections: @Sendable () -> [FeedConnection], _ circuits: [String: ProviderCircuit], fleet: IngestorFleet?,
                            startedAt: Int64) async {
        while true {
            queue.pushUrgent([heartbeat(connections(), circuits, fleet: fleet, startedAt: startedAt)])
            if let fleet {
                let (checkpoints, handovers) = fleet.tick(now: clock.now())
                publish(handovers: handovers)
                queue.pushUrgent(checkpoints)
            }
            do { try await Task.sleep(for: configuration.healthInterval) } catch { return }
        }
    }

    /// Every `source:symbol` the configured feeds stream (in a fleet: all its shards, not only this instance's).
    static func latestKeys(_ plans: [ConnectionPlan]) -> Set<String> {
        Set(plans.flatMap { plan in
            plan.shards.flatMap(\.symbols).map { "\(plan.provider.id):\(plan.provider.canonicalSymbol($0) ?? $0)" }
        })
    }

    /// Publishes what changed on the hot layer every `latest_interval_ms` (each symbol's newest value).
    private func publishLatest(_ connections: @Sendable () -> [FeedConnection]) async {
        while true {
            do { try await Task.sleep(for: configuration.latestInterval) } catch { return }
            let values = connections().flatMap { $0.latest.withLock { $0.take() } }
            guard !values.isEmpty else { continue }
            queue.pushUrgent(values.map { .latest($0, topics: topics) })
        }
    }

    /// Reads the latest topic once and tombstones the symbols of this ingestor's venues that are not in
    /// `keep` (unsubscribed since they were written). Failures are logged: the values stay, readers see
    /// them age by `recv_ts`.
    private func pruneLatest(keep: Set<String>) async {
        let sources = Set(keep.compactMap { $0.split(separator: ":", maxSplits: 1).first.map(String.init) })
        // Not at the very start: the streams come up first. (With the local broker a consumer-group join
        // was seen to coincide with a stall of the ingestor's heartbeats at start.)
        do { try await Task.sleep(for: .seconds(10)) } catch { return }
        do {
            let values = try await LatestTopicReader.read(kafka: kafka, topic: topics.latest, groupID: "\(topics.prefix)latest-prune.\(instance)",
                                                          logger: logger)
            let gone = values.filter { sources.contains($0.value.source) && !keep.contains($0.key) }.keys.sorted()
            guard !gone.isEmpty else { return }
            logger.notice("latest topic: tombstoning symbols no longer streamed", metadata: ["symbols": .string(gone.joined(separator: ","))])
            queue.pushUrgent(gone.map { .latestTombstone($0, topics: topics) })
        } catch {
            if Task.isCancelled { return }
            logger.warning("latest topic: cannot read it to prune unsubscribed symbols: \(error)")
        }
    }

    private func heartbeat(_ connections: [FeedConnection], _ circuits: [String: ProviderCircuit], fleet: IngestorFleet?, startedAt: Int64,
                           stopping: Bool = false) -> PublishItem {
        var beat = Heartbeat(service: "ingestor", instance: instance, timestamp: clock.now(), startedAt: startedAt)
        beat.ingestor = Heartbeat.IngestorSection(
            connections: connections.map(\.health), queueDepth: Int64(queue.count),
            circuits: circuits.sorted { $0.key < $1.key }.map { Heartbeat.Circuit(provider: $0.key, state: $0.value.state.rawValue) },
            fleet: stopping ? fleet.map { Heartbeat.Fleet(group: $0.group, redundancy: Int64($0.layout.redundancy),
                                                          shardCount: Int64($0.layout.shards.count), shards: []) } : fleet?.heartbeat)
        beat.counters = counters.snapshot.map { Heartbeat.Counter($0.0, Int64($0.1)) }
        beat.latency = [Heartbeat.Latency("receive_to_ack", receiveToAck.drain())]
        beat.stopping = stopping
        return PublishItem(message: KafkaProducerMessage(topic: topics.health, key: Array(beat.key.utf8), value: beat.jsonBytes()),
                           kind: .health)
    }
}
