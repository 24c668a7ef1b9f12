/// The consumer's events as an AsyncSequence with backpressure: while the caller does not ask for the
/// next event, at most `bufferCapacity` events wait, and the poll thread stops fetching more.
/// One iterator at a time.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent
    let buffer: BackpressuredBuffer<KafkaConsumerEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: BackpressuredBuffer<KafkaConsumerEvent>
        /// Events taken from the shared buffer in one go, handed out one by one.
        var local: [KafkaConsumerEvent] = []
        var position = 0

        public mutating func next() async throws -> KafkaConsumerEvent? {
            if position == local.count {
                local = try await buffer.nextBatch()
                position = 0
                if local.isEmpty { return nil }
            }
            defer { position += 1 }
            return local[position]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
