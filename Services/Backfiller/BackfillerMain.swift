import FXConfiguration
import FXDatabaseChassis
import FXServiceChassis

@main
enum BackfillerMain: ServiceDefinition {
    static let role = ServiceRole.backfiller
    static let sections: [any ConfigSection.Type] = [DatabaseSettings.self]

    static func configure(_ resolver: inout ConfigResolver, settings: ServiceSettings) throws(ConfigurationError) -> DatabaseSettings {
        try resolver.resolve(DatabaseSettings(serviceName: role.name))
    }

    static func parts(_ database: DatabaseSettings, context: ServiceContext) throws -> ServiceParts {
        ServiceParts(checks: [DatabaseServiceParts(settings: database, logger: context.logger).check])
    }

    static func main() async {
        await ServiceMain.main(Self.self)
    }
}
