import CoreMetrics
import FXPostgres
import Foundation

/// A token bucket per provider credential kept in PostgreSQL (`rate_buckets`), shared by every backfiller
/// replica: each token is taken in one statement (GCRA: the bucket's theoretical arrival time moves by the
/// emission interval under the row lock), so N replicas together never exceed the rate and burst. A
/// provider's 429 with `Retry-After` moves the whole bucket past that time, for every replica.
///
/// Taking is a reservation: the statement answers how long to wait before sending, and the caller waits
/// (cancellably) that long. Metrics per bucket: `fx_backfill_rate_requests_total`,
/// `fx_backfill_rate_wait_seconds_total` (tokens waited for), `fx_backfill_rate_limited_total` (429s seen).
public final class SharedRateLimiter: Sendable {
    private let connection: PostgresConnection
    private let factory: any MetricsFactory

    public init(connection: PostgresConnection, metricsFactory: any MetricsFactory) {
        self.connection = connection
        self.factory = metricsFactory
    }

    /// Reserves one request on `bucket` and waits until it may be sent. Returns the time waited.
    @discardableResult
    public func acquire(_ bucket: String, limit: RateLimit) async throws -> Duration {
        let wait = try await reserve(bucket, limit: limit)
        Counter(label: "fx_backfill_rate_requests_total", dimensions: [("bucket", bucket)], factory: factory).increment()
        if wait > .zero {
            FloatingPointCounter(label: "fx_backfill_rate_wait_seconds_total", dimensions: [("bucket", bucket)], factory: factory)
                .increment(by: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
            try await Task.sleep(for: wait)
        }
        return wait
    }

    /// Reserves one request and answers how long to wait before sending it (zero: now).
    public func reserve(_ bucket: String, limit: RateLimit) async throws -> Duration {
        let rows = try await connection.query("""
            INSERT INTO rate_buckets AS r (bucket, tat) VALUES ($1, now() + make_interval(secs => $2::float8))
            ON CONFLICT (bucket) DO UPDATE
                SET tat = greatest(r.tat, now()) + make_interval(secs => $2::float8), updated_at = now()
            RETURNING greatest(0, extract(epoch FROM r.tat - now()) - $2::float8 - $3::float8)::text AS wait
            """, [bucket, String(limit.interval), String(limit.tolerance)])
        let seconds = Double(rows.first?["wait"] ?? "0") ?? 0
        return .nanoseconds(Int64((seconds * 1e9).rounded(.up)))
    }

    /// A provider answered 429: no replica sends on `bucket` before `retryAfter` has passed.
    public func backOff(_ bucket: String, retryAfter: Duration, limit: RateLimit) async throws {
        Counter(label: "fx_backfill_rate_limited_total", dimensions: [("bucket", bucket)], factory: factory).increment()
        let seconds = Double(retryAfter.components.seconds) + Double(retryAfter.components.attoseconds) / 1e18
        try await connection.query("""
            INSERT INTO rate_buckets AS r (bucket, tat) VALUES ($1, now() + make_interval(secs => $2::float8 + $3::float8))
            ON CONFLICT (bucket) DO UPDATE
                SET tat = greatest(r.tat, now() + make_interval(secs => $2::float8 + $3::float8)), updated_at = now()
            """, [bucket, String(seconds), String(limit.tolerance)])
    }
}
