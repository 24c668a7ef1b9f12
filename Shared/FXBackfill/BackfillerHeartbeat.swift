import FXContracts
import FXCore
import FXKafka
import FXPostgres
import FXServiceChassis
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
        await HeartbeatLoop(interval: context.configuration.healthInterval, topic: context.topics.health, producer: producer,
                            logger: context.logger).run { stopping in
            // The last heartbeat does not wait for the database: its ledger is null.
            heartbeat(summary: stopping ? nil : try? await ledger.summary(), now: WallClock.nanoseconds(), stopping: stopping)
        }
        await connection.close()
    }

    /// The ``Heartbeat``: the ledger's state (`ledger` null when the database could not be asked), the
    /// `<prefix>gaps` partitions this instance owns, its counters; `stopping` in the last one.
    func heartbeat(summary: GapLedger.Summary?, now: Int64, stopping: Bool = false) -> Heartbeat {
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
        return beat
    }
}
