import FXCore
import FXPostgres
import Logging
import ServiceLifecycle

extension PostgresConnection {
    /// Connects, retrying with capped backoff while the server does not answer (a service started before
    /// its database). Nil if the service is asked to stop first.
    public static func connectRetrying(_ configuration: PostgresConfiguration, logger: Logger) async -> PostgresConnection? {
        var backoff = Backoff(base: .milliseconds(200), cap: .seconds(5))
        while true {
            do { return try await PostgresConnection.connect(configuration, logger: logger) }
            catch { logger.warning("PostgreSQL not reachable yet: \(error)") }
            let wait = backoff.next()
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } } catch { return nil }
        }
    }
}
