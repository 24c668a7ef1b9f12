import Logging
import Metrics
import ServiceLifecycle

/// Runs each ``DependencyCheck`` until shutdown and publishes the results to ``Readiness`` and to the
/// gauge `fx_dependency_up{dependency}` (1 up, 0 down). The first checks run at once; later ones every
/// `interval`. A failing dependency is retried on the next tick, so a service started before its
/// broker or database becomes ready without a restart.
public final class DependencyWatch: Service, Sendable {
    private let checks: [any DependencyCheck]
    private let readiness: Readiness
    private let interval: Duration
    private let logger: Logger

    public init(checks: [any DependencyCheck], readiness: Readiness, interval: Duration = .seconds(5), logger: Logger) {
        self.checks = checks
        self.readiness = readiness
        self.interval = interval
        self.logger = logger
        for check in checks { readiness.register(check.name) }
    }

    public func run() async throws {
        let gauges = checks.map { Gauge(label: "fx_dependency_up", dimensions: [("dependency", $0.name)]) }
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            for (check, gauge) in zip(checks, gauges) {
                update(check.name, await check.check(), gauge: gauge)
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
        for check in checks { await check.close() }
    }

    private func update(_ name: String, _ status: DependencyStatus, gauge: Gauge) {
        let previous = readiness.snapshot[name]
        readiness.set(name, ready: status.ready, detail: status.detail)
        gauge.record(status.ready ? 1 : 0)
        if previous?.ready != status.ready || previous == nil || previous?.detail == "not checked yet" {
            if status.ready { logger.info("dependency ready", metadata: ["dependency": .string(name)]) }
            else { logger.warning("dependency not ready: \(status.detail)", metadata: ["dependency": .string(name)]) }
        }
    }
}
