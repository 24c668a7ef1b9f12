/// The counter names a service puts in its heartbeats that other services read: the monitor's
/// `errors` rate sums a role's error counters.
public enum HeartbeatCounters {
    /// The ingestor's errors: provider errors, messages Kafka did not acknowledge, ticks dropped.
    public static let ingestorErrors = ["provider_errors", "delivery_failures", "dropped"]
    /// The aggregator's errors: failed flush transactions.
    public static let aggregatorErrors = ["flush_failures"]
    /// The backfiller's errors: gaps whose repair failed, malformed history answers.
    public static let backfillerErrors = ["gaps_failed", "history_rejects"]

    /// The error counters of `service` (none for a service this build does not know).
    public static func errors(of service: String) -> [String] {
        switch service {
        case "ingestor": ingestorErrors
        case "aggregator": aggregatorErrors
        case "backfiller": backfillerErrors
        default: []
        }
    }
}
