import FXContracts
import FXCore
import FXPostgres
import Foundation

/// The completeness ledger (`gaps`, `gap_events`, `confirmed_empty`; see migration 0005): records gap
/// events once, merges overlapping or adjacent open windows, hands out work under a lease, and records
/// outcomes with capped retry backoff.
public struct GapLedger: Sendable {
    /// Windows closer than this merge (one minute: repairs work on 1-minute candles).
    public static let adjacency: Int64 = 60_000_000_000

    public struct Gap: Sendable, Equatable {
        public var id: Int64
        public var source: String
        public var symbol: String
        public var from: Int64
        public var to: Int64
        public var reasons: [String]
        public var status: GapStatus
        public var attempts: Int
        public var lastError: String?
        /// The provider's symbol from the gap events (`BTC-USD`, `OANDA:EUR_USD`), when they carried one.
        public var venueSymbol: String?
    }

    public let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The identity of a gap event: the same event, replayed, has the same key.
    public static func eventKey(_ event: GapEvent) -> String {
        let text = [event.source, event.symbol, String(event.from), String(event.to), event.reason.rawValue,
                    String(event.detectedAt), event.instance].joined(separator: "\u{1F}")
        return String(FNV1a.hash64(text), radix: 16) + ":" + String(text.utf8.count)
    }

    /// Refuses an event the ledger's arithmetic cannot take: times outside the consumers' window
    /// (2000-01-01 ... 2100-01-01, see `ContractLimits`) or `from` after `to`. Reasons: `invalid_timestamp`.
    /// The decoder checks the same; this is the ledger's own guard, for events built any other way.
    public static func check(_ event: GapEvent) throws(ContractLimits.Violation) {
        try ContractLimits.checkEventTime(event.from, field: "from_ts")
        try ContractLimits.checkEventTime(event.to, field: "to_ts")
        guard event.from <= event.to else {
            throw ContractLimits.Violation(reason: "invalid_timestamp", detail: "'from_ts' \(event.from) is after 'to_ts' \(event.to)")
        }
    }

    /// Records a gap event once; returns the open gap that now covers it (merged with overlapping or
    /// adjacent open ones), or nil when the event was recorded before. Throws a `ContractLimits.Violation`
    /// for an event ``check(_:)`` refuses.
    @discardableResult
    public func record(_ event: GapEvent) async throws -> Gap? {
        try Self.check(event)
        return try await connection.transaction { session in try await Self.record(event, on: session) }
    }

    /// ``record(_:)`` inside the caller's transaction (the event already checked).
    static func record(_ event: GapEvent, on session: PostgresSession) async throws -> Gap? {
        // One writer per source and symbol at a time: merges see each other.
        try await session.query("SELECT pg_advisory_xact_lock(hashtext($1))", ["gaps:\(event.source):\(event.symbol)"])
        let fresh = try await session.query("""
            INSERT INTO gap_events (event_key, gap_id) VALUES ($1, 0) ON CONFLICT DO NOTHING RETURNING event_key
            """, [Self.eventKey(event)])
        guard fresh.count == 1 else { return nil }
        let merged = try await session.query("""
            WITH touching AS (
                DELETE FROM gaps WHERE source = $1 AND symbol = $2 AND status IN (\(GapStatus.sqlList([.open, .failed])))
                  AND from_ts <= $4::bigint + $6::bigint AND to_ts >= $3::bigint - $6::bigint
                RETURNING from_ts, to_ts, reasons, attempts, created_at, venue_symbol
            ), all_reasons AS (
                SELECT array_agg(DISTINCT r ORDER BY r) AS reasons
                FROM (SELECT unnest(reasons) AS r FROM touching UNION SELECT $5::text) u
            )
            INSERT INTO gaps (source, symbol, from_ts, to_ts, reasons, attempts, created_at, venue_symbol)
            SELECT $1, $2, least($3::bigint, (SELECT min(from_ts) FROM touching)),
                   greatest($4::bigint, (SELECT max(to_ts) FROM touching)),
                   (SELECT reasons FROM all_reasons),
                   coalesce((SELECT max(attempts) FROM touching), 0),
                   coalesce((SELECT min(created_at) FROM touching), now()),
                   coalesce(nullif($7, ''), (SELECT max(venue_symbol) FROM touching))
            RETURNING \(Self.columns)
            """, [event.source, event.symbol, event.from, event.to, event.reason.rawValue, Self.adjacency, event.venueSymbol])
        guard let row = merged.first else { return nil }
        let gap = try Self.gap(row)
        try await session.query("UPDATE gap_events SET gap_id = $2 WHERE event_key = $1", [Self.eventKey(event), gap.id])
        return gap
    }

