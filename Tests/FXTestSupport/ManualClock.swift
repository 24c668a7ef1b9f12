import Foundation
import Synchronization

/// A clock that moves only when a test moves it: a task sleeping on it wakes when ``advance(by:)`` or
/// ``advance(to:)`` reaches its deadline (or when it is cancelled, throwing `CancellationError`), never
/// because real time passed. Waits computed from it are exact, whatever the machine's load.
///
/// It also reads as a wall clock (``wallNanoseconds``: ns since the epoch, ``wallOrigin`` plus the time
/// advanced), for code that takes one next to its clock.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Sendable, CustomStringConvertible {
        /// Time since the clock's origin.
        public var offset: Duration

        public init(offset: Duration) {
            self.offset = offset
        }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "t+\(offset)" }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
        /// Sleeps cancelled before they were registered.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())
    /// The wall-clock reading (ns since the epoch) at the clock's origin.
    public let wallOrigin: Int64

    /// - Parameter wallOrigin: ns since the epoch at the origin; by default the real wall clock now,
    ///   truncated to the millisecond (so microsecond arithmetic on it stays exact).
    public init(wallOrigin: Int64 = Int64(Date().timeIntervalSince1970 * 1_000) * 1_000_000) {
        self.wallOrigin = wallOrigin
    }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// The wall clock at ``now``: ns since the epoch.
    public var wallNanoseconds: Int64 {
        let offset = now.offset.components
        return wallOrigin + offset.seconds * 1_000_000_000 + offset.attoseconds / 1_000_000_000
    }

    /// The wall clock at `instant`: ns since the epoch.
    public func wallNanoseconds(at instant: Instant) -> Int64 {
        let offset = instant.offset.components
        return wallOrigin + offset.seconds * 1_000_000_000 + offset.attoseconds / 1_000_000_000
    }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case wait, resume, cancel }
                let now = state.withLock { state -> Now in
                    if state.cancelled.remove(id) != nil { return .cancel }
                    if deadline <= state.now { return .resume }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return .wait
                }
                switch now {
                case .wait: break
                case .resume: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// How many tasks sleep on the clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline of a sleeping task.
    public var nextDeadline: Instant? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    /// Moves the clock forward by `duration`, waking every task whose deadline it reaches.
    public func advance(by duration: Duration) {
        advance(to: now.advanced(by: duration))
    }

    /// Moves the clock to `instant` (never backwards), waking every task whose deadline it reaches.
    public func advance(to instant: Instant) {
        let woken = state.withLock { state -> [Sleeper] in
            state.now = max(state.now, instant)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return Array(due.values)
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Waits (in real time, up to `timeout`) until at least `count` tasks sleep on the clock: the point
    /// where a test knows the code under test has reached its wait. Throws when they never do.
    public func waitForSleepers(_ count: Int = 1, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while sleeperCount < count {
            guard ContinuousClock.now < deadline else { throw TimeoutError(sleepers: sleeperCount, expected: count) }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    public struct TimeoutError: Error, CustomStringConvertible {
        public var sleepers: Int
        public var expected: Int
        public var description: String { "ManualClock: \(sleepers) sleepers, expected \(expected)" }
    }
}
