import CRdKafka

/// Topic names by librdkafka topic handle, so per-message paths (delivery reports, consumed messages)
/// do not copy the same C string again and again. Owned by one thread or kept behind its owner's lock.
struct RDKafkaTopicNames {
    private var names: [OpaquePointer: String] = [:]
    /// The last topic asked for: consecutive messages mostly share one, and a pointer compare costs less
    /// than hashing it.
    private var last: (topic: OpaquePointer, name: String)?

    mutating func name(of topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        if let last, last.topic == topic { return last.name }
        let name: String
        if let known = names[topic] {
            name = known
        } else {
            name = String(cString: rd_kafka_topic_name(topic))
            names[topic] = name
        }
        last = (topic, name)
        return name
    }
}

extension Duration {
    /// The duration as librdkafka's `int timeout_ms`, clamped to Int32.
    var rdkafkaMilliseconds: Int32 {
        Int32(clamping: components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
