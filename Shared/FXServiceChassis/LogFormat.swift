import ArgumentParser

/// How services write logs to standard error.
public enum LogFormat: String, Sendable, CaseIterable, ExpressibleByArgument {
    /// `2026-11-25T07:00:00+0000 info aggregator: key=value message` (swift-log's stream handler).
    case human
    /// One JSON object per line: `ts`, `level`, `label`, `message`, `source`, `metadata`.
    case json
}
