import Synchronization

/// Whether each dependency of a service is usable; `/health/ready` answers 200 only when all are.
public final class Readiness: Sendable {
    public struct Check: Sendable, Equatable {
        public var ready: Bool
        public var detail: String
    }

    private let checks = Mutex<[String: Check]>([:])

    public init() {}

    /// Declares a dependency, not ready until ``set(_:ready:detail:)`` says so.
    public func register(_ name: String, detail: String = "not checked yet") {
        checks.withLock { $0[name] = $0[name] ?? Check(ready: false, detail: detail) }
    }

    public func set(_ name: String, ready: Bool, detail: String) {
        checks.withLock { $0[name] = Check(ready: ready, detail: detail) }
    }

    public var snapshot: [String: Check] { checks.withLock { $0 } }

    /// True when every registered dependency is ready (and at least one is registered).
    public var isReady: Bool {
        let all = snapshot
        return !all.isEmpty && all.values.allSatisfy(\.ready)
    }
}
