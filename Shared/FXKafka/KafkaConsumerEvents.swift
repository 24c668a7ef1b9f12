/// The consumer's events as an AsyncSequence with backpressure: while the caller does not ask for the
/// next event, at most `bufferCapacity` events wait, and the poll thread stops fetching more.
/// One iterator at a time.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent
    let buffer: BackpressuredBuffer<KafkaConsumerEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: BackpressuredBuffer<KafkaConsumerEvent>
        public mutating func next() async throws -> KafkaConsumerEvent? {
            try await buffer.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