    /// A `bootstrap` event (a symbol's stream started at its `to`, after a first start or a restart):
    /// - the symbol has 1-minute candles before that minute: records the window from the start of the
    ///   newest one to `to`, so the outage is repaired from REST history: the minutes nothing was streamed
    ///   in, the newest stored minute (an ingestor killed during it streamed only its beginning) and the
    ///   restart's own minute up to its first event (the repair's merge rule keeps the streamed part);
    /// - it has none: records the window of `lookback` before the minute (its history), unless `lookback`
    ///   is zero.
    /// Nil when nothing was recorded (zero lookback for a new symbol, or the event was recorded before).
    public func recordBootstrap(_ event: GapEvent, lookback: Duration) async throws -> Gap? {
        try Self.check(event)
        return try await connection.transaction { session in try await Self.recordBootstrap(event, lookback: lookback, on: session) }
    }

    /// ``recordBootstrap(_:lookback:)`` inside the caller's transaction (the event already checked).
    static func recordBootstrap(_ event: GapEvent, lookback: Duration, on session: PostgresSession) async throws -> Gap? {
        let minute = event.to / 60_000_000_000 * 60_000_000_000
        let newest = try await session.query("""
            SELECT extract(epoch FROM max(bucket))::bigint AS newest FROM candles
            WHERE source = $1 AND symbol = $2 AND timeframe = '1m' AND bucket < to_timestamp($3::bigint)
            """, [event.source, event.symbol, minute / 1_000_000_000])
        var window = event
        if let newest = try newest.first?.decodeIfPresent(Int64.self, "newest") {
            // The newest stored minute (seconds from the database, bounded before `minute`).
            window.from = max(ContractLimits.earliestEventTime, min(newest.multipliedClamped(by: 1_000_000_000), minute))
        } else {
            guard lookback > .zero else { return nil }
            window.from = max(ContractLimits.earliestEventTime, minute.subtractingClamped(lookback.nanosecondsClamped))
        }
        return try await record(window, on: session)
    }

    /// What a claim found.
    public enum Claim: Sendable, Equatable {
        /// A gap now leased to the claimer.
        case claimed(Gap)
        /// No gap is due now. `nextDueIn`: how long until the next one of the claimer's gaps is due (zero
        /// or less: one is due but another claimer holds its row this instant), nil when none is waiting.
        case idle(nextDueIn: Duration?)
    }

    /// Claims the next gap that is due (open, failed and due again, or filling with an expired lease),
    /// for `owner`, for `lease`. Several replicas never claim the same gap. With `settledBefore` (ns),
    /// only gaps whose last minute ended before it are due; with `sources`, only gaps of those sources
    /// (the ones this instance has history for: another version's replicas may know more).
    public func claim(owner: String, lease: Duration, settledBefore: Int64 = .max, sources: [String]? = nil) async throws -> Gap? {
        let rows = try await connection.query("""
            UPDATE gaps SET status = '\(GapStatus.filling.rawValue)', lease_owner = $1, lease_until = now() + make_interval(secs => $2::float8),
                            attempts = attempts + 1, updated_at = now()
            WHERE id = (SELECT id FROM gaps
                        WHERE ((status IN (\(GapStatus.sqlList([.open, .failed]))) AND next_attempt_at <= now())
                               OR (status = '\(GapStatus.filling.rawValue)' AND coalesce(lease_until, '-infinity') < now()))
                          AND to_ts / 60000000000 < $3::bigint / 60000000000
                          AND ($4::text[] IS NULL OR source = ANY($4::text[]))
                        ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING \(Self.columns)
            """, [owner, Self.seconds(lease), settledBefore, Self.textArray(sources)])
        return try rows.first.map(Self.gap)
    }

