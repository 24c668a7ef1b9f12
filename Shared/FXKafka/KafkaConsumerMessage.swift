/// One consumed message. Key, value and headers are copied out of librdkafka.
public struct KafkaConsumerMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// The message timestamp in milliseconds since the epoch, when the broker gave one.
    public var timestampMilliseconds: Int64?
    /// The value was null (a compacted topic's tombstone: the key is deleted), not merely empty.
    public var isTombstone = false

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}

/// What a consumer's event sequence delivers, in the order it happened.
public enum KafkaConsumerEvent: Sendable {
    case message(KafkaConsumerMessage)
    /// The group gave this consumer these partitions (after the rebalance handler chose their offsets).
    case partitionsAssigned([KafkaTopicPartition])
    /// These partitions were taken away; messages of them already delivered stay valid, but their
    /// offsets may now be committed by another member.
    case partitionsRevoked([KafkaTopicPartition])
    /// Assigned partitions whose start offset (chosen by the rebalance handler, or the group's committed
    /// one) was below the log start: retention deleted those messages unread. Delivered right after
    /// their ``partitionsAssigned``; consumption resumes at the log start.
    case offsetsBelowLogStart([KafkaLogStartSkip])
}

/// The caller's say in a rebalance. Both closures run while librdkafka waits for the answer.
public struct KafkaRebalanceHandler: Sendable {
    /// Returns the offset to start each assigned partition at (the next offset to read). Partitions left
    /// out start at the group's committed offset, else per `auto.offset.reset`. A thrown error ends the
    /// consumer's event sequence with that error: consuming from unknown offsets would break exactly-once.
    public var partitionsAssigned: @Sendable ([KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64]
    /// Called before the partitions are given up.
    public var partitionsRevoked: @Sendable ([KafkaTopicPartition]) async -> Void

    public init(partitionsAssigned: @escaping @Sendable ([KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64],
                partitionsRevoked: @escaping @Sendable ([KafkaTopicPartition]) async -> Void = { _ in }) {
        self.partitionsAssigned = partitionsAssigned
        self.partitionsRevoked = partitionsRevoked
    }
}
