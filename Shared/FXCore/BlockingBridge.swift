import Dispatch
import Synchronization

/// Runs async work from a thread of our own (a poll loop) and blocks that thread until it finishes.
/// Never call this from Swift's cooperative pool. The work runs in an unstructured task: it is not
/// cancelled with its caller, so it must end on its own (a timeout, a signal the caller controls).
public enum BlockingBridge {
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}
