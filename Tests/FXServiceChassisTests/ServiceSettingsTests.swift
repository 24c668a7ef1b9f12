import FXContracts
import Foundation
import FXConfiguration
import FXCore
import FXKafka
import FXPostgres
import FXDatabaseChassis
import FXServiceChassis
import Logging
import Testing

/// The shared settings of a database service, as the aggregator resolves them.
struct ResolvedSettings {
    let common: ServiceSettings
    let databaseSettings: DatabaseSettings
    var kafka: KafkaConfiguration { common.kafka }
    var topics: TopicNames { common.topics }
    var database: PostgresConfiguration { databaseSettings.postgres }
    var httpPort: Int { common.httpPort }
    var httpHost: String { common.httpHost }
    var logLevel: Logger.Level { common.logLevel }
    var logFormat: LogFormat { common.logFormat }
    var migrateOnStart: Bool { databaseSettings.migrateOnStart }
    var instanceID: String { common.instanceID }
    var redactedSummary: Logger.Metadata {
        common.redactedSummary.merging(["database_url": .string(databaseSettings.postgres.redactedURL)]) { $1 }
    }
}

@Suite("Configuration: flags over environment over defaults")
struct ServiceSettingsTests {
    private func resolve(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ResolvedSettings {
        let environment = EnvironmentReader(environment)
        let input = try ConfigInput.parse(arguments, flags: ServiceMain.flagSpecs(for: [DatabaseSettings.self]),
                                          configVariable: "AGGREGATOR_CONFIG", environment: environment)
        var resolver = ConfigResolver(input: input)
        let common = try resolver.resolve(ServiceSettings(serviceName: "aggregator", httpPort: 9102))
        let database = try resolver.resolve(DatabaseSettings(serviceName: "aggregator"))
        try resolver.finish()
        return ResolvedSettings(common: common, databaseSettings: database)
    }

    @Test("defaults point at the local stack")
    func defaults() throws {
        let settings = try resolve([])
        #expect(settings.kafka["bootstrap.servers"] == "127.0.0.1:19092")
        #expect(settings.topics.ticks == "fx.ticks")
        #expect(settings.database.url == "postgres://postgres@127.0.0.1:15432/fxstream")
        #expect(settings.httpPort == 9102)
        #expect(settings.httpHost == "127.0.0.1")
        #expect(settings.logLevel == .info)
        #expect(settings.logFormat == .human)
        #expect(settings.migrateOnStart)
        #expect(settings.kafka["client.id"] == "fxstream-aggregator")
    }

    @Test("environment variables override defaults")
    func environment() throws {
        let settings = try resolve([], [
            "KAFKA_BROKERS": "k1:9092,k2:9092", "TOPIC_PREFIX": "test.", "DATABASE_URL": "postgres://u@db/x",
            "HTTP_PORT": "8080", "HTTP_HOST": "0.0.0.0", "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json",
            "MIGRATE_ON_START": "false", "INSTANCE_ID": "pod-7", "KAFKA_PROPERTIES": "linger.ms=20, compression.type=zstd",
        ])
        #expect(settings.kafka["bootstrap.servers"] == "k1:9092,k2:9092")
        #expect(settings.topics.candles == "test.candles")
        #expect(settings.database.url == "postgres://u@db/x")
        #expect(settings.httpPort == 8080)
        #expect(settings.httpHost == "0.0.0.0")
        #expect(settings.logLevel == .debug)
        #expect(settings.logFormat == .json)
        #expect(!settings.migrateOnStart)
        #expect(settings.instanceID == "pod-7")
        #expect(settings.kafka["linger.ms"] == "20")
        #expect(settings.kafka["compression.type"] == "zstd")
    }

    @Test("flags override environment variables")
    func flags() throws {
        let settings = try resolve(["--brokers", "flag:1", "--topic-prefix", "f.", "--http-port", "1234", "--log-format", "json",
                                    "--no-migrate-on-start", "--kafka-property", "linger.ms=1"],
                                   ["KAFKA_BROKERS": "env:1", "TOPIC_PREFIX": "e.", "HTTP_PORT": "99", "KAFKA_PROPERTIES": "linger.ms=50"])
        #expect(settings.kafka["bootstrap.servers"] == "flag:1")
        #expect(settings.topics.prefix == "f.")
        #expect(settings.httpPort == 1234)
        #expect(settings.logFormat == .json)
        #expect(!settings.migrateOnStart)
        #expect(settings.kafka["linger.ms"] == "1")
    }

    @Test("secrets come from files and never appear in the logged summary")
    func secretsFromFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let urlFile = directory.appendingPathComponent("db-url")
        try "postgres://app:db-secret-1@db:5432/fx\n".write(to: urlFile, atomically: true, encoding: .utf8)
        let propertiesFile = directory.appendingPathComponent("kafka.properties")
        try "# SASL\nsecurity.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=svc\nsasl.password=kafka-secret-2\n"
            .write(to: propertiesFile, atomically: true, encoding: .utf8)
        let settings = try resolve([], ["DATABASE_URL_FILE": urlFile.path, "KAFKA_PROPERTIES_FILE": propertiesFile.path])
        #expect(settings.database.url == "postgres://app:db-secret-1@db:5432/fx")
        #expect(settings.kafka["sasl.password"] == "kafka-secret-2")
        #expect(settings.kafka["security.protocol"] == "SASL_SSL")
        let summary = "\(settings.redactedSummary)"
        #expect(!summary.contains("db-secret-1"))
        #expect(!summary.contains("kafka-secret-2"))
        #expect(summary.contains("svc"))
    }

    @Test("malformed values are refused with the key named and the value withheld")
    func malformed() {
        #expect(throws: ConfigurationError.self) { try resolve([], ["HTTP_PORT": "eighty"]) }
        #expect(throws: ConfigurationError.self) { try resolve([], ["LOG_LEVEL": "loud"]) }
        #expect(throws: ConfigurationError.self) { try resolve([], ["LOG_FORMAT": "xml"]) }
        #expect(throws: ConfigurationError.self) { try resolve([], ["MIGRATE_ON_START": "maybe"]) }
        #expect(throws: ConfigurationError.self) { try resolve([], ["DATABASE_URL_FILE": "/no/such/file"]) }
        #expect {
            try resolve([], ["KAFKA_PROPERTIES": "sasl.password:oops-secret"])
        } throws: { error in
            "\(error)".contains("KAFKA_PROPERTIES") && !"\(error)".contains("oops-secret")
        }
    }
}

extension ServiceSettingsTests {
    @Test("a property name with spaces or line breaks is refused rather than passed on")
    func invalidPropertyName() {
        #expect(throws: ConfigurationError.self) { try resolve(["--kafka-property", "bad key=1"]) }
        #expect(throws: ConfigurationError.self) { try resolve([], ["KAFKA_PROPERTIES": "a\nb=1"]) }
    }
}
