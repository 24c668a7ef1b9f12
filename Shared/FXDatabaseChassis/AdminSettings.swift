import FXConfiguration

/// `fxadmin create-topics` settings.
public struct AdminSettings: ConfigSection {
    public static let sectionName = "topics"
    public var partitions: Int32 = 3
    public var replicationFactor: Int32 = 1

    public init() {}

    public static let settings: [Setting<AdminSettings>] = [
        Setting(\.partitions, key: "partitions", env: "FX_PARTITIONS", flag: "partitions", reader: .int32(1...10_000),
                help: "Partitions of each topic created."),
        Setting(\.replicationFactor, key: "replication_factor", env: "REPLICATION_FACTOR", flag: "replication-factor",
                reader: .int32(1...32), help: "Replication factor of each topic created."),
    ]
}
