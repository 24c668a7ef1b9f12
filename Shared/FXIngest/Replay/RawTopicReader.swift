import FXContracts
import FXKafka
import Logging
import Synchronization

/// Reads the raw capture topic from its beginning to its end as of the read (each assigned partition up to
/// the first high watermark its fetches reported: records written meanwhile are left for the next read),
/// handing each record to `body` in partition order (so in each connection's order). A reader of its own
/// group, committing nothing. Messages outside the raw contract are counted and skipped. Throws when a
/// partition makes no progress for `stallTimeout` before its end: a replay is never cut short silently.
public enum RawTopicReader {
    public struct Summary: Sendable {
        public var messages = 0
        public var unreadable = 0
    }

    public static func read(kafka: KafkaConfiguration, topic: String, groupID: String, stallTimeout: Duration = .seconds(60),
                            logger: Logger, _ body: (RawRecord) async throws -> Void) async throws -> Summary {
        var properties = kafka
        properties.properties["enable.auto.commit"] = "false"
        properties.properties["auto.offset.reset"] = "earliest"
        if properties.properties["session.timeout.ms"] == nil { properties.properties["session.timeout.ms"] = "6000" }
        if properties.properties["heartbeat.interval.ms"] == nil { properties.properties["heartbeat.interval.ms"] = "500" }
        let consumer = try KafkaConsumer(
            configuration: properties, groupID: groupID, topics: [topic],
            rebalanceHandler: KafkaRebalanceHandler(partitionsAssigned: { partitions in
                Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
            }), bufferCapacity: 2_000, logger: logger)
        let progress = ProgressBox()
        let caughtUp = CaughtUp()
        async let running: Void = consumer.run()
        async let watching: Void = watch(consumer, progress: progress, caughtUp: caughtUp, stallTimeout: stallTimeout)
        // The records are handed over on this task, one at a time, in each partition's order.
        do {
            for try await event in consumer.events {
                switch event {
                case .message(let message):
                    let record = try? RawRecord(key: message.key, value: message.value, headers: message.headers.map { ($0.key, $0.value) })
                    progress.state.withLock { $0.busy = true }
                    if let record { try await body(record) }
                    progress.state.withLock { progress in
                        progress.busy = false
                        progress.lastMessage = .now
                        progress.summary.messages += 1
                        if record == nil { progress.summary.unreadable += 1 }
                        progress.processed[message.topicPartition] = message.offset + 1
                    }
                case .partitionsAssigned:
                    progress.state.withLock { $0.assignedAt = .now }
                case .partitionsRevoked, .offsetsBelowLogStart:
                    break
                }
            }
        } catch {
            await consumer.close()
            _ = try? await running
            await watching
            throw error
        }
        try await running
        await watching
        guard caughtUp.value.load(ordering: .acquiring) else {
            throw KafkaError(code: .consume, message: "\(topic) was not read to its end: no progress for \(stallTimeout)")
        }
        return progress.state.withLock { $0.summary }
    }

    /// Closes the consumer once every assigned partition is read up to its end as first seen (or, with
    /// nothing left to read there, positioned at it), or when no progress comes for `stallTimeout`.
    private static func watch(_ consumer: KafkaConsumer, progress: ProgressBox, caughtUp: CaughtUp, stallTimeout: Duration) async {
        var ends: [KafkaTopicPartition: Int64] = [:]
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            let lags = consumer.lag()
            let (assignedAt, last, processed, busy) = progress.state.withLock { ($0.assignedAt, $0.lastMessage, $0.processed, $0.busy) }
            guard let assignedAt, !lags.isEmpty else { continue }
            let idle = busy ? .zero : ContinuousClock.now - max(assignedAt, last ?? assignedAt)
            for lag in lags where ends[lag.partition] == nil {
                ends[lag.partition] = consumer.cachedHighWatermark(lag.partition) ?? lag.highWatermark
            }
            let atEnd = lags.allSatisfy { lag in
                guard let end = ends[lag.partition] else { return false }
                let read = (processed[lag.partition] ?? 0) >= end
                // Retention may have deleted the whole partition: nothing comes, the position is at the end.
                let positioned = (lag.position ?? -1) >= end && idle >= .seconds(1)
                return end == 0 || read || positioned
            }
            if atEnd {
                caughtUp.value.store(true, ordering: .releasing)
                break
            }
            if idle >= stallTimeout { break }
        }
        await consumer.close()
    }

    final class ProgressBox: Sendable {
        let state = Mutex(Progress())
    }

    final class CaughtUp: Sendable {
        let value = Atomic<Bool>(false)
    }

    struct Progress: Sendable {
        var summary = Summary()
        var assignedAt: ContinuousClock.Instant?
        var lastMessage: ContinuousClock.Instant?
        var processed: [KafkaTopicPartition: Int64] = [:]
        /// `body` is running (a slow one is not a stall).
        var busy = false
    }
}
