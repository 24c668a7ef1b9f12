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
/// Stored values are bounded when read (and the row repaired): `blocked_until` at most
/// ``maxRetryAfter`` ahead, `tat` at most ``horizon(_:)`` ahead, so a bucket written by an older
/// version, by hand or by a bug (a Retry-After of years) delays requests by at most those bounds and
/// never overflows a wait.
///
/// Taking is a reservation: the statement answers how long to wait before sending, and the caller waits
/// (cancellably) that long. Metrics per bucket: `fx_backfill_rate_requests_total`,
/// `fx_backfill_rate_wait_seconds_total` (time waited for tokens and out of Retry-After blocks), `fx_backfill_rate_limited_total` (429s seen).
public final class SharedRateLimiter: Sendable {
    private let connection: PostgresConnection
    private let factory: any MetricsFactory
    private let clock: WaitClock
    private let wallClock: (@Sendable () -> Int64)?

    /// - Parameters:
    ///   - clock: the clock the limiter measures and sleeps its waits on (`ContinuousClock`: never steps).
    ///   - wallClock: the moment (ns since the epoch) the shared bucket's times are computed from; nil (the
    ///     default): the database's own clock (`now()`), the one clock every replica shares. Tests pass a
    ///     reading of their manual clock, so that every wait the bucket answers is exact.
    public init<C: Clock<Duration>>(connection: PostgresConnection, metricsFactory: any MetricsFactory,
                                    clock: C = ContinuousClock(), wallClock: (@Sendable () -> Int64)? = nil) {
        self.connection = connection
        self.factory = metricsFactory
        self.clock = WaitClock(clock)
        self.wallClock = wallClock
    }

    /// The injected clock, as time since the limiter was made.
    struct WaitClock: Sendable {
        let now: @Sendable () -> Duration
        let sleep: @Sendable (_ until: Duration) async throws -> Void

        init<C: Clock<Duration>>(_ clock: C) {
            let origin = clock.now
            now = { origin.duration(to: clock.now) }
            sleep = { try await clock.sleep(until: origin.advanced(by: $0), tolerance: nil) }
        }
    }

    /// The longest a provider's `Retry-After` blocks a bucket (15 minutes); longer answers are capped.
    public static let maxRetryAfter = Duration.seconds(900)
    /// Reservations that may be queued ahead of the sustained rate, beyond a Retry-After block and the burst.
    static let maxQueuedReservations = 1_024
    /// The longest any wait read from the database may be (a safety bound for the conversion to a Duration).
    static let maxWait = Duration.seconds(86_400 * 366)

    /// How far ahead of now a bucket's `tat` may lie: one Retry-After block, the burst and
    /// ``maxQueuedReservations`` emission intervals (seconds).
    static func horizon(_ limit: RateLimit) -> Double {
        Double(maxRetryAfter.components.seconds) + limit.tolerance + Double(maxQueuedReservations) * limit.interval
    }

    /// How long before its slot a reserved request looks for a 429's block: the look-up's own latency is
    /// absorbed in this lead, so the request still goes out at its slot (a look-up right before sending
    /// would delay some requests more than others and bunch them up). Requests due sooner send on their
    /// reservation's own answer, with no second look-up.
    static let blockCheckLead = Duration.milliseconds(50)

