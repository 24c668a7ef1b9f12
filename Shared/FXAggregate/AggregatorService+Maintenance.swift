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

    /// Every `healthInterval`: a heartbeat on `<prefix>health` (JSON v1, key `aggregator:<instance>`):
    /// `v`, `service`, `instance`, `ts`, `partitions` (`topic`, `partition`, `generation`, `consumed_offset`,
    /// `high_watermark`, `lag`, `pending`, `watermark_ts`), `counters`, `last_flush_ms`, `latency`
    /// (`tick_to_candle`: a tick's `recv_ts` -> its candles committed, since the previous heartbeat).
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
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.key("v"); w.number(1)
        w.key("service"); w.string("aggregator")
        w.key("instance"); w.string(instance)
        w.key("ts"); w.number(wallNow)
        w.key("partitions"); w.beginArray()
        for (id, partition, watermark) in snapshot {
            let high = consumer.cachedHighWatermark(KafkaTopicPartition(topic: topics.ticks, partition: id))
            w.beginObject()
            w.key("topic"); w.string(topics.ticks)
            w.key("partition"); w.number(Int64(id))
            w.key("generation"); w.number(partition.generation)
            w.key("consumed_offset"); w.number(partition.consumedOffset)
            w.key("high_watermark"); w.number(high)
            w.key("lag"); w.number(high.map { max(0, $0 - (partition.consumedOffset ?? 0)) })
            w.key("pending"); w.number(Int64(partition.pending.count))
            w.key("watermark_ts"); w.number(watermark)
            w.endObject()
        }
        w.endArray()
        w.key("counters"); w.beginObject()
        for (name, value) in metrics.heartbeatCounters { w.key(name); w.number(value) }
        w.endObject()
        w.key("last_flush_ms"); w.number(String(Double(metrics.lastFlushMicros.value) / 1_000))
        w.key("latency"); w.beginObject()
        w.key("tick_to_candle"); tickToCandle.drain().write(to: &w)
        w.endObject()
        if stopping { w.key("stopping"); w.bool(true) }
        w.endObject()
        return KafkaProducerMessage(topic: topics.health, key: Array("aggregator:\(instance)".utf8), value: w.bytes)
    }
}
