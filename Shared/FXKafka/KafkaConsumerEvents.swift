/// The consumer's events as an AsyncSequence with backpressure: while the caller does not ask for the
/// next event, at most `bufferCapacity` events wait, and the poll thread stops fetching more.
/// One iterator at a time.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent
    let buffer: BackpressuredBuffer<KafkaConsumerEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: BackpressuredBuffer<KafkaConsumerEvent>
        /// Events taken from the shared buffer in one go, in reverse order, handed out one by one from the
        /// end: `popLast` moves each event out (no copy of its message's references, no release later).
        var local: [KafkaConsumerEvent] = []

        public mutating func next() async throws -> KafkaConsumerEvent? {
            if local.isEmpty {
                local = try await buffer.nextBatch()
                if local.isEmpty { return nil }
                local.reverse()
            }
            return local.popLast()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
