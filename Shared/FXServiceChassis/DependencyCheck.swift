/// One dependency a service cannot work without, checked by ``DependencyWatch`` until shutdown.
public protocol DependencyCheck: Sendable {
    /// The name in `/health/ready` and in `fx_dependency_up{dependency}`.
    var name: String { get }
    /// Whether the dependency is usable now, and a detail for `/health/ready`. Never throws: a failure
    /// is a not-ready result.
    func check() async -> DependencyStatus
    /// Releases the clients the check keeps between runs.
    func close() async
}

public struct DependencyStatus: Sendable, Equatable {
    public var ready: Bool
    public var detail: String
    public init(ready: Bool, detail: String) {
        self.ready = ready
        self.detail = detail
    }
}
