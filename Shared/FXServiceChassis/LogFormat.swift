import FXConfiguration

/// How services write logs to standard error.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-25T07:00:00+0000 info aggregator: key=value message` (swift-log's stream handler).
    case human
    /// One JSON object per line: `ts`, `level`, `label`, `message`, `source`, `metadata`.
    case json

    static let reader: ValueReader<LogFormat> = {
        let choice = ValueReader<String>.choice(allCases.map(\.rawValue))
        return ValueReader(allowed: choice.allowed,
                           text: { (text: String) throws(ConfigValueError) -> LogFormat in LogFormat(rawValue: try choice.parse(text))! },
                           format: { $0.rawValue })
    }()
}
