/// Why the monitor stopped on its own: its consumer's event stream ended or failed. The process exits
/// non-zero, so an orchestrator restarts it instead of leaving a monitor that watches nothing.
public struct MonitorError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The consumer's events ended without a shutdown being asked for.
        case consumerEnded = "consumer_ended"
        /// The consumer's events failed (e.g. a fatal Kafka error).
        case consumerFailed = "consumer_failed"
    }

    public var code: Code
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
