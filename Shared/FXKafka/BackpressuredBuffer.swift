import Foundation

/// A bounded hand-off from one producing thread to one async consumer.
///
/// The producing thread (a poll loop, never the cooperative pool) blocks in ``push(_:)`` while the buffer
/// is full, which stops it from polling librdkafka for more: librdkafka's own bounded prefetch
/// (`queued.max.messages.kbytes`) then holds the rest. The consumer side never blocks a thread; it suspends.
final class BackpressuredBuffer<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    // All state below is guarded by `condition`.
    private var elements: [Element] = []
    private var head = 0
    private var waiter: CheckedContinuation<Element?, Error>?
    private var finished = false
    private var failure: Error?

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    private var count: Int { elements.count - head }

    /// Hands `element` over, blocking the calling thread while the buffer is full.
    /// Returns false, dropping the element, once the buffer is finished or `shouldStop()` turns true.
    func push(_ element: Element, shouldStop: () -> Bool) -> Bool {
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
            condition.unlock()
            waiter.resume(returning: element)
            return true
        }
        elements.append(element)
        condition.unlock()
        return true
    }

    /// Ends the sequence after the buffered elements, with `error` if given.
    func finish(error: Error? = nil) {
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

    /// The next element, suspending while none is buffered; nil once finished and drained.
    func next() async throws -> Element? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, Error>) in
                condition.lock()
                if count > 0 {
                    let element = elements[head]
                    head += 1
                    if head > 1024, head * 2 > elements.count {
                        elements.removeFirst(head)
                        head = 0
                    }
                    condition.signal()
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
                    condition.signal()
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
}
