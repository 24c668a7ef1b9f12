import FXContracts
import CoreMetrics
import FXCore
import FXDatabaseChassis
import FXKafka
import FXPostgres
import Logging
import ServiceLifecycle

/// What the backfiller's services share: its settings, where Kafka and PostgreSQL are, the schema gate
/// their start waits on, the instance id, metrics and logger, and the bell the intake rings for the
/// repair workers when it recorded a gap (copies of a context share it).
public struct BackfillerContext: Sendable {
    public var configuration: BackfillerConfiguration
    public var kafka: KafkaConfiguration
    public var topics: TopicNames
    public var database: PostgresConfiguration
    /// Nil: the schema is known to be current (benchmarks, tools).
    public var schema: SchemaGate?
    public var instance: String
    public var metricsFactory: any MetricsFactory
    public var logger: Logger
    /// Rung by the intake when it recorded a gap; wakes the idle repair workers.
    public let gapBell = GapBell()

    public init(configuration: BackfillerConfiguration, kafka: KafkaConfiguration, topics: TopicNames, database: PostgresConfiguration,
                schema: SchemaGate?, instance: String, metricsFactory: any MetricsFactory, logger: Logger) {
        var configuration = configuration
        if configuration.consumerGroup.isEmpty { configuration.consumerGroup = BackfillerConfiguration.withTopicPrefix(topics.prefix).consumerGroup }
        self.configuration = configuration
        self.kafka = kafka
        self.topics = topics
        self.database = database
        self.schema = schema
        self.instance = instance
        self.metricsFactory = metricsFactory
        self.logger = logger
    }

    /// Waits until the schema is current; false when shut down first.
    func schemaReady() async -> Bool {
        guard let schema else { return true }
        return (try? await cancelWhenGracefulShutdown { try await schema.current() }) != nil
    }
}