    /// ``claim(owner:lease:settledBefore:sources:)``, and when nothing is due, when the next gap will be:
    /// the later of its retry time (a filling gap: its lease's end) and the end of its settling (its last
    /// minute's end, `settledBefore` measured), the soonest of the claimer's gaps.
    public func claimNext(owner: String, lease: Duration, settledBefore: Int64 = .max, sources: [String]? = nil) async throws -> Claim {
        if let gap = try await claim(owner: owner, lease: lease, settledBefore: settledBefore, sources: sources) { return .claimed(gap) }
        return .idle(nextDueIn: try await nextDueIn(settledBefore: settledBefore, sources: sources))
    }

    /// How long until the next gap of `sources` is due (see ``claimNext(owner:lease:settledBefore:sources:)``);
    /// nil when no gap is open, failed or filling.
    public func nextDueIn(settledBefore: Int64 = .max, sources: [String]? = nil) async throws -> Duration? {
        let rows = try await connection.query("""
            SELECT greatest(least(due, 86400000000), -86400000000)::bigint AS next_due_in_us
            FROM (SELECT min(greatest(
                      extract(epoch FROM (CASE WHEN status = '\(GapStatus.filling.rawValue)' THEN coalesce(lease_until, now()) ELSE next_attempt_at END) - now()) * 1000000,
                      ((to_ts / 60000000000 + 1)::numeric * 60000000000 - $1::bigint) / 1000)) AS due
                  FROM gaps
                  WHERE status IN (\(GapStatus.sqlList([.open, .failed, .filling])))
                    AND ($2::text[] IS NULL OR source = ANY($2::text[]))) soonest
            WHERE due IS NOT NULL
            """, [settledBefore, Self.textArray(sources)])
        return try rows.first?.decodeIfPresent(Int64.self, "next_due_in_us").map { .microseconds($0) }
    }

