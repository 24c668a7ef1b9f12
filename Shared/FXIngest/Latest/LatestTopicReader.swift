import FXContracts
import FXCore
import FXKafka
import Logging
import Synchronization

/// Reads the compacted `<prefix>latest` topic from its beginning until it has caught up (every assigned
/// partition read to its end, or 2 s without a message once assigned): the newest value per key, a
/// tombstone (null value) removing its key. The local broker may not compact: then it reads every value
/// ever written, which gives the same answer.
public enum LatestTopicReader {
    public static func read(kafka: KafkaConfiguration, topic: String, groupID: String, timeout: Duration = .seconds(30),
                            logger: Logger) async throws -> [String: LatestQuote] {
        var properties = kafka
        properties.properties["enable.auto.commit"] = "false"
        properties.properties["auto.offset.reset"] = "earliest"
        // A one-shot reader: a short session keeps its group join short.
        properties.properties["session.timeout.ms"] = "6000"
        properties.properties["heartbeat.interval.ms"] = "500"
        let consumer = try KafkaConsumer(
            configuration: properties, groupID: groupID, topics: [topic],
            rebalanceHandler: KafkaRebalanceHandler(partitionsAssigned: { partitions in
                Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
            }), bufferCapacity: 1_000, logger: logger)
        let progress = Progress()
        let caughtUp = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await consumer.run()
                return false
            }
            group.addTask {
                for try await event in consumer.events {
                    switch event {
                    case .message(let message):
                        let key = message.keyString ?? ""
                        let value = message.isTombstone ? nil : try? LatestQuote(json: message.value)
                        progress.state.withLock { progress in
                            progress.lastMessage = .now
                            if message.isTombstone { progress.values[key] = nil }
                            else if let value { progress.values[key] = value }
                            else { progress.unreadable += 1 }
                        }
                    case .partitionsAssigned:
                        progress.state.withLock { $0.assignedAt = .now }
                    case .partitionsRevoked, .offsetsBelowLogStart:
                        break
                    }
                }
                return false
            }
            group.addTask {
                let deadline = ContinuousClock.now + timeout
                while ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    let (assignedAt, last) = progress.state.withLock { ($0.assignedAt, $0.lastMessage) }
                    guard let assignedAt else { continue }
                    let lags = consumer.lag()
                    let readToEnd = !lags.isEmpty && lags.allSatisfy { $0.lag == 0 || $0.highWatermark == 0 }
                    let idle = ContinuousClock.now - max(assignedAt, last ?? assignedAt) >= .seconds(2)
                    if readToEnd || idle { return true }
                }
                return false
            }
            let first: Bool
            do { first = try await group.next() ?? false } catch {
                await consumer.close()
                group.cancelAll()
                throw error
            }
            await consumer.close()
            group.cancelAll()
            return first
        }
        let result = progress.state.withLock { $0 }
        if result.unreadable > 0 { logger.warning("latest topic: \(result.unreadable) value(s) outside the contract ignored") }
        guard caughtUp else { throw KafkaError(code: .consume, message: "\(topic) was not read to its end within \(timeout)") }
        return result.values
    }

    final class Progress: Sendable {
        struct State: Sendable {
            var values: [String: LatestQuote] = [:]
            var assignedAt: ContinuousClock.Instant?
            var lastMessage: ContinuousClock.Instant?
            var unreadable = 0
        }
        let state = Mutex(State())
    }
}
