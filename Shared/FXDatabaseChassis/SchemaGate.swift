import FXCore
import FXPostgres

/// Opens once the database schema is current (migrations applied by this service, or found applied).
/// Schema-dependent start-up (e.g. the aggregator's TimescaleDB policies) waits on it, so nothing is
/// skipped because it ran before the migrations.
public final class SchemaGate: Sendable {
    private let latch = AsyncLatch<PostgresCapabilities>()

    public init() {}

    /// The server's capabilities once the schema is current; `CancellationError` if cancelled first.
    public func current() async throws -> PostgresCapabilities {
        try await latch.wait()
    }

    public var isOpen: Bool { latch.isOpen }

    /// Opens the gate (the first call wins); every waiter resumes.
    public func open(_ capabilities: PostgresCapabilities) {
        latch.open(capabilities)
    }
}
