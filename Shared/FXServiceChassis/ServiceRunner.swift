import Logging
import ServiceLifecycle

/// Runs a service's long-running parts in one `ServiceGroup`: the role's services, the dependency
/// watch and the status HTTP server. SIGTERM and SIGINT shut the group down gracefully, in reverse
/// order (the role's services, listed first, stop last, after the HTTP server stops answering).
public enum ServiceRunner {
    public static func run(role: ServiceRole, settings: ServiceSettings, observability: Observability,
                           parts: ServiceParts) async throws {
        let logger = observability.logger
        logger.info("starting \(role.name)", metadata: settings.redactedSummary)
        let readiness = Readiness()
        let kafka = KafkaDependencyCheck(configuration: settings.kafka, requiredTopics: role.requiredTopics(settings.topics), logger: logger)
        let watch = DependencyWatch(checks: [kafka] + parts.checks, readiness: readiness, logger: logger)
        let http = StatusHTTPServer.make(host: settings.httpHost, port: settings.httpPort, registry: observability.registry,
                                         readiness: readiness, serviceName: role.name,
                                         counters: parts.counters, routes: parts.routes, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: parts.services.map { .init(service: $0) } + [.init(service: watch), .init(service: http)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("\(role.name) stopped")
    }
}
