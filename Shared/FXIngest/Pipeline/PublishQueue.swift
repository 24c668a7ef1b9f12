import DequeModule
import Synchronization

/// The bounded queue between the connections (many producers) and the Kafka publisher (one consumer).
///
/// When it is full, ``push(_:maxWait:)`` waits (the connection stops reading its socket, so TCP pushes
/// back on the provider) for at most `maxWait`; what still finds no room is returned to the caller,
/// which records it as a `delivery` gap. Memory stays bounded at `capacity` items.
public final class PublishQueue: Sendable {
    private struct State {
        var items = Deque<PublishItem>()
        var consumer: CheckedContinuation<Void, Never>?
        var finished = false
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { state.withLock { $0.items.count } }

    /// Appends what fits now; returns the rest.
    private func tryPush(_ items: ArraySlice<PublishItem>, force: Bool) -> ArraySlice<PublishItem> {
        let (rest, consumer) = state.withLock { state -> (ArraySlice<PublishItem>, CheckedContinuation<Void, Never>?) in
            let room = force ? items.count : max(0, capacity - state.items.count)
            let taken = items.prefix(room)
            state.items.append(contentsOf: taken)
            let consumer = taken.isEmpty ? nil : state.consumer
            if consumer != nil { state.consumer = nil }
            return (items.dropFirst(taken.count), consumer)
        }
        consumer?.resume()
        return rest
    }

    /// Queues `items` in order, waiting up to `maxWait` for room. Returns the items that were dropped
    /// (empty unless the queue stayed full for the whole wait or the task was cancelled).
    public func push(_ items: [PublishItem], maxWait: Duration) async -> [PublishItem] {
        var rest = tryPush(items[...], force: false)
        guard !rest.isEmpty else { return [] }
        let deadline = ContinuousClock.now + maxWait
        while !rest.isEmpty, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(2)) } catch { break }
            rest = tryPush(rest, force: false)
        }
        return Array(rest)
    }

    /// Queues control traffic (gap events, health) even when full: it is small and must not be lost.
    public func pushUrgent(_ items: [PublishItem]) {
        _ = tryPush(items[...], force: true)
    }

    /// The next items, up to `max`, waiting while the queue is empty. nil once finished and drained.
    /// One consumer only.
    public func next(max: Int) async -> [PublishItem]? {
        while true {
            let taken = state.withLock { state -> [PublishItem]?? in
                if !state.items.isEmpty {
                    let count = Swift.min(max, state.items.count)
                    let batch = Array(state.items.prefix(count))
                    state.items.removeFirst(count)
                    return .some(batch)
                }
                return state.finished ? .some(nil) : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.items.isEmpty || state.finished { return true }
                    state.consumer = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// No more pushes: the consumer drains what is queued, then gets nil.
    public func finish() {
        let consumer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }
}
