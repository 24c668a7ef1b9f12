import AsyncHTTPClient
import ServiceLifecycle

/// The backfiller's one HTTP client for REST history, shared by every repair worker, as a service whose
/// run ends by shutting the client down: at graceful shutdown, or when its group is cancelled. List it
/// before the services that use it: a group shuts its services down in reverse order, so it stops last.
public final class HistoryHTTPClient: Service, Sendable {
    public let client: HTTPClient

    /// A client for requests of at most `requestTimeout` (connect 10 s, read the timeout + 1 s, no
    /// redirects), with a connection per host for each of the `workers` (at least the default 8), so
    /// that workers never queue behind each other for a connection to the same venue.
    public init(requestTimeout: Duration, workers: Int = 8) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, workers)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(Int64(requestTimeout.components.seconds) + 1))
        configuration.redirectConfiguration = .disallow
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
