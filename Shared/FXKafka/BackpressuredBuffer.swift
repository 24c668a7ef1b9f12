import Foundation

/// A bounded hand-off from one producing thread to one async consumer.
///
/// The producing thread (a poll loop, never the cooperative pool) blocks in ``push(contentsOf:shouldStop:)`` while the buffer
/// is full, which stops it from polling librdkafka for more: librdkafka's own bounded prefetch
/// (`queued.max.messages.kbytes`) then holds the rest. The consumer side never blocks a thread; it suspends.
final class BackpressuredBuffer<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    // All state below is guarded by `condition`.
    private var elements: [Element] = []
    private var head = 0
    private var waiter: CheckedContinuation<Element?, any Error>?
    private var finished = false
    private var failure: (any Error)?

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    private var count: Int { elements.count - head }

    /// Hands several elements over at once (the buffer may then exceed its capacity by this batch),
    /// blocking while it is full. Returns false, dropping them, once finished or stopped.
    func push(contentsOf batch: [Element], shouldStop: () -> Bool) -> Bool {
        guard let first = batch.first else { return true }
        condition.lock()
        while !finished, waiter == nil, count >= capacity {
            if shouldStop() {
                condition.unlock()
                return false
            }
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
        }
        if finished {
            condition.unlock()
            return false
        }
        if let waiter {
            self.waiter = nil
            elements.append(contentsOf: batch.dropFirst())
            condition.unlock()
            waiter.resume(returning: first)
            return true
        }
        elements.append(contentsOf: batch)
        condition.unlock()
        return true
    }

    /// ``push(contentsOf:shouldStop:)`` that takes the batch's elements, leaving `batch` empty (with
    /// capacity): into an empty buffer they move with no copy of each element.
    func push(taking batch: inout [Element], shouldStop: () -> Bool) -> Bool {
        condition.lock()
        let moved = !finished && waiter == nil && count == 0 && head == 0
        if moved { swap(&elements, &batch) }
        condition.unlock()
        if moved { return true }
        defer { batch.removeAll(keepingCapacity: true) }
        return push(contentsOf: batch, shouldStop: shouldStop)
    }

    /// Ends the sequence after the buffered elements, with `error` if given.
    func finish(error: (any Error)? = nil) {
        condition.lock()
        guard !finished else {
            condition.unlock()
            return
        }
        finished = true
        failure = error
        let waiter = self.waiter
        self.waiter = nil
        condition.broadcast()
        condition.unlock()
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    /// Every buffered element (at least one), suspending while none is buffered; empty once finished
    /// and drained. Taking all at once keeps the lock traffic per element low.
    func nextBatch() async throws -> [Element] {
        if let batch = tryTakeAll() { return batch }
        guard let first = try await next() else { return [] }
        return [first]
    }

    private func tryTakeAll() -> [Element]? {
        condition.lock()
        defer { condition.unlock() }
        return count > 0 ? takeAllLocked() : nil
    }

    private func tryPop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        return count > 0 ? popLocked() : nil
    }

    private func takeAllLocked() -> [Element] {
        let batch = head == 0 ? elements : Array(elements[head...])
        elements.removeAll(keepingCapacity: true)
        head = 0
        condition.broadcast()
        return batch
    }

    /// The next element, suspending while none is buffered; nil once finished and drained.
    func next() async throws -> Element? {
        // Fast path: no continuation when an element is ready.
        if let element = tryPop() { return element }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, any Error>) in
                condition.lock()
                if count > 0 {
                    let element = popLocked()
                    condition.unlock()
                    continuation.resume(returning: element)
                } else if finished {
                    let failure = self.failure
                    self.failure = nil
                    condition.unlock()
                    if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: nil) }
                } else if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    precondition(waiter == nil, "BackpressuredBuffer supports one consumer at a time")
                    waiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            condition.lock()
            let waiter = self.waiter
            self.waiter = nil
            condition.unlock()
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func popLocked() -> Element {
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > elements.count {
            elements.removeFirst(head)
            head = 0
        }
        condition.signal()
        return element
    }
}
