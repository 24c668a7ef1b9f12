import FXContracts
import Foundation
import FXConfiguration
import FXCore
import FXKafka
import Logging

/// The settings every FXStream service shares (Kafka, topics, HTTP, logging, identity). Each key is
/// declared once in ``settings`` with its flag, environment variable and help; the default is the
/// property's initial value. Secrets (`sasl.password`, `ssl.key.password`) belong in
/// `KAFKA_PROPERTIES_FILE`; they are never logged (see ``redactedSummary``).
public struct ServiceSettings: ConfigSection {
    public static let sectionName = "service"
    public static let defaultBrokers = "127.0.0.1:19092"
    public static let defaultHTTPHost = "127.0.0.1"

    /// Set by the role, not a key.
    public var serviceName = "fxstream"
    public var brokers = ServiceSettings.defaultBrokers
    public var kafkaPropertyList: [KeyedValue<String>] = []
    public var kafkaPropertiesFile: String?
    public var topicPrefix = TopicNames.defaultPrefix
    public var httpHost = ServiceSettings.defaultHTTPHost
    public var httpPort = 0
    public var logLevelName = "info"
    public var logFormat = LogFormat.human
    /// Empty: the host name (filled in by ``validate(_:)``).
    public var instanceID = ""
    /// `kafkaPropertyList` and the properties file, merged (file first, list wins); set by ``validate(_:)``.
    public private(set) var kafkaProperties: [String: String] = [:]

    public init() {}

    public init(serviceName: String, httpPort: Int) {
        self.serviceName = serviceName
        self.httpPort = httpPort
    }

    public static let settings: [Setting<ServiceSettings>] = [
        Setting(\.brokers, key: "brokers", env: "KAFKA_BROKERS", flag: "brokers", reader: .string(),
                help: "Kafka bootstrap servers (host:port, comma-separated)."),
        Setting(list: \.kafkaPropertyList, key: "kafka_properties", env: "KAFKA_PROPERTIES", flag: "kafka-property",
                item: KafkaPropertyReader.entry, readsFileVariable: false,
                help: "Extra librdkafka properties as key=value (environment: comma-separated)."),
        Setting(\.kafkaPropertiesFile, key: "kafka_properties_file", env: "KAFKA_PROPERTIES_FILE", flag: "kafka-properties-file",
                reader: ValueReader.string().optional, readsFileVariable: false,
                help: "File of librdkafka properties, one key=value a line, # comments: the place for SASL/SSL secrets."),
        Setting(\.topicPrefix, key: "topic_prefix", env: "TOPIC_PREFIX", flag: "topic-prefix", reader: .string(nonEmpty: false),
                help: "Prefix of every topic name (and of the default consumer groups)."),
        Setting(\.httpHost, key: "http_host", env: "HTTP_HOST", flag: "http-host", reader: .string(),
                help: "Address of the /metrics and /health HTTP server."),
        Setting(\.httpPort, key: "http_port", env: "HTTP_PORT", flag: "http-port", reader: .int(0...65_535),
                help: "Port of the /metrics and /health HTTP server (0: any free port)."),
        Setting(\.logLevelName, key: "log_level", env: "LOG_LEVEL", flag: "log-level",
                reader: .choice(Logger.Level.allCases.map(\.rawValue)), help: "Lowest level logged."),
        Setting(\.logFormat, key: "log_format", env: "LOG_FORMAT", flag: "log-format", reader: LogFormat.reader,
                help: "human (one line of text) or json (one object a line)."),
        Setting(\.instanceID, key: "instance_id", env: "INSTANCE_ID", flag: "instance-id", reader: .string(nonEmpty: false),
                help: "This instance's id in logs, metrics and heartbeats (empty: the host name)."),
    ]

    public mutating func validate(_ context: ConfigContext) throws(ConfigurationError) {
        var properties: [String: String] = [:]
        if let path = kafkaPropertiesFile {
            let contents: String
            do { contents = try String(contentsOfFile: path, encoding: .utf8) }
            catch {
                throw ConfigurationError(code: .unreadable, key: "kafka_properties_file", origin: context.origin(of: "kafka_properties_file"),
                                         reason: "cannot read '\(path)'")
            }
            let lines = contents.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            for (index, line) in lines.enumerated() {
                do {
                    let (key, value) = try KafkaPropertyReader.split(line)
                    properties[key] = value
                } catch {
                    throw ConfigurationError(code: .invalidValue, key: "kafka_properties_file", origin: context.origin(of: "kafka_properties_file"),
                                             reason: "line \(index + 1) of '\(path)': \(error.reason)")
                }
            }
        }
        for entry in kafkaPropertyList { properties[entry.key] = entry.value }
        properties["client.id"] = properties["client.id"] ?? "fxstream-\(serviceName)"
        if instanceID.isEmpty { instanceID = ProcessInfo.processInfo.hostName }
        kafkaProperties = properties
    }

    public var kafka: KafkaConfiguration { KafkaConfiguration(bootstrapServers: brokers, properties: kafkaProperties) }
    public var topics: TopicNames { TopicNames(prefix: topicPrefix) }
    public var logLevel: Logger.Level { Logger.Level(rawValue: logLevelName) ?? .info }

    /// What may be logged at start: secrets replaced by `[redacted]`.
    public var redactedSummary: Logger.Metadata {
        [
            "service": .string(serviceName),
            "instance": .string(instanceID),
            "kafka": .dictionary(kafka.redactedProperties.mapValues { .string($0) }),
            "topic_prefix": .string(topicPrefix),
            "http": .string("\(httpHost):\(httpPort)"),
            "log_level": .string(logLevelName),
            "log_format": .string(logFormat.rawValue),
        ]
    }
}

/// Reads `key=value` librdkafka properties. The entry itself is never echoed in an error: it may hold
/// a secret typed with the wrong separator.
enum KafkaPropertyReader {
    static let entry = ValueReader<KeyedValue<String>>(allowed: "key=value with a librdkafka property name",
                                                       text: { (text: String) throws(ConfigValueError) -> KeyedValue<String> in
                                                           let (key, value) = try split(text)
                                                           return KeyedValue(key: key, value: value)
                                                       },
                                                       format: { entry in
                                                           Redaction.isSecret(key: entry.key) ? "\(entry.key)=\(Redaction.placeholder)" : "\(entry.key)=\(entry.value)"
                                                       })

    static func split(_ entry: String) throws(ConfigValueError) -> (String, String) {
        guard let equals = entry.firstIndex(of: "=") else { throw ConfigValueError("an entry is not key=value") }
        let key = entry[..<equals].trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw ConfigValueError("an entry has an invalid property name")
        }
        return (key, String(entry[entry.index(after: equals)...]).trimmingCharacters(in: .whitespaces))
    }
}
