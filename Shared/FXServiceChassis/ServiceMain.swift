import ServiceLifecycle

/// The body of every service executable's `main`: resolve configuration, bootstrap logging and
/// metrics (the only place that does), run the service group.
public enum ServiceMain {
    /// - Parameter services: the role's own long-running services, built once logging and metrics exist.
    public static func run(role: ServiceRole, options: CommonOptions,
                           services: (ServiceSettings, Observability) throws -> [any Service] = { _, _ in [] }) async throws {
        let settings = try options.resolve(serviceName: role.name, defaultHTTPPort: role.defaultHTTPPort)
        let observability = Observability.bootstrap(settings)
        try await ServiceRunner.run(role: role, settings: settings, observability: observability,
                                    services: try services(settings, observability))
    }
}
