import Logging
import Metrics
import Prometheus

/// Logging and metrics for one process. ``bootstrap(_:)`` installs them process-wide and is called
/// from `main` only; libraries receive the logger and registry by injection.
public struct Observability: Sendable {
    public let logger: Logger
    public let registry: PrometheusCollectorRegistry

    public init(logger: Logger, registry: PrometheusCollectorRegistry) {
        self.logger = logger
        self.registry = registry
    }

    /// Bootstraps `LoggingSystem` (human or JSON lines on stderr) and `MetricsSystem` (Prometheus, each
    /// metric with its help line from `metricHelp`).
    public static func bootstrap(_ settings: ServiceSettings, metricHelp: [String: String] = [:]) -> Observability {
        let format = settings.logFormat
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            switch format {
            case .human:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(DocumentedMetricsFactory(registry: registry, help: MetricHelp(metricHelp)))
        var logger = Logger(label: "fxstream.\(settings.serviceName)")
        logger[metadataKey: "instance"] = .string(settings.instanceID)
        return Observability(logger: logger, registry: registry)
    }
}