    /// Reserves one request on `bucket` and waits until it may be sent. Returns the grant: when the
    /// shared bucket scheduled the request (by the bucket's clock) and the time spent here.
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
        let started = clock.now()
        while true {
            let reserved = try await reservation(bucket, limit: limit)
            let slot = clock.now() + reserved.wait
            var blocked = reserved.blocked
            if reserved.wait >= Self.blockCheckLead {
                try await sleep(until: slot - Self.blockCheckLead, bucket: bucket)
                blocked = try await blockedFor(bucket)
            }
            if blocked > .zero {
                try await sleep(until: clock.now() + blocked, bucket: bucket)
                continue
            }
            try await sleep(until: slot, bucket: bucket)
            return RateGrant(scheduledAt: reserved.scheduledAt, spent: clock.now() - started)
        }
    }

    /// Sleeps until `deadline` (time since the limiter was made, on its clock).
    private func sleep(until deadline: Duration, bucket: String) async throws {
        let wait = deadline - clock.now()
        guard wait > .zero else { return }
        FloatingPointCounter(label: "fx_backfill_rate_wait_seconds_total", dimensions: [("bucket", bucket)], factory: factory)
            .increment(by: Double(wait.nanosecondsClamped) / 1e9)
        try await clock.sleep(deadline)
    }

    /// The bucket's clock in SQL, with its reading as parameter `$index` (microseconds since the epoch;
    /// NULL: the database's `now()`).
    private static func now(_ index: Int) -> String {
        "coalesce(timestamptz 'epoch' + $\(index)::bigint * interval '1 microsecond', now())"
    }

    /// A span of microseconds in SQL, from parameter `$index`.
    private static func span(_ index: Int) -> String { "$\(index)::bigint * interval '1 microsecond'" }

    /// The wall clock's reading for the statements' `now` parameter (nil: the database's clock).
    private func wallMicroseconds() -> Int64? { wallClock.map { $0() / 1_000 } }

    /// Seconds as whole microseconds, for the statements' spans.
    static func microseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return seconds >= 9e12 ? 9_000_000_000_000_000_000 : Int64((seconds * 1e6).rounded())
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.nanosecondsClamped / 1_000
    }

    /// How long a provider's Retry-After still blocks `bucket` (zero: not blocked).
    public func blockedFor(_ bucket: String) async throws -> Duration {
        let rows = try await connection.query("""
            SELECT CASE WHEN blocked_until > \(Self.now(3))
                        THEN (extract(epoch FROM least(blocked_until, \(Self.now(3)) + \(Self.span(2))) - \(Self.now(3))) * 1000000)::bigint
                        ELSE 0 END::text AS blocked_us
            FROM rate_buckets WHERE bucket = $1
            """, [bucket, Self.microseconds(Self.maxRetryAfter), wallMicroseconds()])
        return Self.duration(microseconds: rows.first?["blocked_us"])
    }

    /// Microseconds read from the database as a Duration in 0 ... ``maxWait`` (garbage: zero).
    static func duration(microseconds text: String?) -> Duration {
        guard let microseconds = Int64(text ?? "0"), microseconds > 0 else { return .zero }
        return min(.microseconds(microseconds), maxWait)
    }

    /// Reserves one request and answers how long to wait before sending it (zero: now).
    public func reserve(_ bucket: String, limit: RateLimit) async throws -> Duration {
        try await reservation(bucket, limit: limit).wait
    }

    /// Reserves one request: how long to wait before sending it, when that is by the bucket's clock
    /// (ns since the epoch), and how long a 429 still blocks the bucket, in one statement. A stored
    /// `tat` or `blocked_until` beyond its bound is brought back to it (see the type's notes).
    /// Times are whole microseconds (PostgreSQL's resolution), computed exactly.
    func reservation(_ bucket: String, limit: RateLimit) async throws -> (wait: Duration, scheduledAt: Int64, blocked: Duration) {
        let now = Self.now(6)
        let rows = try await connection.query("""
            INSERT INTO rate_buckets AS r (bucket, tat) VALUES ($1, \(now) + \(Self.span(2)))
            ON CONFLICT (bucket) DO UPDATE
                SET tat = greatest(least(r.tat, \(now) + \(Self.span(4))), \(now)) + \(Self.span(2)),
                    blocked_until = least(r.blocked_until, \(now) + \(Self.span(5))),
                    updated_at = now()
            RETURNING greatest(0, (extract(epoch FROM r.tat - \(now)) * 1000000)::bigint - $2::bigint - $3::bigint)::text AS wait_us,
                      (extract(epoch FROM \(now)) * 1000000)::bigint::text AS now_us,
                      CASE WHEN r.blocked_until > \(now) THEN (extract(epoch FROM r.blocked_until - \(now)) * 1000000)::bigint ELSE 0 END::text AS blocked_us
            """, [bucket, Self.microseconds(limit.interval), Self.microseconds(limit.tolerance), Self.microseconds(Self.horizon(limit)),
                  Self.microseconds(Self.maxRetryAfter), wallMicroseconds()])
        let wait = Self.duration(microseconds: rows.first?["wait_us"])
        let nowMicroseconds = Int64(rows.first?["now_us"] ?? "0") ?? 0
        let scheduled = nowMicroseconds.multipliedClamped(by: 1_000).addingClamped(wait.nanosecondsClamped)
        return (wait, scheduled, Self.duration(microseconds: rows.first?["blocked_us"]))
    }

    /// A provider answered 429: no replica sends on `bucket` before `retryAfter` has passed — neither
    /// new reservations (the bucket's arrival time moves past it) nor ones already taken (they check
    /// `blocked_until` before sending).
    /// `retryAfter` counts for at most ``maxRetryAfter``.
    public func backOff(_ bucket: String, retryAfter: Duration, limit: RateLimit) async throws {
        Counter(label: "fx_backfill_rate_limited_total", dimensions: [("bucket", bucket)], factory: factory).increment()
        let now = Self.now(6)
        try await connection.query("""
            INSERT INTO rate_buckets AS r (bucket, tat, blocked_until)
            VALUES ($1, \(now) + \(Self.span(2)) + \(Self.span(3)), \(now) + \(Self.span(2)))
            ON CONFLICT (bucket) DO UPDATE
                SET tat = greatest(least(r.tat, \(now) + \(Self.span(4))), \(now) + \(Self.span(2)) + \(Self.span(3))),
                    blocked_until = greatest(least(r.blocked_until, \(now) + \(Self.span(5))), \(now) + \(Self.span(2))),
                    updated_at = now()
            """, [bucket, Self.microseconds(min(max(retryAfter, .zero), Self.maxRetryAfter)), Self.microseconds(limit.tolerance),
                  Self.microseconds(Self.horizon(limit)), Self.microseconds(Self.maxRetryAfter), wallMicroseconds()])
    }
}
