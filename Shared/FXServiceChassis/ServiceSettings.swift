import FXCore
import FXKafka
import FXPostgres
import Logging

/// The resolved configuration every FXStream service shares. Each key is documented once, here:
///
/// | setting | flag | environment | default |
/// |---|---|---|---|
/// | Kafka bootstrap servers | `--brokers` | `KAFKA_BROKERS` | `127.0.0.1:19092` (the local stack) |
/// | extra librdkafka properties | `--kafka-property k=v` (repeatable) | `KAFKA_PROPERTIES` (`k=v,k=v`), `KAFKA_PROPERTIES_FILE` (one `k=v` a line, `#` comments) | none |
/// | topic prefix | `--topic-prefix` | `TOPIC_PREFIX` | `fx.` |
/// | PostgreSQL URL | `--database-url` | `DATABASE_URL` or `DATABASE_URL_FILE` | `postgres://postgres@127.0.0.1:15432/fxstream` |
/// | apply migrations at start | `--migrate-on-start` / `--no-migrate-on-start` | `MIGRATE_ON_START` (`true`/`false`) | `true` |
/// | HTTP address for `/metrics`, `/health/live`, `/health/ready` | `--http-host`, `--http-port` | `HTTP_HOST`, `HTTP_PORT` | `127.0.0.1`, per service (ingestor 9101, aggregator 9102, backfiller 9103, monitor 9104) |
/// | log level | `--log-level` | `LOG_LEVEL` | `info` |
/// | log format | `--log-format human\|json` | `LOG_FORMAT` | `human` |
/// | instance id (in logs and metrics) | `--instance-id` | `INSTANCE_ID` | the host name |
///
/// Flags win over environment variables, which win over defaults. Secrets (`sasl.password`,
/// `ssl.key.password`, the database password) belong in `KAFKA_PROPERTIES_FILE` / `DATABASE_URL_FILE`;
/// they are never logged (see ``redactedSummary``).
public struct ServiceSettings: Sendable {
    public var serviceName: String
    public var instanceID: String
    public var kafka: KafkaConfiguration
    public var topics: TopicNames
    public var database: PostgresConfiguration
    public var migrateOnStart: Bool
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat

    public static let defaultBrokers = "127.0.0.1:19092"
    public static let defaultDatabaseURL = "postgres://postgres@127.0.0.1:15432/fxstream"
    public static let defaultHTTPHost = "127.0.0.1"

    public init(serviceName: String, instanceID: String, kafka: KafkaConfiguration, topics: TopicNames,
                database: PostgresConfiguration, migrateOnStart: Bool, httpHost: String, httpPort: Int,
                logLevel: Logger.Level, logFormat: LogFormat) {
        self.serviceName = serviceName
        self.instanceID = instanceID
        self.kafka = kafka
        self.topics = topics
        self.database = database
        self.migrateOnStart = migrateOnStart
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.logLevel = logLevel
        self.logFormat = logFormat
    }

    /// What may be logged at start: secrets replaced by `[redacted]`.
    public var redactedSummary: Logger.Metadata {
        [
            "service": .string(serviceName),
            "instance": .string(instanceID),
            "kafka": .dictionary(kafka.redactedProperties.mapValues { .string($0) }),
            "topic_prefix": .string(topics.prefix),
            "database_url": .string(database.redactedURL),
            "migrate_on_start": .stringConvertible(migrateOnStart),
            "http": .string("\(httpHost):\(httpPort)"),
            "log_level": .string(logLevel.rawValue),
            "log_format": .string(logFormat.rawValue),
        ]
    }
}
