import FXServiceChassis
import Logging

/// The database half of a service that uses PostgreSQL: its dependency check and the gate its
/// schema-dependent start-up waits on.
public struct DatabaseServiceParts: Sendable {
    public let gate: SchemaGate
    public let check: PostgresDependencyCheck

    public init(settings: DatabaseSettings, logger: Logger) {
        gate = SchemaGate()
        check = PostgresDependencyCheck(settings: settings, gate: gate, logger: logger)
    }
}
