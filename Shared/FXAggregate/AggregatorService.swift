import CoreMetrics
import FXCore
import FXKafka
import FXPostgres
import Logging
import ServiceLifecycle
import Synchronization

/// The aggregator: `<prefix>ticks` -> candles in PostgreSQL (exactly once) and on `<prefix>candles`.
///
/// - Consumes in a consumer group; on assignment it claims each partition in the database (bumping the
///   generation, which fences the previous owner) and seeks to the offset stored there.
/// - Ticks are flushed by size and time: candle changes and offsets in one fenced transaction
///   (``CandleStore``). A failing database stops consumption (bounded pending ticks) and is retried with
///   capped, jittered backoff; nothing is lost or doubled because offsets move only with the candles.
/// - Changed candles go to `<prefix>candles` (open ones at most every `openUpdateInterval` per key);
///   buckets that end before the partition's watermark are published once per revision with
///   `final: true` (recorded in the table, so a restart republishes what was missing).
/// - Invalid ticks go to `<prefix>rejects`; heartbeats to `<prefix>health`.
public final class AggregatorService: Service, Sendable {
    let configuration: AggregatorConfiguration
    let kafka: KafkaConfiguration
    let topics: TopicNames
    let database: PostgresConfiguration
    let instance: String
    let logger: Logger
    let store: CandleStore
    let state = Mutex(AggregatorState())
    let counters = AggregatorCounters()
    let metrics: AggregatorMetrics
    private let lastOpenPublish = Mutex<[String: ContinuousClock.Instant]>([:])
    private let errorLog = LogRateLimiter(interval: .seconds(10))

    public init(configuration: AggregatorConfiguration, kafka: KafkaConfiguration, topics: TopicNames, database: PostgresConfiguration,
                instance: String, metricsFactory: any MetricsFactory, logger: Logger) {
        self.configuration = configuration
        self.kafka = kafka
        self.topics = topics
        self.database = database
        self.instance = instance
        self.logger = logger
        self.metrics = AggregatorMetrics(factory: metricsFactory)
        self.store = CandleStore(timeframes: configuration.timeframes, bidAskCandles: configuration.bidAskCandles,
                                 consumerGroup: configuration.consumerGroup, topic: topics.ticks)
    }

    var lateness: Int64 { configuration.allowedLateness.nanosecondsClamped }

