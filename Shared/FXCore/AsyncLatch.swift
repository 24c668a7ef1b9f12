import Synchronization

/// A one-shot signal carrying a value: ``wait()`` suspends until ``open(_:)`` (or returns at once if it
/// already happened); a cancelled waiter throws `CancellationError`. No polling.
public final class AsyncLatch<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [Int: CheckedContinuation<Value, any Error>] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private enum Registration {
        case open(Value)
        case cancelled
        case waiting
    }

    private let state = Mutex(State())

    public init() {}

    public var isOpen: Bool { state.withLock { $0.value != nil } }

    /// The value, once opened.
    public func wait() async throws -> Value {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let registration = state.withLock { state -> Registration in
                    if let value = state.value { return .open(value) }
                    if state.cancelled.remove(id) != nil { return .cancelled }
                    state.waiters[id] = continuation
                    return .waiting
                }
                switch registration {
                case .open(let value): continuation.resume(returning: value)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.value == nil { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Opens the latch with `value` (the first call wins; later ones are ignored). Returns whether
    /// this call opened it.
    @discardableResult
    public func open(_ value: Value) -> Bool {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>]? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }
}
