import CRdKafka
import Logging

/// Start offsets past a partition's end. Kafka answers a fetch there with "offset out of range" and
/// `auto.offset.reset` applies; some Kafka-compatible brokers (the local Tansu) answer with nothing, so
/// a consumer whose stored offset is past the end of a recreated topic (a broker with memory storage
/// restarted, a topic deleted and created again) would wait forever without a word. Such offsets are
/// replaced, with a warning, by where `auto.offset.reset` points: the beginning (`earliest`, the
/// consumers' default) or the end (`latest`).
struct PastEndOffsets {
    /// `auto.offset.reset` is `latest` (or `largest`/`end`).
    let resetToEnd: Bool

    init(properties: [String: String]) {
        resetToEnd = ["latest", "largest", "end"].contains(properties["auto.offset.reset"] ?? "earliest")
    }

    /// `offsets` with those past their partition's high watermark replaced. Asks the broker (a blocking
    /// round trip of at most `timeoutMs` per partition: call it on the consumer's poll thread, never on
    /// the cooperative pool); a partition it cannot ask about keeps its offset.
    func checked(_ offsets: [KafkaTopicPartition: Int64], handle: OpaquePointer, timeoutMs: Int32 = 5_000,
                 logger: Logger) -> [KafkaTopicPartition: Int64] {
        var result = offsets
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) where offset >= 0 {
            var low: Int64 = -1, high: Int64 = -1
            guard rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, timeoutMs)
                    == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0, offset > high else { continue }
            let start = resetToEnd ? high : max(0, low)
            logger.warning("start offset is past the partition's end (was the topic recreated?): starting from its \(resetToEnd ? "end" : "beginning")",
                           metadata: ["partition": .string(partition.description), "offset": .stringConvertible(offset),
                                      "high_watermark": .stringConvertible(high), "start": .stringConvertible(start)])
            result[partition] = start
        }
        return result
    }
}
