import CRdKafka
import Logging

/// Start offsets outside a partition's log, checked when partitions are assigned.
///
/// - **Past the end.** Kafka answers a fetch there with "offset out of range" and `auto.offset.reset`
///   applies; some Kafka-compatible brokers (the local Tansu) answer with nothing, so a consumer whose
///   stored offset is past the end of a recreated topic (a broker with memory storage restarted, a topic
///   deleted and created again) would wait forever without a word. Such offsets are replaced, with a
///   warning, by where `auto.offset.reset` points: the beginning (`earliest`, the consumers' default) or
///   the end (`latest`).
/// - **Below the log start.** Retention deleted messages this consumer never read: it starts at the log
///   start, and the skipped range is reported (``KafkaLogStartSkip``, a warning) so the loss is not silent.
struct PastEndOffsets {
    /// `auto.offset.reset` is `latest` (or `largest`/`end`).
    let resetToEnd: Bool

    init(properties: [String: String]) {
        resetToEnd = ["latest", "largest", "end"].contains(properties["auto.offset.reset"] ?? "earliest")
    }

    struct Checked {
        var offsets: [KafkaTopicPartition: Int64]
        var belowLogStart: [KafkaLogStartSkip]
    }

    /// `offsets` with those past their partition's high watermark, or below its low watermark, replaced.
    /// Asks the broker (a blocking round trip of at most `timeoutMs` per partition: call it on the
    /// consumer's poll thread, never on the cooperative pool); a partition it cannot ask about keeps its offset.
    func checked(_ offsets: [KafkaTopicPartition: Int64], handle: OpaquePointer, timeoutMs: Int32 = 5_000,
                 logger: Logger) -> Checked {
        var result = Checked(offsets: offsets, belowLogStart: [])
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) where offset >= 0 {
            var low: Int64 = -1, high: Int64 = -1
            guard rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, timeoutMs)
                    == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { continue }
            if offset > high {
                let start = resetToEnd ? high : max(0, low)
                logger.warning("start offset is past the partition's end (was the topic recreated?): starting from its \(resetToEnd ? "end" : "beginning")",
                               metadata: ["partition": .string(partition.description), "offset": .stringConvertible(offset),
                                          "high_watermark": .stringConvertible(high), "start": .stringConvertible(start)])
                result.offsets[partition] = start
            } else if offset < low {
                logger.warning("start offset is below the partition's log start: retention deleted messages never read; starting at the log start",
                               metadata: ["partition": .string(partition.description), "offset": .stringConvertible(offset),
                                          "log_start": .stringConvertible(low), "messages_lost": .stringConvertible(low - offset)])
                result.offsets[partition] = low
                result.belowLogStart.append(KafkaLogStartSkip(partition: partition, from: offset, to: low))
            }
        }
        return result
    }

    /// The group's committed offsets of `partitions` (a blocking round trip: poll thread only); partitions
    /// without one are left out.
    static func committed(_ partitions: [KafkaTopicPartition], handle: OpaquePointer, timeoutMs: Int32 = 5_000) -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(partitions)
        guard rd_kafka_committed(handle, list.pointer, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        var result: [KafkaTopicPartition: Int64] = [:]
        for (partition, offset, error) in RDKafkaTopicPartitionList.partitions(of: list.pointer)
        where error == RD_KAFKA_RESP_ERR_NO_ERROR && offset >= 0 {
            result[partition] = offset
        }
        return result
    }
}

/// Messages of a partition deleted by retention before this consumer read them: offsets `from` up to
/// (not including) `to`, the log start it resumed at.
public struct KafkaLogStartSkip: Sendable, Equatable {
    public var partition: KafkaTopicPartition
    public var from: Int64
    public var to: Int64
    public var lost: Int64 { to - from }

    public init(partition: KafkaTopicPartition, from: Int64, to: Int64) {
        self.partition = partition
        self.from = from
        self.to = to
    }
}
