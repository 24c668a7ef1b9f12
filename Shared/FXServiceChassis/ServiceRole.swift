import FXCore

/// What distinguishes one FXStream executable in the chassis.
public struct ServiceRole: Sendable {
    public var name: String
    public var defaultHTTPPort: Int
    /// The topics it cannot work without.
    public var requiredTopics: @Sendable (TopicNames) -> [String]

    public init(name: String, defaultHTTPPort: Int, requiredTopics: @escaping @Sendable (TopicNames) -> [String]) {
        self.name = name
        self.defaultHTTPPort = defaultHTTPPort
        self.requiredTopics = requiredTopics
    }

    public static let ingestor = ServiceRole(name: "ingestor", defaultHTTPPort: 9101,
                                             requiredTopics: { [$0.ticks, $0.gaps, $0.health, $0.rejects] })
    public static let aggregator = ServiceRole(name: "aggregator", defaultHTTPPort: 9102,
                                               requiredTopics: { [$0.ticks, $0.candles, $0.rejects, $0.health] })
    public static let backfiller = ServiceRole(name: "backfiller", defaultHTTPPort: 9103,
                                               requiredTopics: { [$0.gaps, $0.candles, $0.rejects, $0.health] })
    public static let monitor = ServiceRole(name: "monitor", defaultHTTPPort: 9104,
                                            requiredTopics: { [$0.health, $0.gaps, $0.ticks, $0.rejects, $0.candles, $0.alerts] })
}
