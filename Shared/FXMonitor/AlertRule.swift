import FXContracts
import FXConfiguration
import Foundation

/// One alert rule, as written in the rules file (YAML):
///
/// ```yaml
/// rules:
///   - name: stream_stale          # unique; part of each alert's id
///     when: stream_state          # stream_state | instance_missing | latency_p99_ms | gaps_per_hour | book_resyncs_per_hour | fleet_unowned_shards
///     state: stale                # for stream_state: live | quiet | stale | down
///     threshold: 2000             # for the metrics: fires above it
///     for: 30s                    # the condition holds this long before the alert fires
///     severity: warning           # warning | critical
///     escalate_after: 5m          # firing warnings become critical after this much longer (optional)
///     labels: {team: market-data}
/// ```
public struct AlertRule: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// A stream (source + symbol) is in this state.
        case streamState(StreamState)
        /// A service instance's heartbeat is missing.
        case instanceMissing
        /// A source's exchange -> receive p99 latency is above this many milliseconds.
        case latencyP99(milliseconds: Int64)
        /// A stream reported more than this many gaps in the last hour.
        case gapsPerHour(Int64)
        /// An ingestor fleet has shards that no live instance streams.
        case fleetUnowned
        /// A symbol's order book was resynced more than this many times in the last hour.
        case bookResyncsPerHour(Int64)
    }

    /// Defined with the alert events' contract (``AlertSeverity``).
    public typealias Severity = AlertSeverity

    public var name: String
    public var condition: Condition
    public var holdFor: Duration
    public var severity: Severity
    public var escalateAfter: Duration?
    public var labels: [String: String]

    public init(name: String, condition: Condition, holdFor: Duration = .zero, severity: Severity = .warning,
                escalateAfter: Duration? = nil, labels: [String: String] = [:]) {
        self.name = name
        self.condition = condition
        self.holdFor = holdFor
        self.severity = severity
        self.escalateAfter = escalateAfter
        self.labels = labels
    }

    /// The rules shipped with FXStream (also in `deploy/monitor-alerts.yaml`): stale streams warn after
    /// 30 s and turn critical after 5 more minutes; down streams and missing instances are critical
    /// after 15 s; exchange -> receive p99 above 2 s warns; more than 10 gaps an hour on a stream warns; an
    /// ingestor fleet with shards no live instance streams for 30 s (longer than a failover) is critical; an
    /// order book resynced more than 6 times in an hour warns (a pair that keeps failing its checks).
    public static let defaults: [AlertRule] = [
        AlertRule(name: "stream_stale", condition: .streamState(.stale), holdFor: .seconds(30), severity: .warning,
                  escalateAfter: .seconds(300)),
        AlertRule(name: "stream_down", condition: .streamState(.down), holdFor: .seconds(15), severity: .critical),
        AlertRule(name: "instance_missing", condition: .instanceMissing, holdFor: .zero, severity: .critical),
        AlertRule(name: "latency_p99_high", condition: .latencyP99(milliseconds: 2_000), holdFor: .seconds(60), severity: .warning),
        AlertRule(name: "gaps_frequent", condition: .gapsPerHour(10), holdFor: .zero, severity: .warning),
        AlertRule(name: "fleet_shards_unowned", condition: .fleetUnowned, holdFor: .seconds(30), severity: .critical),
        AlertRule(name: "book_resyncs_frequent", condition: .bookResyncsPerHour(6), holdFor: .zero, severity: .warning),
    ]

    /// Reads a rules file's text through the configuration's typed file reader (the same YAML reading as
    /// the service configuration and the feeds); errors name the rule, the field and its line.
    public static func parse(yaml: String, path: String) throws(ConfigurationError) -> [AlertRule] {
        func fail(_ message: String, line: Int = 0) -> ConfigurationError {
            ConfigurationError(code: .invalidValue, key: "alert_rules", origin: .file(path: path, line: line), reason: message)
        }
        // Other top-level keys are left alone: they commonly hold YAML anchors the rules merge in.
        let file = try ConfigFile(path: path, text: yaml)
        guard let list = file["rules"], case .sequence(let items) = list.content else { throw fail("expected a top-level `rules:` list") }
        let known: Set<String> = ["name", "when", "state", "threshold", "for", "severity", "escalate_after", "labels"]
        var rules: [AlertRule] = []
        for (index, item) in items.enumerated() {
            guard case .mapping(let fields) = item.content, let name = item["name"]?.scalarText, !name.isEmpty else {
                throw fail("rule \(index + 1) needs a name", line: item.line)
            }
            if let unknown = fields.first(where: { !known.contains($0.key) }) {
                throw fail("rule \(name): unknown field '\(unknown.key)'", line: unknown.value.line)
            }
            func read<Value>(_ key: String, _ reader: ValueReader<Value>) throws(ConfigurationError) -> Value? {
                guard let value = item[key] else { return nil }
                do { return try reader.parse(value) } catch { throw fail("rule \(name): \(key) \(error.reason)", line: value.line) }
            }
            func threshold() throws(ConfigurationError) -> Int64 {
                // Quoted or not: `threshold: "2000"` has always been read as 2000.
                guard let text = item["threshold"]?.scalarText, let number = Int64(text), number >= 0 else {
                    throw fail("rule \(name): threshold must be a non-negative whole number", line: item["threshold"]?.line ?? item.line)
                }
                return number
            }
            let condition: Condition
            switch item["when"]?.scalarText {
            case "stream_state":
                guard let state = item["state"]?.scalarText.flatMap(StreamState.init(rawValue:)) else {
                    throw fail("rule \(name): state must be one of \(StreamState.allCases.map(\.rawValue).joined(separator: ", "))", line: item.line)
                }
                condition = .streamState(state)
            case "instance_missing": condition = .instanceMissing
            case "latency_p99_ms": condition = .latencyP99(milliseconds: try threshold())
            case "gaps_per_hour": condition = .gapsPerHour(try threshold())
            case "book_resyncs_per_hour": condition = .bookResyncsPerHour(try threshold())
            case "fleet_unowned_shards": condition = .fleetUnowned
            default: throw fail("rule \(name): when must be stream_state, instance_missing, latency_p99_ms, gaps_per_hour, book_resyncs_per_hour or fleet_unowned_shards",
                                line: item.line)
            }
            guard let severity = Severity(rawValue: item["severity"]?.scalarText ?? "warning") else {
                throw fail("rule \(name): severity must be warning or critical", line: item["severity"]?.line ?? item.line)
            }
            var labels: [String: String] = [:]
            if let map = item["labels"] {
                guard case .mapping(let pairs) = map.content else { throw fail("rule \(name): labels must be a map", line: map.line) }
                for (key, value) in pairs {
                    guard case .scalar(let text, let type, _) = value.content else {
                        throw fail("rule \(name): label \(key) must be a single value", line: value.line)
                    }
                    // YAML booleans (`yes`, `True`, ...) are spelled `true`/`false`, as alert consumers match them.
                    labels[key] = type == "bool" ? String(["true", "yes", "on", "y"].contains(text.lowercased())) : text
                }
            }
            let duration = ValueReader<Duration>.duration(bareUnit: .seconds)
            rules.append(AlertRule(name: name, condition: condition, holdFor: try read("for", duration) ?? .zero, severity: severity,
                                   escalateAfter: try read("escalate_after", duration), labels: labels))
        }
        let names = rules.map(\.name)
        if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) { throw fail("rule \(duplicate) appears twice") }
        return rules
    }
}
