import Foundation
@testable import FXBackfill
import FXPostgres
import FXTestSupport
import Testing

/// A provider's Retry-After, and whatever a bucket row holds, bound every wait: never a trap.
@Suite("Backfiller: Retry-After bounds", .serialized, .tags(.integration))
struct RetryAfterTests {
    @Test("Retry-After is read in seconds and capped at 15 minutes, however large",
          arguments: [("7500000000", Duration.seconds(900)), ("9223372036854775807", .seconds(900)),
                      ("99999999999999999999999", .seconds(900)), ("901", .seconds(900)), ("900", .seconds(900)),
                      ("30", .seconds(30)), (" 2 ", .seconds(2)), ("0", .zero), ("-5", .zero)])
    func capped(header: String, expected: Duration) {
        #expect(HistoryFetcher.retryAfter(header) == expected)
        #expect(SharedRateLimiter.maxRetryAfter == .seconds(900))
    }

    @Test("a Retry-After that is not a number of seconds falls back to the default wait", arguments: ["", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "1.5"])
    func notSeconds(header: String) {
        #expect(HistoryFetcher.retryAfter(header) == nil)
    }

    @Test("backing off with an absurd Retry-After blocks the bucket for at most 15 minutes")
    func backOffCapped() async throws {
        let (limiter, connection) = try await SharedRateLimiterTests.limiter(ManualClock())
        let bucket = TestEnvironment.uniqueName("bucket")
        try await limiter.backOff(bucket, retryAfter: .seconds(7_500_000_000), limit: RateLimit(perSecond: 10))
        #expect(try await limiter.blockedFor(bucket) == .seconds(900))
        await connection.close()
    }

    @Test("a bucket row already holding absurd times (years ahead, Int64-sized) is read within bounds and repaired",
          arguments: ["now() + make_interval(secs => 7500000000)", "'200000-01-01'::timestamptz", "'infinity'::timestamptz"])
    func absurdStoredRow(stored: String) async throws {
        let clock = ManualClock()
        let (limiter, connection) = try await SharedRateLimiterTests.limiter(clock)
        let bucket = TestEnvironment.uniqueName("bucket")
        let limit = RateLimit(perSecond: 10, burst: 2)
        try await connection.query("INSERT INTO rate_buckets (bucket, tat, blocked_until) VALUES ($1, \(stored), \(stored))", [bucket])
        #expect(try await limiter.blockedFor(bucket) == .seconds(900))
        // The stored times are brought back to their bounds: blocked for the longest Retry-After, the
        // request queued behind the longest backlog (horizon 900 s + 0.1 s + 1,024 x 0.1 s, less the burst).
        #expect(SharedRateLimiter.horizon(limit) == 1_002.5)
        let reserved = try await limiter.reservation(bucket, limit: limit)
        #expect(reserved.blocked == .seconds(900), "\(reserved)")
        #expect(reserved.wait == .milliseconds(1_002_400), "\(reserved)")
        #expect(reserved.scheduledAt == clock.wallOrigin + 1_002_400_000_000, "\(reserved)")
        let row = try await connection.query("""
            SELECT (blocked_until <= now() + interval '15 minutes')::text AS blocked_ok,
                   (tat <= now() + make_interval(secs => $2::float8 + 1))::text AS tat_ok
            FROM rate_buckets WHERE bucket = $1
            """, [bucket, String(SharedRateLimiter.horizon(limit))])
        #expect(row.first?["blocked_ok"] == "true" && row.first?["tat_ok"] == "true", "the row is brought back within bounds")
        // Taking a token waits (at most the bounds), cancellably, and never traps.
        let acquiring = Task { try await limiter.acquire(bucket, limit: limit) }
        try await clock.waitForSleepers(1)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .milliseconds(1_002_400 - 50)), "waits for its slot, less the block check's lead")
        acquiring.cancel()
        await #expect(throws: CancellationError.self) { try await acquiring.value }
        await connection.close()
    }
}
