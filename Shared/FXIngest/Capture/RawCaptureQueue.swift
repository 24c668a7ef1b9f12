import DequeModule
import FXKafka
import Synchronization

/// The raw capture's bounded buffer between the connections (many writers) and its producer (one
/// reader). Writers never wait: ``offer(_:)`` refuses a message when the buffer holds `capacityBytes`
/// (frame bytes) or `capacityMessages` already, and the caller counts the loss. The reader parks until
/// messages arrive or the buffer is finished.
final class RawCaptureQueue: Sendable {
    private struct State {
        var messages = Deque<KafkaProducerMessage>()
        var bytes = 0
        var finished = false
        var reader: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let capacityBytes: Int
    let capacityMessages: Int

    init(capacityBytes: Int, capacityMessages: Int) {
        self.capacityBytes = max(1, capacityBytes)
        self.capacityMessages = max(1, capacityMessages)
    }

    /// Queues `message` if there is room (and the buffer is not finished); false otherwise.
    func offer(_ message: KafkaProducerMessage) -> Bool {
        let size = message.value.count
        let (accepted, reader) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.finished, state.messages.count < capacityMessages,
                  state.bytes == 0 || state.bytes + size <= capacityBytes else { return (false, nil) }
            state.messages.append(message)
            state.bytes += size
            defer { state.reader = nil }
            return (true, state.reader)
        }
        reader?.resume()
        return accepted
    }

    var count: Int { state.withLock { $0.messages.count } }

    /// Up to `max` messages, waiting while the buffer is empty; nil once it is finished and drained.
    func next(max: Int) async -> [KafkaProducerMessage]? {
        while true {
            enum Outcome { case batch([KafkaProducerMessage]), finished, empty }
            let outcome = state.withLock { state -> Outcome in
                if state.messages.isEmpty { return state.finished ? .finished : .empty }
                let take = min(max, state.messages.count)
                let batch = Array(state.messages.prefix(take))
                state.messages.removeFirst(take)
                state.bytes -= batch.reduce(0) { $0 + $1.value.count }
                return .batch(batch)
            }
            switch outcome {
            case .batch(let batch): return batch
            case .finished: return nil
            case .empty:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let parked = state.withLock { state -> Bool in
                        guard state.messages.isEmpty, !state.finished else { return false }
                        state.reader = continuation
                        return true
                    }
                    if !parked { continuation.resume() }
                }
            }
        }
    }

    /// No more offers: the reader drains what is queued, then gets nil.
    func finish() {
        let reader = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume()
    }
}
