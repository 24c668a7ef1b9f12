import FXContracts
import FXCandles
import FXCore
import FXKafka
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

    /// Every `healthInterval`: a ``Heartbeat`` on `<prefix>health` with the partitions this instance owns
    /// (with their generation, pending ticks and watermark), its counters, `last_flush_ms` and the
    /// `tick_to_candle` latency (a tick's `recv_ts` -> its candles committed, since the previous heartbeat).
    /// At graceful shutdown, a last heartbeat with `"stopping": true` (the monitor forgets the instance).
    func healthLoop(producer: KafkaProducer, consumer: KafkaConsumer) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.healthInterval) } catch {
                guard Task.isShuttingDownGracefully else { return }
                let last = heartbeat(consumer: consumer, stopping: true)
                // This task is cancelled (a cancelled send fails at once): sent from a task of its own, waited
                // for at most 2 s (the producer's flush at shutdown delivers it otherwise).
                await Task {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { _ = await producer.send(contentsOf: [last]) }
                        group.addTask { try? await Task.sleep(for: .seconds(2)) }
                        await group.next()
                        group.cancelAll()
                    }
                }.value
                return
            }
            _ = await producer.send(contentsOf: [heartbeat(consumer: consumer, stopping: false)])
        }
    }

    private func heartbeat(consumer: KafkaConsumer, stopping: Bool) -> KafkaProducerMessage {
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
        return KafkaProducerMessage(topic: topics.health, key: Array(beat.key.utf8), value: beat.jsonBytes())
    }
}
