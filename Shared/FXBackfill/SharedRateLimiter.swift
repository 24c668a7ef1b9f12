import CoreMetrics
import FXCore
import FXPostgres
import Foundation

/// A token bucket per provider credential kept in PostgreSQL (`rate_buckets`), shared by every backfiller
/// replica: each token is taken in one statement (GCRA: the bucket's theoretical arrival time moves by the
/// emission interval under the row lock), so N replicas together never exceed the rate and burst. A
/// provider's 429 with `Retry-After` moves the whole bucket past that time and blocks it until then, for
/// every replica, including requests already reserved.
///
/// Taking is a reservation: the statement answers how long to wait before sending, and the caller waits
/// (cancellably) that long. Metrics per bucket: `fx_backfill_rate_requests_total`,
/// `fx_backfill_rate_wait_seconds_total` (time waited for tokens and out of Retry-After blocks), `fx_backfill_rate_limited_total` (429s seen).
public final class SharedRateLimiter: Sendable {
    private let connection: PostgresConnection
    private let factory: any MetricsFactory

    public init(connection: PostgresConnection, metricsFactory: any MetricsFactory) {
        self.connection = connection
        self.factory = metricsFactory
    }

    /// How long before its slot a reserved request looks for a 429's block: the look-up's own latency is
    /// absorbed in this lead, so the request still goes out at its slot (a look-up right before sending
    /// would delay some requests more than others and bunch them up). Requests due sooner send on their
    /// reservation's own answer, with no second look-up.
    static let blockCheckLead = Duration.milliseconds(50)

    /// Reserves one request on `bucket` and waits until it may be sent. Returns the grant: when the
    /// shared bucket scheduled the request (database clock) and the time spent here.
    ///
    /// A reservation taken before another replica's 429 would fall inside that answer's Retry-After, so
    /// a request due later than ``blockCheckLead`` looks at the bucket's block shortly before its slot
    /// (one due sooner has the block in its reservation's answer); if one arrived it waits the block out
    /// and reserves anew behind it (the old slot is given up, never sent). A 429 that arrives within the
    /// last ``blockCheckLead`` before a send is as simultaneous as two replicas' requests on the wire: no
    /// client-side limiter can see it.
    @discardableResult
    public func acquire(_ bucket: String, limit: RateLimit) async throws -> RateGrant {
        Counter(label: "fx_backfill_rate_requests_total", dimensions: [("bucket", bucket)], factory: factory).increment()
        let started = ContinuousClock.now
        while true {
            let reserved = try await reservation(bucket, limit: limit)
            let slot = ContinuousClock.now + reserved.wait
            var blocked = reserved.blocked
            if reserved.wait >= Self.blockCheckLead {
                try await sleep(until: slot - Self.blockCheckLead, bucket: bucket)
                blocked = try await blockedFor(bucket)
            }
            if blocked > .zero {
                try await sleep(until: .now + blocked, bucket: bucket)
                continue
            }
            try await sleep(until: slot, bucket: bucket)
            return RateGrant(scheduledAt: reserved.scheduledAt, spent: .now - started)
        }
    }

    private func sleep(until deadline: ContinuousClock.Instant, bucket: String) async throws {
        let wait = deadline - .now
        guard wait > .zero else { return }
        FloatingPointCounter(label: "fx_backfill_rate_wait_seconds_total", dimensions: [("bucket", bucket)], factory: factory)
            .increment(by: Double(wait.nanosecondsClamped) / 1e9)
        try await Task.sleep(until: deadline, clock: .continuous)
    }

    /// How long a provider's Retry-After still blocks `bucket` (zero: not blocked).
    public func blockedFor(_ bucket: String) async throws -> Duration {
        let rows = try await connection.query("""
            SELECT CASE WHEN blocked_until > now() THEN extract(epoch FROM blocked_until - now()) ELSE 0 END::text AS blocked
            FROM rate_buckets WHERE bucket = $1
            """, [bucket])
        return Self.duration(seconds: rows.first?["blocked"])
    }

    private static func duration(seconds text: String?) -> Duration {
        let seconds = Double(text ?? "0") ?? 0
        return .nanoseconds(Int64((seconds * 1e9).rounded(.up)))
    }

    /// Reserves one request and answers how long to wait before sending it (zero: now).
    public func reserve(_ bucket: String, limit: RateLimit) async throws -> Duration {
        try await reservation(bucket, limit: limit).wait
    }

    /// Reserves one request: how long to wait before sending it, when that is by the database's clock
    /// (ns since the epoch), and how long a 429 still blocks the bucket, in one statement.
    func reservation(_ bucket: String, limit: RateLimit) async throws -> (wait: Duration, scheduledAt: Int64, blocked: Duration) {
        let rows = try await connection.query("""
            INSERT INTO rate_buckets AS r (bucket, tat) VALUES ($1, now() + make_interval(secs => $2::float8))
            ON CONFLICT (bucket) DO UPDATE
                SET tat = greatest(r.tat, now()) + make_interval(secs => $2::float8), updated_at = now()
            RETURNING greatest(0, extract(epoch FROM r.tat - now()) - $2::float8 - $3::float8)::text AS wait,
                      ((extract(epoch FROM now()) + greatest(0, extract(epoch FROM r.tat - now()) - $2::float8 - $3::float8)) * 1000000)::bigint::text AS scheduled_us,
                      CASE WHEN r.blocked_until > now() THEN extract(epoch FROM r.blocked_until - now()) ELSE 0 END::text AS blocked
            """, [bucket, String(limit.interval), String(limit.tolerance)])
        let scheduled = (Int64(rows.first?["scheduled_us"] ?? "0") ?? 0) * 1_000
        return (Self.duration(seconds: rows.first?["wait"]), scheduled, Self.duration(seconds: rows.first?["blocked"]))
    }

    /// A provider answered 429: no replica sends on `bucket` before `retryAfter` has passed — neither
    /// new reservations (the bucket's arrival time moves past it) nor ones already taken (they check
    /// `blocked_until` before sending).
    public func backOff(_ bucket: String, retryAfter: Duration, limit: RateLimit) async throws {
        Counter(label: "fx_backfill_rate_limited_total", dimensions: [("bucket", bucket)], factory: factory).increment()
        let seconds = Double(retryAfter.nanosecondsClamped) / 1e9
        try await connection.query("""
            INSERT INTO rate_buckets AS r (bucket, tat, blocked_until)
            VALUES ($1, now() + make_interval(secs => $2::float8 + $3::float8), now() + make_interval(secs => $2::float8))
            ON CONFLICT (bucket) DO UPDATE
                SET tat = greatest(r.tat, now() + make_interval(secs => $2::float8 + $3::float8)),
                    blocked_until = greatest(r.blocked_until, now() + make_interval(secs => $2::float8)),
                    updated_at = now()
            """, [bucket, String(seconds), String(limit.tolerance)])
    }
}
