import FXContracts
import FXCore
import FXKafka
import Logging
import ServiceLifecycle

/// Builders for Kafka clients against the local stack, with the short group timeouts Tansu needs
/// (a group join takes about half of `session.timeout.ms`).
public enum KafkaTestKit {
    public static let groupProperties: [String: String] = [
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
        "topic.metadata.refresh.interval.ms": "1000",
    ]

    public static func configuration(brokers: String = TestEnvironment.brokers, _ extra: [String: String] = [:]) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: brokers, properties: extra)
    }

    /// Creates a fresh topic and returns its name.
    public static func makeTopic(_ prefix: String, partitions: Int32 = 3, brokers: String = TestEnvironment.brokers) async throws -> String {
        let name = TestEnvironment.uniqueName(prefix)
        let admin = try KafkaAdmin(configuration: configuration(brokers: brokers), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics([KafkaTopicSpec(name: name, partitions: partitions)])
        return name
    }

    /// A started consumer (polling; it stops when the test closes it).
    public static func consumer(topics: [String], group: String? = nil, rebalance: KafkaRebalanceHandler? = nil,
                                brokers: String = TestEnvironment.brokers, bufferCapacity: Int = 1000) throws -> KafkaConsumer {
        started(try KafkaConsumer(configuration: configuration(brokers: brokers, groupProperties),
                                  groupID: group ?? TestEnvironment.uniqueName("group"), topics: topics,
                                  rebalanceHandler: rebalance, bufferCapacity: bufferCapacity,
                                  logger: TestEnvironment.logger("consumer")))
    }

    /// Starts a client's poll loop (its `run()`) for a test that drives it by hand; the loop ends when
    /// the test shuts the client down (`shutdown()`, `close()`), which every test does.
    @discardableResult
    public static func started<Client: Service>(_ client: Client) -> Client {
        Task { try? await client.run() }
        return client
    }

    /// Reads events until `count` messages have arrived or `timeout` passes.
    public static func collect(_ count: Int, from consumer: KafkaConsumer, timeout: Duration = .seconds(60)) async throws -> [KafkaConsumerMessage] {
        try await withThrowingTaskGroup(of: [KafkaConsumerMessage].self) { group in
            group.addTask {
                var messages: [KafkaConsumerMessage] = []
                for try await event in consumer.events {
                    if case .message(let message) = event { messages.append(message) }
                    if messages.count >= count { break }
                }
                return messages
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TestSupportError("timed out waiting for \(count) messages")
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }
}

extension KafkaTestKit {
    /// Every topic of the pipeline under a fresh prefix (`<prefix>-<random>.`), `partitions` each.
    public static func pipelineTopics(_ prefix: String, partitions: Int32 = 2) async throws -> TopicNames {
        let topics = TopicNames(prefix: TestEnvironment.uniqueName(prefix) + ".")
        let admin = try KafkaAdmin(configuration: configuration(), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics(topics.all.map { KafkaTopicSpec(name: $0, partitions: partitions, configs: topics.configs(for: $0)) })
        return topics
    }
}
