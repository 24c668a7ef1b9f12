import CRdKafka

/// Logical start offsets for ``KafkaRebalanceHandler/partitionsAssigned`` (librdkafka resolves them
/// against the partition when it starts fetching).
public enum KafkaOffset {
    /// The partition's last `count` messages (`RD_KAFKA_OFFSET_TAIL(count)`): from `count` before its end,
    /// or from its start when it holds fewer.
    public static func tail(_ count: Int64) -> Int64 {
        Int64(RD_KAFKA_OFFSET_TAIL_BASE) - max(0, count)
    }

    /// The partition's first message (`RD_KAFKA_OFFSET_BEGINNING`).
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
}
