import FXContracts
import FXCore
import FXKafka
import FXPostgres

extension AggregatorService {
    /// Kafka retention deleted ticks of these partitions before they were read (the stored offsets were
    /// below the log start). What was lost cannot be read back; what can be told is which symbols the
    /// partitions carried (their candles record it) and since when: each gets a `retention` gap event from
    /// its newest stored 1-step candle's close to now, so the backfiller repairs it from the venue's
    /// history. Counted (`fx_aggregator_retention_skipped_total`, messages) and logged.
    ///
    /// Throws when the symbols cannot be read or the events not delivered: the tick stream then ends and
    /// the service exits; the partition's stored offset has not moved yet, so the restart finds the loss again.
    func reportRetentionLoss(_ skips: [KafkaLogStartSkip], connection: PostgresConnection, producer: KafkaProducer) async throws {
        let smallest = configuration.timeframes.min { $0.nanoseconds < $1.nanoseconds }?.name ?? "1m"
        let now = WallClock.nanoseconds()
        var events: [GapEvent] = []
        for skip in skips {
            metrics.retentionSkipped.increment(by: Int(clamping: skip.lost))
            let rows = try await connection.query("""
                    SELECT source, symbol, max(close_ts) AS last_ts FROM candles
                    WHERE ticks_topic = $1 AND kafka_partition = $2 AND timeframe = $3
                    GROUP BY source, symbol ORDER BY source, symbol
                """, [skip.partition.topic, Int(skip.partition.partition), smallest])
            for row in rows {
                let source = try row.decode(String.self, "source"), symbol = try row.decode(String.self, "symbol")
                // A candle may close after `now` (tick times reach a day ahead): the window never runs backwards.
                let last = min(try row.decode(Int64.self, "last_ts"), now)
                events.append(GapEvent(source: source, symbol: symbol, venueSymbol: "", from: last, to: now, reason: .retention,
                                       detectedAt: now,
                                       detail: "offsets \(skip.from)..<\(skip.to) of \(skip.partition) were deleted by retention before the aggregator read them",
                                       instance: instance))
            }
            logger.error("ticks lost to Kafka retention: \(skip.lost) message(s) never read; \(rows.count) symbol(s) with candles on the partition reported as retention gaps (a symbol without any is not known here)",
                         metadata: ["partition": .string(skip.partition.description), "from_offset": .stringConvertible(skip.from),
                                    "log_start": .stringConvertible(skip.to)])
        }
        guard !events.isEmpty else { return }
        let results = await producer.send(contentsOf: events.map {
            KafkaProducerMessage(topic: topics.gaps, key: Array($0.key.utf8), value: $0.jsonBytes())
        })
        for case .failure(let error) in results { throw error }
    }
}
