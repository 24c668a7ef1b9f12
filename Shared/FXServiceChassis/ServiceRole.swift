import FXContracts
import FXCore

/// What distinguishes one FXStream executable in the chassis, declared by the executable itself: the
/// chassis knows no service by name.
public struct ServiceRole: Sendable {
    public var name: String
    public var defaultHTTPPort: Int
    /// The topics it cannot work without.
    public var requiredTopics: @Sendable (TopicNames) -> [String]
    /// The help line of each metric it exports (`/metrics`' `# HELP`).
    public var metricHelp: [String: String]

    public init(name: String, defaultHTTPPort: Int, requiredTopics: @escaping @Sendable (TopicNames) -> [String],
                metricHelp: [String: String] = [:]) {
        self.name = name
        self.defaultHTTPPort = defaultHTTPPort
        self.requiredTopics = requiredTopics
        self.metricHelp = metricHelp
    }
}
