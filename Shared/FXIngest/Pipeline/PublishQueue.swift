import Synchronization

/// The bounded queue between the connections (many producers) and the Kafka publisher (one consumer).
///
/// When it is full, ``push(_:maxWait:)`` parks the writer until the publisher takes items (the
/// connection stops reading its socket, so TCP pushes back on the provider), for at most `maxWait`;
/// what still finds no room is returned to the caller, which records it as a `delivery` gap. Memory
/// stays bounded at `capacity` items. Nothing polls: writers and the consumer park on continuations.
public final class PublishQueue: Sendable {
    private let state: Mutex<PublishQueueState>
    public let capacity: Int

    public init(capacity: Int) {
        let state = PublishQueueState(capacity: capacity)
        self.capacity = state.capacity
        self.state = Mutex(state)
    }

    public var count: Int { state.withLock { $0.items.count } }

    private func tryPush(_ items: ArraySlice<PublishItem>, force: Bool) -> ArraySlice<PublishItem> {
        let (rest, wake) = state.withLock { $0.push(items, force: force) }
        wake?.resume()
        return rest
    }

    /// Queues what fits of `items`, in order, without waiting; returns the rest (empty when all fit):
    /// give it to ``push(_:maxWait:)``. The common case (room) needs no async call.
    public func pushWithoutWaiting(_ items: [PublishItem]) -> ArraySlice<PublishItem> {
        tryPush(items[...], force: false)
    }

    /// Queues `items` in order, waiting up to `maxWait` for room. Returns the items that were dropped
    /// (empty unless the queue stayed full for the whole wait, was finished, or the task was cancelled).
    public func push(_ items: [PublishItem], maxWait: Duration) async -> [PublishItem] {
        await push(items[...], maxWait: maxWait)
    }

    /// The same for a slice (e.g. what ``pushWithoutWaiting(_:)`` left).
    public func push(_ items: ArraySlice<PublishItem>, maxWait: Duration) async -> [PublishItem] {
        var rest = tryPush(items, force: false)
        guard !rest.isEmpty else { return [] }
        let deadline = ContinuousClock.now + maxWait
        while !rest.isEmpty, !Task.isCancelled, ContinuousClock.now < deadline {
            await waitForRoom(until: deadline)
            if state.withLock({ $0.finished }) { break }
            rest = tryPush(rest, force: false)
        }
        return Array(rest)
    }

    /// Parks until the consumer takes items, the queue finishes, the deadline passes or the task is
    /// cancelled.
    private func waitForRoom(until deadline: ContinuousClock.Instant) async {
        let id = state.withLock { $0.newWriterID() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let parked = self.state.withLock { Task.isCancelled ? false : $0.parkWriter(id: id, continuation) }
                        if !parked { continuation.resume() }
                    }
                } onCancel: {
                    self.state.withLock { $0.unparkWriter(id: id) }?.resume()
                }
            }
            group.addTask { try? await Task.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Queues control traffic (gap events, health) even when full: it is small and must not be lost.
    public func pushUrgent(_ items: [PublishItem]) {
        _ = tryPush(items[...], force: true)
    }

    /// The next items, up to `max`, waiting while the queue is empty. nil once finished and drained.
    /// One consumer only.
    public func next(max: Int) async -> [PublishItem]? {
        while true {
            switch state.withLock({ $0.take(max: max) }) {
            case .items(let batch, let writers):
                for writer in writers { writer.resume() }
                return batch
            case .finished:
                return nil
            case .empty:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    if !state.withLock({ $0.parkConsumer(continuation) }) { continuation.resume() }
                }
            }
        }
    }

    /// Everything queued now, without waiting (a replay drains the queue after each record).
    public func takeAvailable() -> [PublishItem] {
        guard case .items(let batch, let writers) = state.withLock({ $0.take(max: Int.max) }) else { return [] }
        for writer in writers { writer.resume() }
        return batch
    }

    /// No more pushes: the consumer drains what is queued, then gets nil; waiting writers give up.
    public func finish() {
        for waiter in state.withLock({ $0.finish() }) { waiter.resume() }
    }
}
