import Hummingbird
import FXConfiguration
import Logging
import ServiceLifecycle

/// What a service executable declares; ``ServiceMain`` does the rest (flags, environment and file
/// into settings, `--help`, `--print-config`, exit status 78 on bad configuration, logging and
/// metrics bootstrap, the service group).
public protocol ServiceDefinition {
    associatedtype Configuration: Sendable
    static var role: ServiceRole { get }
    /// The configuration sections beyond ``ServiceSettings`` (their flags, help and documentation).
    static var sections: [any ConfigSection.Type] { get }
    /// Resolves the role's own sections.
    static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> Configuration
    /// The role's dependency checks (beyond Kafka) and long-running services, built once logging and
    /// metrics exist.
    static func parts(_ configuration: Configuration, context: ServiceContext) throws -> ServiceParts
}

/// What a role's services are built from.
public struct ServiceContext: Sendable {
    public let settings: ServiceSettings
    public let observability: Observability
    public var logger: Logger { observability.logger }
}

/// A role's contribution to its process: dependency checks and services, started in this order and
/// stopped in the reverse one.
public struct ServiceParts: Sendable {
    public var checks: [any DependencyCheck]
    public var services: [any Service]
    /// The role's running totals, shown in the `/health/live` and `/health/ready` bodies: the same
    /// values its heartbeats and `/metrics` report.
    public var counters: (@Sendable () -> [(String, Int64)])?
    /// Extra routes on the service's HTTP server (next to `/metrics` and `/health/*`), e.g. the monitor's API.
    public var routes: (@Sendable (Router<BasicRequestContext>) -> Void)?

    public init(checks: [any DependencyCheck] = [], services: [any Service] = [],
                counters: (@Sendable () -> [(String, Int64)])? = nil,
                routes: (@Sendable (Router<BasicRequestContext>) -> Void)? = nil) {
        self.checks = checks
        self.services = services
        self.counters = counters
        self.routes = routes
    }
}
