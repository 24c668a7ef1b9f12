import Logging
import ServiceLifecycle

/// Runs a service's long-running parts in one `ServiceGroup`: the status HTTP server, the dependency
/// watch and the role's own services. SIGTERM and SIGINT shut the group down gracefully, in reverse
/// order of `services` (so producers listed first flush last).
public enum ServiceRunner {
    public static func run(role: ServiceRole, settings: ServiceSettings, observability: Observability,
                           services: [any Service] = []) async throws {
        let logger = observability.logger
        logger.info("starting \(role.name)", metadata: settings.redactedSummary)
        if let pending = role.pendingWork {
            logger.notice("\(role.name): \(pending)")
        }
        let readiness = Readiness()
        let watch = DependencyWatch(
            configuration: .init(kafka: settings.kafka, requiredTopics: role.requiredTopics(settings.topics),
                                 database: role.usesDatabase ? settings.database : nil,
                                 migrateOnStart: settings.migrateOnStart),
            readiness: readiness, logger: logger)
        let http = StatusHTTPServer.make(host: settings.httpHost, port: settings.httpPort, registry: observability.registry,
                                         readiness: readiness, serviceName: role.name, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) } + [.init(service: watch), .init(service: http)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("\(role.name) stopped")
    }
}
