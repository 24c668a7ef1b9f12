/// A consumed message lent to a consumer's handler (``KafkaConsumer/init(configuration:groupID:topics:rebalanceHandler:logger:handler:)``)
/// for the length of one call, on the consumer's poll thread.
///
/// Lifetime: ``key`` and ``value`` point into librdkafka's copy of the message, which is destroyed when the
/// handler returns. Copy what must outlive the call; never keep the pointers.
public struct KafkaMessageView {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: UnsafeRawBufferPointer?
    /// Empty for a null value too (see ``isTombstone``).
    public let value: UnsafeRawBufferPointer
    /// The value was null (a compacted topic's tombstone), not merely empty.
    public let isTombstone: Bool

    /// A view of bytes the caller keeps alive for as long as the view is used (tests, tools).
    public init(topic: String, partition: Int32, offset: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
                isTombstone: Bool = false) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.isTombstone = isTombstone
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}