    public func run() async throws {
        guard let connection = await connect(), let leaseConnection = await connect() else { return }
        let compression = await enableCompression(connection: connection)
        let producer = try KafkaProducer(configuration: kafka, logger: logger)
        let handler = KafkaRebalanceHandler(
            partitionsAssigned: { [self] partitions in try await claim(partitions, on: leaseConnection) },
            partitionsRevoked: { [self] partitions in
                state.withLock { $0.revoked(partitions.map(\.partition)) }
                logger.info("partitions revoked", metadata: ["partitions": .string(partitions.map { String($0.partition) }.joined(separator: ","))])
            })
        var consumerProperties = kafka
        consumerProperties.properties["enable.partition.eof"] = "false"
        let consumer = try KafkaConsumer(configuration: consumerProperties, groupID: configuration.consumerGroup, topics: [topics.ticks],
                                         rebalanceHandler: handler, bufferCapacity: 20_000, logger: logger)
        logger.info("aggregating", metadata: ["group": .string(configuration.consumerGroup),
                                              "timeframes": .string(configuration.timeframes.map(\.name).joined(separator: ","))])
        await withDiscardingTaskGroup { outer in
            // At SIGTERM, sends still waiting for a broker's report (an unreachable broker holds them for
            // message.timeout.ms) are failed at once: finals not recorded as published go out after a restart.
            outer.addTask {
                try? await gracefulShutdown()
                await producer.shutdown(flushTimeout: .seconds(2))
            }
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.consume(consumer, compression: compression) }
                    group.addTask { await self.flushLoop(connection: connection, producer: producer, consumer: consumer) }
                    group.addTask { await self.closeLoop(connection: connection, producer: producer) }
                    group.addTask { await self.maintenanceLoop(connection: connection) }
                    group.addTask { await self.healthLoop(producer: producer, consumer: consumer) }
                }
            }
            outer.cancelAll()
        }
        // Graceful stop: write what is pending (a few attempts), then leave the group and close.
        for _ in 0..<3 where await flushOnce(connection: connection, producer: producer, consumer: consumer) == .failed {
            try? await Task.sleep(for: .milliseconds(500))
        }
        await consumer.close()
        // Finals not acknowledged by now are sent again after a restart (final_revision): do not hold
        // the shutdown for an unreachable broker.
        await producer.shutdown(flushTimeout: .seconds(5))
        await connection.close()
        await leaseConnection.close()
        logger.info("aggregator stopped", metadata: ["ticks": .stringConvertible(counters.ticks.load(ordering: .relaxed))])
    }

    /// Connects to PostgreSQL, retrying until it answers (nil if asked to stop first).
    private func connect() async -> PostgresConnection? {
        var backoff = Backoff(base: .milliseconds(200), cap: .seconds(5))
        while true {
            do { return try await PostgresConnection.connect(database, logger: logger) }
            catch { logger.warning("PostgreSQL not reachable yet: \(error)") }
            let wait = backoff.next()
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } } catch { return nil }
        }
    }

    /// Claims newly assigned partitions (fencing their previous owners) and returns the stored offsets.
    private func claim(_ partitions: [KafkaTopicPartition], on connection: PostgresConnection) async throws -> [KafkaTopicPartition: Int64] {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions {
            var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2))
            var attempts = 0
            while true {
                do {
                    let lease = try await store.claim(partition: partition.partition, owner: instance, on: connection)
                    state.withLock { $0.assigned(partition.partition, generation: lease.generation, now: .now) }
                    if let next = lease.nextOffset { offsets[partition] = next }
                    logger.info("partition claimed", metadata: ["partition": .stringConvertible(partition.partition),
                                                               "generation": .stringConvertible(lease.generation),
                                                               "offset": .string(lease.nextOffset.map(String.init) ?? "beginning")])
                    break
                } catch {
                    attempts += 1
                    // Without a lease there is no safe start offset: after ~30 s give up (the stream ends).
                    if attempts > 30 { throw error }
                    logger.warning("cannot claim partition \(partition.partition) yet: \(error)")
                    try await Task.sleep(for: backoff.next())
                }
            }
        }
        return offsets
    }

    // MARK: Consuming

    private func consume(_ consumer: KafkaConsumer, compression: Bool) async {
        let maxPending = configuration.flushMaxTicks * 4
        let horizon = configuration.compressAfter.nanosecondsClamped
        do {
            for try await event in consumer.events {
                guard case .message(let message) = event else { continue }
                var tick: TickRecord?
                var reject: RejectRecord?
                do throws(TickRecord.Invalid) {
                    let decoded = try TickRecord(json: message.value)
                    if compression, decoded.ts < WallClock.nanoseconds() - horizon {
                        throw TickRecord.Invalid(reason: "beyond_compression_horizon",
                                                 detail: "ts older than the compressed chunks (\(configuration.compressAfter))")
                    }
                    tick = decoded
                } catch {
                    reject = RejectRecord(source: "aggregator", stage: "aggregate", reason: error.reason, detail: error.detail,
                                          receivedAt: WallClock.nanoseconds(), payload: message.value, instance: instance,
                                          key: message.keyString ?? "aggregator")
                    counters.rejects.add(1, ordering: .relaxed)
                    metrics.rejects.increment()
                }
                let receipt = state.withLock {
                    $0.received(partition: message.partition, offset: message.offset, tick: tick, reject: reject,
                                lateness: lateness, now: .now)
                }
                if receipt != .notOwned, tick != nil {
                    counters.ticks.add(1, ordering: .relaxed)
                    metrics.ticks.increment()
                    if receipt == .late { metrics.lateTicks.increment() }
                }
                // Backpressure: while the database is behind (or down), stop taking ticks.
                while state.withLock({ $0.pendingCount }) >= maxPending {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
        } catch is CancellationError {
        } catch {
            logger.error("tick stream ended: \(error)")
        }
    }

    // MARK: Flushing

    enum FlushOutcome { case idle, written, failed }

    private func flushLoop(connection: PostgresConnection, producer: KafkaProducer, consumer: KafkaConsumer) async {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(10))
        var lastFlush = ContinuousClock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(10)) } catch { return }
            let due = ContinuousClock.now - lastFlush >= configuration.flushInterval
            guard due || state.withLock({ $0.pendingCount }) >= configuration.flushMaxTicks else { continue }
            lastFlush = .now
            switch await flushOnce(connection: connection, producer: producer, consumer: consumer) {
            case .failed:
                do { try await Task.sleep(for: backoff.next()) } catch { return }
            case .written, .idle:
                backoff.reset()
            }
        }
    }

    private func flushOnce(connection: PostgresConnection, producer: KafkaProducer, consumer: KafkaConsumer?) async -> FlushOutcome {
        let taken = state.withLock { $0.take() }
        guard !taken.batches.isEmpty else { return .idle }
        let started = ContinuousClock.now
        do {
            let changed = try await store.flush(taken.batches, on: connection)
            let elapsed = ContinuousClock.now - started
            metrics.flushDuration.recordNanoseconds(elapsed.nanosecondsClamped)
            counters.flushes.add(1, ordering: .relaxed)
            counters.rowsWritten.add(changed.count, ordering: .relaxed)
            counters.lastFlushMicros.store(Int(elapsed.nanosecondsClamped / 1_000), ordering: .relaxed)
            metrics.rowsWritten.increment(by: changed.count)
            await publish(changed: changed, rejects: taken.allRejects, producer: producer, connection: connection)
            if let consumer {
                // For standard lag tooling only: the database holds the offsets that count.
                let offsets = Dictionary(taken.batches.map { (KafkaTopicPartition(topic: topics.ticks, partition: $0.partition), $0.nextOffset) },
                                         uniquingKeysWith: { max($0, $1) })
                try? await consumer.commit(offsets)
            }
            return .written
        } catch let fenced as CandleStore.Fenced {
            counters.fenced.add(1, ordering: .relaxed)
            logger.warning("fenced: \(fenced); dropping its pending ticks (the new owner reads them again)")
            state.withLock {
                $0.restore(taken, except: fenced.partition)
                $0.revoked([fenced.partition])
            }
            return .written
        } catch {
            counters.flushFailures.add(1, ordering: .relaxed)
            metrics.flushFailures.increment()
            state.withLock { $0.restore(taken) }
            if errorLog.allow() { logger.error("flush failed; consumption paused, retrying: \(error)") }
            return .failed
        }
    }

    // MARK: Candles topic

    private func publish(changed: [CandleRow], rejects: [RejectRecord], producer: KafkaProducer, connection: PostgresConnection) async {
        let wallNow = WallClock.nanoseconds()
        let now = ContinuousClock.now
        var messages: [(KafkaProducerMessage, CandleRow?)] = []
        for candle in changed {
            let watermark = state.withLock {
                $0.watermark(candle.kafkaPartition, lateness: lateness, idle: configuration.idleTimeout, wallNow: wallNow, now: now)
            }
            if let watermark, candle.end <= watermark {
                messages.append((message(candle, final: true), candle))
            } else {
                let due = lastOpenPublish.withLock { last -> Bool in
                    if let previous = last[candle.identity], now - previous < configuration.openUpdateInterval { return false }
                    last[candle.identity] = now
                    return true
                }
                if due { messages.append((message(candle, final: false), nil)) }
            }
        }
        for reject in rejects {
            messages.append((KafkaProducerMessage(topic: topics.rejects, key: Array(reject.key.utf8), value: reject.jsonBytes()), nil))
        }
        await send(messages, producer: producer, connection: connection)
    }

    private func message(_ candle: CandleRow, final: Bool) -> KafkaProducerMessage {
        KafkaProducerMessage(topic: topics.candles, key: Array(candle.key.utf8), value: candle.jsonBytes(final: final))
    }

    /// Sends; then records the finals (the messages paired with a candle) that were acknowledged. Finals
    /// that failed are sent again by the close loop.
    private func send(_ messages: [(KafkaProducerMessage, CandleRow?)], producer: KafkaProducer, connection: PostgresConnection) async {
        guard !messages.isEmpty else { return }
        let results = await producer.send(contentsOf: messages.map(\.0))
        var failed = 0
        var acknowledged: [CandleRow] = []
        for ((_, final), result) in zip(messages, results) {
            switch result {
            case .success: if let final { acknowledged.append(final) }
            case .failure: failed += 1
            }
        }
        if failed > 0, errorLog.allow() { logger.error("\(failed) candle/reject message(s) not delivered") }
        counters.candlesPublished.add(results.count - failed, ordering: .relaxed)
        guard !acknowledged.isEmpty else { return }
        do { try await store.markFinal(acknowledged, on: connection) }
        catch { if errorLog.allow() { logger.error("cannot record published finals (they will be sent again): \(error)") } }
        lastOpenPublish.withLock { last in for candle in acknowledged { last.removeValue(forKey: candle.identity) } }
    }

    /// Publishes `final: true` for every candle whose bucket ended before its partition's watermark.
    private func closeLoop(connection: PostgresConnection, producer: KafkaProducer) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            let wallNow = WallClock.nanoseconds()
            let watermarks = state.withLock { state in
                state.owned.compactMap { partition in
                    state.watermark(partition, lateness: lateness, idle: configuration.idleTimeout, wallNow: wallNow, now: .now)
                        .map { (partition, $0) }
                }
            }
            for (partition, watermark) in watermarks {
                do {
                    let candles = try await store.unfinalized(partition: partition, watermark: watermark, on: connection)
                    await send(candles.map { (message($0, final: true), $0) }, producer: producer, connection: connection)
                } catch {
                    if errorLog.allow() { logger.error("closing buckets failed: \(error)") }
                }
            }
        }
    }
}
