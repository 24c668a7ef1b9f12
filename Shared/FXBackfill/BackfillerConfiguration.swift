import FXConfiguration

/// The backfiller's own settings (the shared ones are in `ServiceSettings` and `DatabaseSettings`).
public struct BackfillerConfiguration: ConfigSection {
    public static let sectionName = "backfiller"

    /// Empty: `<topic prefix>backfiller`, so replicas of one deployment share the gap events.
    public var consumerGroup = ""

    public init() {}

    public static func withTopicPrefix(_ prefix: String) -> BackfillerConfiguration {
        var configuration = BackfillerConfiguration()
        configuration.consumerGroup = prefix + "backfiller"
        return configuration
    }

    public static let settings: [Setting<BackfillerConfiguration>] = [
        Setting(\.consumerGroup, key: "consumer_group", env: "BACKFILLER_GROUP", flag: "consumer-group", reader: .string(),
                help: "Kafka consumer group of the gap events (default: `<topic prefix>backfiller`, e.g. `fx.backfiller`)."),
    ]
}
