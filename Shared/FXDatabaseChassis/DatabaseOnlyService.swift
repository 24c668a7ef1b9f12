import FXConfiguration
import FXServiceChassis

/// A role whose executable so far only checks its dependencies (Kafka, PostgreSQL with the schema
/// applied) and serves health and metrics: everything but its `role` is provided.
public protocol DatabaseOnlyService: ServiceDefinition where Configuration == DatabaseSettings {}

extension DatabaseOnlyService {
    public static var sections: [any ConfigSection.Type] { [DatabaseSettings.self] }

    public static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> DatabaseSettings {
        try resolver.resolve(DatabaseSettings(serviceName: role.name))
    }

    public static func parts(_ database: DatabaseSettings, context: ServiceContext) throws -> ServiceParts {
        ServiceParts(checks: [DatabaseServiceParts(settings: database, logger: context.logger).check])
    }
}
