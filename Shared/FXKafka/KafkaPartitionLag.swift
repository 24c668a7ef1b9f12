/// How far a consumer is behind on one assigned partition: `position` (the next offset it will hand
/// out, nil before its first message), `highWatermark` (the next offset to be written, as last seen by
/// its fetches) and `lag` (their difference; nil while either is unknown).
public struct KafkaPartitionLag: Sendable, Equatable {
    public var partition: KafkaTopicPartition
    public var position: Int64?
    public var highWatermark: Int64?

    public init(partition: KafkaTopicPartition, position: Int64?, highWatermark: Int64?) {
        self.partition = partition
        self.position = position
        self.highWatermark = highWatermark
    }

    public var lag: Int64? {
        guard let position, let highWatermark else { return nil }
        return max(0, highWatermark - position)
    }
}
