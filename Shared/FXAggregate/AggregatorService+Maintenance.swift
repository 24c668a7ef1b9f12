import FXContracts
import FXCandles
import FXCore
import FXKafka
import FXServiceChassis
import FXPostgres

extension AggregatorService {
    /// Every `maintenanceInterval`: forget tick identities older than the duplicate window (by event time,
    /// relative to the newest ticks of the owned partitions; archived ticks are kept), and delete candles
    /// past their timeframe's retention, in batches (tick identities by `(tableoid, ctid)`: on a hypertable
    /// a `ctid` alone is only unique within one chunk; candles by hour, see ``CandleStore/deleteExpired``).
    func maintenanceLoop(connection: PostgresConnection) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.maintenanceInterval) } catch { return }
            do {
                // Event time: the oldest of the owned partitions' newest ticks, minus the window (a replay of
                // old data keeps its identities as long as it is being replayed).
                let newest = state.withLock { state in state.owned.compactMap { state.partitions[$0]?.maxTs }.min() }
                var deleted = 0
                if let newest, !configuration.storeTicks {
                    let horizon = newest.subtractingClamped(configuration.dedupWindow.nanosecondsClamped)
                    repeat {
                        deleted = try await connection.query("""
                            DELETE FROM ticks WHERE (tableoid, ctid) IN
                                (SELECT tableoid, ctid FROM ticks WHERE ts < $1 AND kind IS NULL LIMIT 10000)
                            """, [horizon]).affectedRows
                    } while deleted == 10_000 && !Task.isCancelled
                }
                for (timeframe, days) in configuration.retentionDays where days > 0 {
                    repeat {
                        deleted = try await store.candles.deleteExpired(timeframe: timeframe, days: days, on: connection)
                        metrics.rowsDeleted.increment(by: deleted)
                    } while deleted > 0 && !Task.isCancelled
                }
            } catch {
                logger.warning("maintenance failed (retried next round): \(error)")
            }
        }
    }

    /// Every `healthInterval`: a ``Heartbeat`` on `<prefix>health` (``HeartbeatLoop``) with the partitions
    /// this instance owns (with their generation, pending ticks and watermark), its counters,
    /// `last_flush_ms` and the `tick_to_candle` latency (a tick's `recv_ts` -> its candles committed, since
    /// the previous heartbeat); a last one with `"stopping": true` at graceful shutdown.
    func healthLoop(producer: KafkaProducer, consumer: KafkaConsumer) async {
        await HeartbeatLoop(interval: configuration.healthInterval, topic: topics.health, producer: producer, logger: logger).run { stopping in
            self.heartbeat(consumer: consumer, stopping: stopping)
        }
    }

    private func heartbeat(consumer: KafkaConsumer, stopping: Bool) -> Heartbeat {
        let wallNow = WallClock.nanoseconds()
        let snapshot = state.withLock { state in
            state.owned.map { id in
                (id, state.partitions[id]!, state.watermark(id, wallNow: wallNow, now: .now))
            }
        }
        var beat = Heartbeat(service: "aggregator", instance: instance, timestamp: wallNow, startedAt: startedAt)
        beat.partitions = snapshot.map { id, partition, watermark in
            let high = consumer.cachedHighWatermark(KafkaTopicPartition(topic: topics.ticks, partition: id))
            return Heartbeat.Partition(topic: topics.ticks, partition: id, consumedOffset: partition.consumedOffset, highWatermark: high,
                                       lag: high.map { max(0, $0 - (partition.consumedOffset ?? 0)) },
                                       fencing: .init(generation: partition.generation, pending: Int64(partition.pending.count), watermarkTs: watermark))
        }
        beat.counters = metrics.heartbeatCounters.map { Heartbeat.Counter($0.0, $0.1) }
        beat.aggregator = Heartbeat.AggregatorSection(lastFlushMillis: .milliseconds(micros: metrics.lastFlushMicros.value))
        beat.latency = [Heartbeat.Latency("tick_to_candle", tickToCandle.drain())]
        beat.stopping = stopping
        return beat
    }
}