    /// A duration as exact seconds with microseconds (PostgreSQL's precision), for `make_interval`: the
    /// lease in the ledger is the lease the repair counts on its own clock, not its whole seconds.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, min(seconds, 999_999_999_999)) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        return "\(micros / 1_000_000).\(String(String(1_000_000 + micros % 1_000_000).dropFirst()))"
    }

    /// A text array parameter (nil: SQL NULL).
    static func textArray(_ values: [String]?) -> String? {
        values.map { "{" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "}" }
    }

    /// Extends `owner`'s lease on a gap it is filling; false when the lease was lost (another owner has it).
    public func extend(_ id: Int64, owner: String, lease: Duration) async throws -> Bool {
        try await connection.query("""
            UPDATE gaps SET lease_until = now() + make_interval(secs => $3::float8), updated_at = now()
            WHERE id = $1 AND lease_owner = $2 AND status = '\(GapStatus.filling.rawValue)'
            """, [id, owner, Self.seconds(lease)]).affectedRows == 1
    }

    /// The gap is repaired.
    public func filled(_ id: Int64, owner: String) async throws {
        try await finish(id, owner: owner, status: .filled, error: nil, retryAfter: nil)
    }

    /// The provider cannot serve it (no access on the plan, history beyond what it keeps): never retried.
    public func unfillable(_ id: Int64, owner: String, reason: String) async throws {
        try await finish(id, owner: owner, status: .unfillable, error: reason, retryAfter: nil)
    }

    /// A failure worth retrying: due again after capped exponential backoff (`base` x 2^(attempts-1), at most `cap`).
    public func failed(_ id: Int64, owner: String, error: String, base: Duration = .seconds(5), cap: Duration = .seconds(900)) async throws {
        try await finish(id, owner: owner, status: .failed, error: error, retryAfter: (base, cap), retryIn: nil)
    }

    /// A failure worth retrying: due again after `retryIn` (the repair's own backoff, ``GapRepair/retryDelay(attempts:)``).
    func failed(_ id: Int64, owner: String, error: String, retryIn: Duration) async throws {
        try await finish(id, owner: owner, status: .failed, error: error, retryAfter: nil, retryIn: retryIn)
    }

    private func finish(_ id: Int64, owner: String, status: GapStatus, error: String?, retryAfter: (Duration, Duration)?,
                        retryIn: Duration? = nil) async throws {
        let base = retryAfter.map { Double($0.0.components.seconds) } ?? 0
        let cap = retryAfter.map { Double($0.1.components.seconds) } ?? 0
        try await connection.query("""
            UPDATE gaps SET status = $3, last_error = $4, lease_owner = NULL, lease_until = NULL, updated_at = now(),
                            next_attempt_at = CASE WHEN $3 = '\(GapStatus.failed.rawValue)'
                                THEN now() + coalesce($7::bigint * interval '1 microsecond',
                                                      make_interval(secs => least($6::float8, $5::float8 * power(2, greatest(attempts - 1, 0)))))
                                ELSE next_attempt_at END
            WHERE id = $1 AND lease_owner = $2
            """, [id, owner, status.rawValue, error, String(base), String(cap), retryIn.map { $0.nanosecondsClamped / 1_000 }])
    }

    /// Records minutes the provider confirmed to have no candle.
    public func confirmEmpty(source: String, symbol: String, minutes: [Int64]) async throws {
        guard !minutes.isEmpty else { return }
        try await connection.query("""
            INSERT INTO confirmed_empty (source, symbol, minute)
            SELECT $1, $2, to_timestamp(m / 1000000000) FROM unnest($3::bigint[]) AS m ON CONFLICT DO NOTHING
            """, [source, symbol, "{" + minutes.map(String.init).joined(separator: ",") + "}"])
    }

    /// Every gap of a source and symbol, oldest window first.
    public func gaps(source: String, symbol: String) async throws -> [Gap] {
        try await connection.query("""
            SELECT \(Self.columns)
            FROM gaps WHERE source = $1 AND symbol = $2 ORDER BY from_ts, id
            """, [source, symbol]).rows.map(Self.gap)
    }

    /// Gaps per status, and the oldest start of a gap not yet filled (ns), for heartbeats and the monitor.
    public struct Summary: Sendable, Equatable {
        public var byStatus: [GapStatus: Int64]
        public var oldestUnfilledFrom: Int64?
        /// Minutes covered by gaps that are open, filling or failed.
        public var minutesToRepair: Int64
    }

    public func summary() async throws -> Summary {
        let rows = try await connection.query("""
            SELECT status, count(*) AS n,
                   min(from_ts) FILTER (WHERE status <> '\(GapStatus.filled.rawValue)') AS oldest,
                   least(sum(to_ts / 60000000000 - from_ts / 60000000000 + 1) FILTER (WHERE status IN (\(GapStatus.sqlList(GapStatus.allCases.filter(\.isQueued))))),
                         9223372036854775807)::bigint AS minutes
            FROM gaps GROUP BY status
            """)
        var summary = Summary(byStatus: [:], oldestUnfilledFrom: nil, minutesToRepair: 0)
        for row in rows.rows {
            let status = try row.decode(String.self, "status")
            guard let known = GapStatus(rawValue: status) else {
                throw PostgresError(code: .decoding, message: "gaps.status '\(status)' is not a gap status")
            }
            summary.byStatus[known] = try row.decode(Int64.self, "n")
            if let oldest = try row.decodeIfPresent(Int64.self, "oldest") { summary.oldestUnfilledFrom = min(summary.oldestUnfilledFrom ?? oldest, oldest) }
            summary.minutesToRepair = summary.minutesToRepair.addingClamped(try row.decodeIfPresent(Int64.self, "minutes") ?? 0)
        }
        return summary
    }

    static func status(_ text: String) throws -> GapStatus {
        guard let status = GapStatus(rawValue: text) else { throw PostgresError(code: .decoding, message: "gaps.status '\(text)' is not a gap status") }
        return status
    }

    static let columns = "id, source, symbol, from_ts, to_ts, array_to_string(reasons, ',') AS reasons, status, attempts, last_error, venue_symbol"

    static func gap(_ row: PostgresRow) throws -> Gap {
        Gap(id: try row.decode(Int64.self, "id"), source: try row.decode(String.self, "source"), symbol: try row.decode(String.self, "symbol"),
            from: try row.decode(Int64.self, "from_ts"), to: try row.decode(Int64.self, "to_ts"),
            reasons: (try row.decode(String.self, "reasons")).split(separator: ",").map(String.init),
            status: try Self.status(row.decode(String.self, "status")), attempts: try row.decode(Int.self, "attempts"),
            lastError: try row.decodeIfPresent(String.self, "last_error"), venueSymbol: try row.decodeIfPresent(String.self, "venue_symbol"))
    }
}
