import FXContracts
import FXKafka
import Logging
import Synchronization

/// Reads the raw capture topic from its beginning to its end (as of the read: each assigned partition
/// read up to the high watermark its fetches reported, or 3 s without a message), handing each record to
/// `body` in partition order (so in each connection's order). A reader of its own group, committing
/// nothing. Messages outside the raw contract are counted and skipped.
public enum RawTopicReader {
    public struct Summary: Sendable {
        public var messages = 0
        public var unreadable = 0
    }

    public static func read(kafka: KafkaConfiguration, topic: String, groupID: String, timeout: Duration = .seconds(3_600),
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
        async let watching: Void = watch(consumer, progress: progress, caughtUp: caughtUp, timeout: timeout)
        // The records are handed over on this task, one at a time, in each partition's order.
        do {
            for try await event in consumer.events {
                switch event {
                case .message(let message):
                    let record = try? RawRecord(key: message.key, value: message.value, headers: message.headers.map { ($0.key, $0.value) })
                    if let record { try await body(record) }
                    progress.state.withLock { progress in
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
            throw KafkaError(code: .consume, message: "\(topic) was not read to its end within \(timeout)")
        }
        return progress.state.withLock { $0.summary }
    }

    /// Closes the consumer once every assigned partition is read to its end (or nothing came for 3 s),
    /// or when `timeout` passes.
    private static func watch(_ consumer: KafkaConsumer, progress: ProgressBox, caughtUp: CaughtUp, timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            let lags = consumer.lag()
            let (assignedAt, last, processed) = progress.state.withLock { ($0.assignedAt, $0.lastMessage, $0.processed) }
            guard let assignedAt, !lags.isEmpty else { continue }
            let idle = ContinuousClock.now - max(assignedAt, last ?? assignedAt)
            let atEnd = lags.allSatisfy { lag in
                guard let high = consumer.cachedHighWatermark(lag.partition) ?? lag.highWatermark else { return false }
                let read = (processed[lag.partition] ?? 0) >= high
                let positioned = (lag.position ?? -1) >= high && idle >= .seconds(1)
                return high == 0 || read || positioned
            }
            if atEnd || idle >= .seconds(3) {
                caughtUp.value.store(true, ordering: .releasing)
                break
            }
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
    }
}
