/// A Kafka message header. Header values are bytes; nil is a header without a value.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }
}

/// A message to produce. Key and value are copied into librdkafka when sent.
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    /// nil lets the partitioner choose (by key hash when a key is set).
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// A tombstone: the value is sent as null (not empty), which a compacted topic reads as "delete this key".
    public var isTombstone = false

    /// A tombstone for `key` (a null value).
    public static func tombstone(topic: String, key: [UInt8]) -> KafkaProducerMessage {
        var message = KafkaProducerMessage(topic: topic, key: key, value: [])
        message.isTombstone = true
        return message
    }

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, partition: Int32? = nil, key: String?, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, partition: partition, key: key.map { Array($0.utf8) }, value: Array(value.utf8),
                  headers: headers)
    }
}

/// The broker's acknowledgement of one message.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}
