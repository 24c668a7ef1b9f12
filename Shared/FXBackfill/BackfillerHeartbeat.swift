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
    let counters: @Sendable () -> [(String, Int64)]
    let lag: @Sendable () -> [KafkaPartitionLag]
    let startedAt: Int64

    public init(context: BackfillerContext, counters: @escaping @Sendable () -> [(String, Int64)],
                lag: @escaping @Sendable () -> [KafkaPartitionLag]) {
        self.context = context
        self.counters = counters
        self.lag = lag
        self.startedAt = WallClock.nanoseconds()
    }

    public func run() async throws {
        guard await context.schemaReady(),
              let connection = await PostgresConnection.connectRetrying(context.database, logger: context.logger) else { return }
        let producer = try KafkaProducer(configuration: context.kafka, flushTimeout: .seconds(5), logger: context.logger)
        let beats = Beats(heartbeat: self, ledger: GapLedger(connection: connection), producer: producer)
        try await ServiceGroup(configuration: .init(services: [
            .init(service: producer), .init(service: beats, successTerminationBehavior: .gracefullyShutdownGroup),
        ], logger: context.logger)).run()
        await connection.close()
    }

    struct Beats: Service {
        let heartbeat: BackfillerHeartbeat
        let ledger: GapLedger
        let producer: KafkaProducer

        func run() async throws {
            let context = heartbeat.context
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let summary = try? await ledger.summary()
                let message = KafkaProducerMessage(topic: context.topics.health, key: Array("backfiller:\(context.instance)".utf8),
                                                   value: heartbeat.json(summary: summary, now: WallClock.nanoseconds()))
                if case .failure(let error) = await producer.send(contentsOf: [message]).first {
                    context.logger.warning("heartbeat not delivered: \(error)")
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: context.configuration.healthInterval) }
            }
            // Stopping gracefully: a last heartbeat saying so (the monitor forgets the instance), before the
            // producer (next in the group's shutdown order) flushes.
            guard Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            let last = KafkaProducerMessage(topic: context.topics.health, key: Array("backfiller:\(context.instance)".utf8),
                                            value: heartbeat.json(summary: nil, now: WallClock.nanoseconds(), stopping: true))
            if case .failure(let error) = await producer.send(contentsOf: [last]).first {
                context.logger.warning("last heartbeat not delivered: \(error)")
            }
        }
    }

    /// `{"v":1,"service":"backfiller","instance":"...","ts":...,"started_ts":...,"ledger":{...},"partitions":[...],"counters":{...}}`;
    /// `ledger` is null when the database could not be asked; `partitions` (`topic`, `partition`,
    /// `consumed_offset`, `high_watermark`, `lag`) are the `<prefix>gaps` partitions this instance owns;
    /// `"stopping":true` only in the last heartbeat of an instance stopping gracefully.
    func json(summary: GapLedger.Summary?, now: Int64, stopping: Bool = false) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.key("v"); w.number(1)
        w.key("service"); w.string("backfiller")
        w.key("instance"); w.string(context.instance)
        w.key("ts"); w.number(now)
        w.key("started_ts"); w.number(startedAt)
        w.key("ledger")
        if let summary {
            w.beginObject()
            for status in ["open", "filling", "failed", "unfillable", "filled"] {
                w.key(status); w.number(Int64(summary.byStatus[status] ?? 0))
            }
            w.key("oldest_unfilled_from_ts"); w.number(summary.oldestUnfilledFrom)
            w.key("minutes_to_repair"); w.number(summary.minutesToRepair)
            w.endObject()
        } else {
            w.null()
        }
        w.key("partitions"); w.beginArray()
        for partition in lag() {
            w.beginObject()
            w.key("topic"); w.string(partition.partition.topic)
            w.key("partition"); w.number(Int64(partition.partition.partition))
            w.key("consumed_offset"); w.number(partition.position)
            w.key("high_watermark"); w.number(partition.highWatermark)
            w.key("lag"); w.number(partition.lag)
            w.endObject()
        }
        w.endArray()
        w.key("counters"); w.beginObject()
        for (name, value) in counters() { w.key(name); w.number(value) }
        w.endObject()
        if stopping { w.key("stopping"); w.bool(true) }
        w.endObject()
        return w.bytes
    }
}
