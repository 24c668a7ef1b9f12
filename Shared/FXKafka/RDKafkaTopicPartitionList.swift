import CRdKafka

/// A thin owner of an `rd_kafka_topic_partition_list_t`. Internal; the list is destroyed with this value.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int = 1) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
    }

    convenience init(_ partitions: [KafkaTopicPartition], offsets: [KafkaTopicPartition: Int64] = [:]) {
        self.init(capacity: partitions.count)
        for partition in partitions {
            add(partition, offset: offsets[partition] ?? Int64(RD_KAFKA_OFFSET_INVALID))
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    func add(_ partition: KafkaTopicPartition, offset: Int64) {
        let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)
        element?.pointee.offset = offset
    }

    /// Reads a list owned by librdkafka (not destroyed here).
    static func partitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [(KafkaTopicPartition, Int64, rd_kafka_resp_err_t)] {
        guard let list else { return [] }
        var result: [(KafkaTopicPartition, Int64, rd_kafka_resp_err_t)] = []
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            result.append((KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                           element.offset, element.err))
        }
        return result
    }

    /// Sets offsets on a list owned by librdkafka (used during rebalance).
    static func setOffsets(_ offsets: [KafkaTopicPartition: Int64], on list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            let key = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
            if let offset = offsets[key] { list.pointee.elems[index].offset = offset }
        }
    }
}
