import DequeModule

/// The bookkeeping of ``PublishQueue`` as a value type kept behind its lock: items, the parked consumer
/// and the parked writers. Every mutation returns the continuations to resume, outside the lock.
struct PublishQueueState {
    typealias Waiter = CheckedContinuation<Void, Never>

    let capacity: Int
    private(set) var items = Deque<PublishItem>()
    private(set) var finished = false
    private var consumer: Waiter?
    /// Writers waiting for room, in arrival order, by id.
    private var writers: [(id: Int, waiter: Waiter)] = []
    private var nextWriterID = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Appends what fits (everything when `force`); returns the rest and the consumer to wake.
    mutating func push(_ batch: ArraySlice<PublishItem>, force: Bool) -> (rest: ArraySlice<PublishItem>, wake: Waiter?) {
        let room = force ? batch.count : max(0, capacity - items.count)
        let taken = batch.prefix(room)
        items.append(contentsOf: taken)
        var wake: Waiter?
        if !taken.isEmpty, let parked = consumer {
            consumer = nil
            wake = parked
        }
        return (batch.dropFirst(taken.count), wake)
    }

    enum TakeResult {
        case items([PublishItem], wakeWriters: [Waiter])
        case finished
        case empty
    }

    /// Up to `max` items; taking them makes room, so every parked writer is woken to try again.
    mutating func take(max: Int) -> TakeResult {
        guard !items.isEmpty else { return finished ? .finished : .empty }
        // Moved out one by one: no retain and release of each item's buffers.
        var batch: [PublishItem] = []
        batch.reserveCapacity(Swift.min(max, items.count))
        while batch.count < max, let item = items.popFirst() { batch.append(item) }
        defer { writers = [] }
        return .items(batch, wakeWriters: writers.map(\.waiter))
    }

    /// Parks the consumer unless items (or the end) are there: then it must not wait (returns false).
    mutating func parkConsumer(_ waiter: Waiter) -> Bool {
        guard items.isEmpty, !finished else { return false }
        consumer = waiter
        return true
    }

    mutating func newWriterID() -> Int {
        nextWriterID += 1
        return nextWriterID
    }

    /// Parks a writer until room is made, unless there is room now or the queue is finished.
    mutating func parkWriter(id: Int, _ waiter: Waiter) -> Bool {
        guard items.count >= capacity, !finished else { return false }
        writers.append((id, waiter))
        return true
    }

    /// The writer stops waiting (timeout or cancellation); its continuation, if still parked.
    mutating func unparkWriter(id: Int) -> Waiter? {
        guard let index = writers.firstIndex(where: { $0.id == id }) else { return nil }
        return writers.remove(at: index).waiter
    }

    /// No more pushes: wakes the consumer (to drain) and every writer (to give up).
    mutating func finish() -> [Waiter] {
        finished = true
        var wake = writers.map(\.waiter)
        writers = []
        if let parked = consumer {
            consumer = nil
            wake.append(parked)
        }
        return wake
    }
}
