import CRdKafka

/// Builds an `rd_kafka_conf_t` from properties. Internal: ownership of the returned handle passes to
/// `rd_kafka_new` on success; on failure it is destroyed here.
enum RDKafkaConfig {
    /// Creates a configuration handle with every property set, or throws naming the bad key
    /// (never its value, which may be a secret).
    static func make(_ properties: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .configuration, message: "rd_kafka_conf_new failed")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(errorBuffer: errorBuffer)
                throw KafkaError(code: .configuration, message: "invalid librdkafka property '\(key)': \(reason)",
                                 context: ["key": key])
            }
        }
        return conf
    }
}
