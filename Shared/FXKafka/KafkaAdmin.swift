import CRdKafka
import Dispatch
import Logging

/// Topic administration: create (idempotent), list and describe. Every librdkafka call that waits runs
/// on this admin's own dispatch queue.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient
    private let queue = DispatchQueue(label: "fxstream.kafka.admin")

    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        self.client = try RDKafkaClient(kind: .producer, properties: configuration.properties, queueLogs: false, logger: logger)
    }

    /// What ``createTopics(_:timeout:)`` did for one topic.
    public enum CreationOutcome: String, Sendable {
        case created
        case alreadyExisted = "already_existed"
    }

    /// Creates the topics that do not exist yet. A topic that exists is left as it is (its partition count
    /// is not changed) and reported as `alreadyExisted`.
    public func createTopics(_ specs: [KafkaTopicSpec], timeout: Duration = .seconds(30)) async throws -> [String: CreationOutcome] {
        guard !specs.isEmpty else { return [:] }
        let milliseconds = timeout.rdkafkaMilliseconds
        let outcome: Result<[String: CreationOutcome], KafkaError> = await run { client in
            Self.createTopicsBlocking(client: client, specs: specs, milliseconds: milliseconds)
        }
        return try outcome.get()
    }

    private static func createTopicsBlocking(client: RDKafkaClient, specs: [KafkaTopicSpec], milliseconds: Int32) -> Result<[String: CreationOutcome], KafkaError> {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in specs {
            guard let topic = rd_kafka_NewTopic_new(spec.name, spec.partitions, spec.replicationFactor, &errorBuffer, errorBuffer.count) else {
                return .failure(KafkaError(code: .admin, message: String(errorBuffer: errorBuffer), context: ["topic": spec.name]))
            }
            newTopics.append(topic)
            for (key, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                let result = rd_kafka_NewTopic_set_config(topic, key, value)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return .failure(KafkaError(code: .admin, rdkafka: result, context: ["topic": spec.name, "config": key]))
                }
            }
        }
        let resultQueue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(resultQueue) }
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorBuffer, errorBuffer.count)
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, resultQueue)
        }
        guard let event = rd_kafka_queue_poll(resultQueue, milliseconds + 1000) else {
            return .failure(KafkaError(code: .admin, message: "create topics timed out"))
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
            return .failure(KafkaError(code: .admin, rdkafka: eventError))
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            return .failure(KafkaError(code: .admin, message: "unexpected admin result event"))
        }
        var count = 0
        guard let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return .success([:]) }
        var outcomes: [String: CreationOutcome] = [:]
        for index in 0..<count {
            let topic = topics[index]
            let name = String(cString: rd_kafka_topic_result_name(topic))
            let error = rd_kafka_topic_result_error(topic)
            switch error {
            case RD_KAFKA_RESP_ERR_NO_ERROR: outcomes[name] = .created
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcomes[name] = .alreadyExisted
            default:
                var failure = KafkaError(code: .admin, rdkafka: error, context: ["topic": name])
                if let message = rd_kafka_topic_result_error_string(topic) { failure.message = String(cString: message) }
                return .failure(failure)
            }
        }
        return .success(outcomes)
    }

    /// Describes the named topics (all topics when `names` is nil). Unknown names are left out.
    public func describeTopics(_ names: [String]? = nil, timeout: Duration = .seconds(10)) async throws -> [KafkaTopicDescription] {
        let milliseconds = timeout.rdkafkaMilliseconds
        let outcome: Result<[KafkaTopicDescription], KafkaError> = await run { client in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let result = rd_kafka_metadata(client.handle, 1, nil, &metadata, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(KafkaError(code: .metadata, rdkafka: result))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var descriptions: [KafkaTopicDescription] = []
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let name = String(cString: topic.topic)
                if let names, !names.contains(name) { continue }
                var partitions: [KafkaTopicDescription.Partition] = []
                for p in 0..<Int(topic.partition_cnt) {
                    let partition = topic.partitions[p]
                    let replicas = (0..<Int(partition.replica_cnt)).map { partition.replicas[$0] }
                    partitions.append(.init(id: partition.id, leader: partition.leader, replicas: replicas))
                }
                descriptions.append(KafkaTopicDescription(name: name, partitions: partitions.sorted { $0.id < $1.id }))
            }
            return .success(descriptions.sorted { $0.name < $1.name })
        }
        return try outcome.get()
    }

    /// The names of all topics.
    public func listTopics(timeout: Duration = .seconds(10)) async throws -> [String] {
        try await describeTopics(nil, timeout: timeout).map(\.name)
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (RDKafkaClient) -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { [client] in continuation.resume(returning: body(client)) }
        }
    }
}
