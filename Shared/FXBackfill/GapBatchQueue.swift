import FXCore
import FXKafka
import Synchronization

/// Between the gap intake's consumer and its recorder: ``fill(from:)`` reads the consumer's messages,
/// ``next()`` hands over everything that arrived while the previous batch was being recorded (at most
/// `capacity`), so a burst of events is recorded in few transactions. While `capacity` messages wait,
/// the filler stops reading (the consumer's own buffer then applies backpressure). One filler, one taker.
final class GapBatchQueue: Sendable {
    /// Why no more messages will come.
    enum End: Sendable {
        /// The stream finished (the consumer stopped).
        case finished
        /// The stream failed (a fatal consumer error).
        case failed(any Error)
        /// The taker was cancelled (shutdown).
        case cancelled
    }

    enum Batch: Sendable {
        case messages([KafkaConsumerMessage])
        /// Every message was handed over and the stream ended.
        case ended(End)
    }

    private struct State {
        var messages: [KafkaConsumerMessage] = []
        var end: End?

        mutating func take(upTo capacity: Int) -> Batch? {
            if !messages.isEmpty {
                let batch = Array(messages.prefix(capacity))
                messages.removeFirst(batch.count)
                return .messages(batch)
            }
            return end.map { .ended($0) }
        }
    }

    let capacity: Int
    private let state = Mutex(State())
    private let arrived = Doorbell()
    private let drained = Doorbell()

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Reads `events` (the consumer's) until they end, fail (the failure is kept, as thrown, for ``next()``
    /// to hand over), or the task is cancelled.
    func fill<Events: AsyncSequence>(from events: Events) async where Events.Element == KafkaConsumerEvent {
        do {
            for try await event in events {
                guard case .message(let message) = event else { continue }
                state.withLock { $0.messages.append(message) }
                arrived.ring()
                while state.withLock({ $0.messages.count >= capacity }), !Task.isCancelled { await drained.wait() }
                if Task.isCancelled { return finish(.cancelled) }
            }
            finish(Task.isCancelled ? .cancelled : .finished)
        } catch {
            finish(Task.isCancelled ? .cancelled : .failed(error))
        }
    }

    /// The messages waiting (waits for at least one), or how the stream ended once none is left;
    /// `.ended(.cancelled)` when the calling task is cancelled.
    func next() async -> Batch {
        while true {
            if let batch = state.withLock({ $0.take(upTo: capacity) }) {
                drained.ring()
                return batch
            }
            if Task.isCancelled { return .ended(.cancelled) }
            await arrived.wait()
        }
    }

    private func finish(_ end: End) {
        state.withLock { if $0.end == nil { $0.end = end } }
        arrived.ring()
    }
}
