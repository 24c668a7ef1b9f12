import FXContracts
import FXCore
import FXKafka
import FXPostgres
import Logging
import ServiceLifecycle

/// Every `health_interval_ms`: a heartbeat on `<prefix>health` (JSON v1, key `backfiller:<instance>`) with
/// the ledger's state (gaps per status, the oldest gap not yet filled, minutes still to repair) and the
/// instance's counters — the same totals as its `/metrics` and health bodies — and its lag on the
/// `<prefix>gaps` partitions it owns.
public struct BackfillerHeartbeat: Service {
    let context: BackfillerContext
    let producer: KafkaProducer
    let counters: @Sendable () -> [(String, Int64)]
    let lag: @Sendable () -> [KafkaPartitionLag]
    let startedAt: Int64

    /// - Parameter producer: the process's producer, a service of the same group that stops after this one
    ///   (the last heartbeat, sent while stopping, is flushed with it).
    public init(context: BackfillerContext, producer: KafkaProducer, counters: @escaping @Sendable () -> [(String, Int64)],
                lag: @escaping @Sendable () -> [KafkaPartitionLag]) {
        self.context = context
        self.producer = producer
        self.counters = counters
        self.lag = lag
        self.startedAt = WallClock.nanoseconds()
    }

    public func run() async throws {
        guard await context.schemaReady(),
              let connection = await PostgresConnection.connectRetrying(context.database, logger: context.logger) else { return }
        let ledger = GapLedger(connection: connection)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let summary = try? await ledger.summary()
            let message = KafkaProducerMessage(topic: context.topics.health, key: Array("backfiller:\(context.instance)".utf8),
                                               value: json(summary: summary, now: WallClock.nanoseconds()))
            if case .failure(let error) = await producer.send(contentsOf: [message]).first {
                context.logger.warning("heartbeat not delivered: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: context.configuration.healthInterval) }
        }
        await connection.close()
        // Stopping gracefully: a last heartbeat saying so (the monitor forgets the instance), before the
        // producer (later in the group's shutdown order) flushes.
        guard Task.isShuttingDownGracefully, !Task.isCancelled else { return }
        let last = KafkaProducerMessage(topic: context.topics.health, key: Array("backfiller:\(context.instance)".utf8),
                                        value: json(summary: nil, now: WallClock.nanoseconds(), stopping: true))
        if case .failure(let error) = await producer.send(contentsOf: [last]).first {
            context.logger.warning("last heartbeat not delivered: \(error)")
        }
    }

    /// The ``Heartbeat``: the ledger's state (`ledger` null when the database could not be asked), the
    /// `<prefix>gaps` partitions this instance owns, its counters; `stopping` in the last one.
    func json(summary: GapLedger.Summary?, now: Int64, stopping: Bool = false) -> [UInt8] {
        var beat = Heartbeat(service: "backfiller", instance: context.instance, timestamp: now, startedAt: startedAt)
        beat.backfiller = Heartbeat.BackfillerSection(ledger: summary.map {
            Heartbeat.Ledger(byStatus: $0.byStatus, oldestUnfilledFrom: $0.oldestUnfilledFrom, minutesToRepair: $0.minutesToRepair)
        })
        beat.partitions = lag().map {
            Heartbeat.Partition(topic: $0.partition.topic, partition: $0.partition.partition, consumedOffset: $0.position,
                                highWatermark: $0.highWatermark, lag: $0.lag)
        }
        beat.counters = counters().map { Heartbeat.Counter($0.0, $0.1) }
        beat.stopping = stopping
        return beat.jsonBytes()
    }
}
