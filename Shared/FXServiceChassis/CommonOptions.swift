import ArgumentParser
import Foundation
import FXCore
import FXKafka
import FXPostgres
import Logging

/// The command-line flags every service accepts; see ``ServiceSettings`` for each key's environment
/// variable and default.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(help: "Kafka bootstrap servers (env KAFKA_BROKERS).")
    public var brokers: String?

    @Option(name: .customLong("kafka-property"), help: "Extra librdkafka property key=value; repeatable (env KAFKA_PROPERTIES, KAFKA_PROPERTIES_FILE).")
    public var kafkaProperties: [String] = []

    @Option(help: "Prefix of every topic name (env TOPIC_PREFIX, default fx.).")
    public var topicPrefix: String?

    @Option(help: "PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE).")
    public var databaseURL: String?

    @Flag(inversion: .prefixedNo, help: "Apply pending database migrations at start (env MIGRATE_ON_START, default true).")
    public var migrateOnStart: Bool?

    @Option(help: "Address of the metrics and health HTTP server (env HTTP_HOST, default 127.0.0.1).")
    public var httpHost: String?

    @Option(help: "Port of the metrics and health HTTP server (env HTTP_PORT).")
    public var httpPort: Int?

    @Option(help: "trace, debug, info, notice, warning, error, critical (env LOG_LEVEL, default info).")
    public var logLevel: String?

    @Option(help: "human or json (env LOG_FORMAT, default human).")
    public var logFormat: LogFormat?

    @Option(help: "This instance's id in logs and metrics (env INSTANCE_ID, default the host name).")
    public var instanceID: String?

    public init() {}

    /// Resolves flags, then environment, then defaults.
    public func resolve(serviceName: String, defaultHTTPPort: Int,
                        environment: EnvironmentReader = EnvironmentReader()) throws -> ServiceSettings {
        let brokers = try self.brokers ?? environment.value("KAFKA_BROKERS") ?? ServiceSettings.defaultBrokers
        // KAFKA_PROPERTIES is read as is (no _FILE fallback): KAFKA_PROPERTIES_FILE has a line format of its own.
        let inline = environment.values["KAFKA_PROPERTIES"]?.split(separator: ",").map(String.init) ?? []
        var properties = try Self.parseProperties(inline, source: "KAFKA_PROPERTIES")
        if let path = environment.values["KAFKA_PROPERTIES_FILE"], !path.isEmpty {
            let contents: String
            do { contents = try String(contentsOfFile: path, encoding: .utf8) }
            catch { throw ConfigurationError(key: "KAFKA_PROPERTIES_FILE", reason: "cannot read '\(path)'") }
            let lines = contents.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            properties.merge(try Self.parseProperties(lines, source: "KAFKA_PROPERTIES_FILE")) { $1 }
        }
        properties.merge(try Self.parseProperties(kafkaProperties, source: "--kafka-property")) { $1 }
        properties["client.id"] = properties["client.id"] ?? "fxstream-\(serviceName)"

        let levelText = try logLevel ?? environment.value("LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ConfigurationError(key: "LOG_LEVEL", reason: "unknown level '\(levelText)'")
        }
        let formatText = try environment.value("LOG_FORMAT")
        let format: LogFormat
        if let logFormat { format = logFormat }
        else if let formatText {
            guard let parsed = LogFormat(rawValue: formatText.lowercased()) else {
                throw ConfigurationError(key: "LOG_FORMAT", reason: "expected human or json, got '\(formatText)'")
            }
            format = parsed
        } else { format = .human }

        let port: Int
        if let httpPort { port = httpPort }
        else if let text = try environment.value("HTTP_PORT") {
            guard let parsed = Int(text), (0...65535).contains(parsed) else {
                throw ConfigurationError(key: "HTTP_PORT", reason: "not a port number: '\(text)'")
            }
            port = parsed
        } else { port = defaultHTTPPort }

        let migrate: Bool
        if let migrateOnStart { migrate = migrateOnStart }
        else if let text = try environment.value("MIGRATE_ON_START") {
            guard let parsed = Bool(text.lowercased()) else {
                throw ConfigurationError(key: "MIGRATE_ON_START", reason: "expected true or false")
            }
            migrate = parsed
        } else { migrate = true }

        return ServiceSettings(
            serviceName: serviceName,
            instanceID: try instanceID ?? environment.value("INSTANCE_ID") ?? ProcessInfo.processInfo.hostName,
            kafka: KafkaConfiguration(bootstrapServers: brokers, properties: properties),
            topics: TopicNames(prefix: try topicPrefix ?? environment.value("TOPIC_PREFIX") ?? TopicNames.defaultPrefix),
            database: PostgresConfiguration(url: try databaseURL ?? environment.value("DATABASE_URL") ?? ServiceSettings.defaultDatabaseURL,
                                            applicationName: "fxstream-\(serviceName)"),
            migrateOnStart: migrate,
            httpHost: try httpHost ?? environment.value("HTTP_HOST") ?? ServiceSettings.defaultHTTPHost,
            httpPort: port,
            logLevel: level,
            logFormat: format)
    }

    static func parseProperties(_ pairs: [String], source: String) throws -> [String: String] {
        var properties: [String: String] = [:]
        for (index, pair) in pairs.enumerated() {
            guard let equals = pair.firstIndex(of: "=") else {
                // The entry itself is not echoed: it may hold a secret typed with the wrong separator.
                throw ConfigurationError(key: source, reason: "entry \(index + 1) is not key=value")
            }
            let key = pair[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw ConfigurationError(key: source, reason: "entry \(index + 1) has an invalid property name")
            }
            properties[key] = String(pair[pair.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        }
        return properties
    }
}
