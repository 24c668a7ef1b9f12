import Logging
import ServiceLifecycle

/// Runs services in a group until `body` returns, then shuts them down gracefully (in reverse order).
/// A service that returns early (e.g. a client the body shut down) ends the group gracefully.
public func withServices<T>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    let logger = TestEnvironment.logger("group")
    let group = ServiceGroup(configuration: .init(
        services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) }, logger: logger))
    let task = Task { try await group.run() }
    do {
        let result = try await body()
        await group.triggerGracefulShutdown()
        try await task.value
        return result
    } catch {
        await group.triggerGracefulShutdown()
        _ = await task.result
        throw error
    }
}

/// Runs one service (a Kafka client, say) while `body` runs, then shuts it down gracefully.
public func withRunning<S: Service, T>(_ service: S, _ body: (S) async throws -> T) async throws -> T {
    try await withServices([service]) { try await body(service) }
}
