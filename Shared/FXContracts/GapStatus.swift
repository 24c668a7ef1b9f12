/// A gap's status in the backfiller's ledger (`gaps.status`, the `ledger` of a backfiller heartbeat, the
/// monitor's `/api/pipeline`): `open` (recorded, not yet tried), `filling` (a worker holds its lease),
/// `failed` (tried, retried later), `unfillable` (the venue will not serve this history), `filled`.
public enum GapStatus: String, Sendable, Hashable, CaseIterable {
    case open, filling, failed, unfillable, filled

    /// Still to be repaired: `open`, `filling` or `failed`.
    public var isQueued: Bool { self == .open || self == .filling || self == .failed }

    /// The SQL list of the statuses in `statuses` (`'open', 'failed'`), for statements and constraints.
    public static func sqlList(_ statuses: [GapStatus]) -> String {
        statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    }
}
