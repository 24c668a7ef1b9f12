import FXKafka
import Logging
import Synchronization

/// `kafka`: the broker answers metadata requests and the topics this service needs exist.
public final class KafkaDependencyCheck: DependencyCheck {
    public let name = "kafka"
    private let configuration: KafkaConfiguration
    private let requiredTopics: [String]
    private let logger: Logger
    private let admin = Mutex<KafkaAdmin?>(nil)

    public init(configuration: KafkaConfiguration, requiredTopics: [String], logger: Logger) {
        self.configuration = configuration
        self.requiredTopics = requiredTopics
        self.logger = logger
    }

    public func check() async -> DependencyStatus {
        do {
            let client = try admin.withLock { admin in
                if let admin { return admin }
                let created = try KafkaAdmin(configuration: configuration, logger: logger)
                admin = created
                return created
            }
            let described = try await client.describeTopics(requiredTopics, timeout: .seconds(5))
            let existing = Set(described.map(\.name))
            let missing = requiredTopics.filter { !existing.contains($0) }
            return missing.isEmpty
                ? DependencyStatus(ready: true, detail: "broker answers; topics present")
                : DependencyStatus(ready: false, detail: "missing topics: \(missing.joined(separator: ","))")
        } catch {
            return DependencyStatus(ready: false, detail: "\(error)")
        }
    }

    public func close() async {
        admin.withLock { $0 = nil }
    }
}
