import FXKafka
import Synchronization

/// Reads topics in the background (a fresh consumer group from the earliest offsets) and keeps every
/// message, so a test can wait for what it expects with ``waitFor(_:timeout:_:)``.
public final class TopicRecorder: Sendable {
    private let consumer: KafkaConsumer
    private final class Store: Sendable {
        let messages = Mutex<[String: [KafkaConsumerMessage]]>([:])
    }
    private let store = Store()
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    public init(topics: [String], brokers: String = TestEnvironment.brokers) throws {
        consumer = try KafkaTestKit.consumer(topics: topics, brokers: brokers, bufferCapacity: 100_000)
        let reader = Task { [consumer, store] in
            do {
                for try await event in consumer.events {
                    if case .message(let message) = event {
                        store.messages.withLock { $0[message.topic, default: []].append(message) }
                    }
                }
            } catch {}
        }
        task.withLock { $0 = reader }
    }

    /// Messages of `topic` so far, in arrival order.
    public func messages(_ topic: String) -> [KafkaConsumerMessage] {
        store.messages.withLock { $0[topic] ?? [] }
    }

    /// Waits until `condition` holds for `topic`'s messages; returns them (throws on timeout).
    @discardableResult
    public func waitFor(_ topic: String, timeout: Duration = .seconds(45), _ what: String = "condition",
                        _ condition: ([KafkaConsumerMessage]) -> Bool) async throws -> [KafkaConsumerMessage] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = messages(topic)
            if condition(current) { return current }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("timed out after \(timeout) waiting on \(topic) for: \(what) (have \(messages(topic).count) messages)")
    }

    public func stop() async {
        await consumer.close()
        task.withLock { $0 }?.cancel()
    }
}
