import Synchronization

/// Wakes one waiting task: ``ring()`` resumes the task parked in ``wait()`` (or, when none is parked,
/// lets the next ``wait()`` return at once: a ring is never lost, repeated rings collapse into one).
/// For loops that must sleep until there is work, without polling. One waiter at a time.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        var waiterID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung (or at once if rung since the last wait), or when the task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.waiterID += 1
            return state.waiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    precondition(state.waiter == nil, "Doorbell supports one waiter")
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard state.waiterID == id, let waiter = state.waiter else { return nil }
                state.waiter = nil
                return waiter
            }
            waiter?.resume()
        }
    }

    /// Like ``wait()``, but returns after `timeout` at the latest.
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
