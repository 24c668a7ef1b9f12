import Foundation
import FXBackfill
import FXConfiguration
import FXPostgres
import FXTestSupport
import Metrics
import Synchronization
import Testing

/// The REST rate limit shared by backfiller replicas through PostgreSQL.
@Suite("Shared rate limiter", .serialized, .tags(.integration))
struct SharedRateLimiterTests {
    /// Grant times, from several tasks.
    final class Grants: Sendable {
        let times = Mutex<[Int64]>([])
    }

    static func limiter() async throws -> (SharedRateLimiter, PostgresConnection) {
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        return (SharedRateLimiter(connection: connection, metricsFactory: NOOPMetricsHandler.instance), connection)
    }

    @Test("limits read N/s or N/m with an optional burst; anything else is refused")
    func parsing() throws {
        #expect(try RateLimit.reader.parse("10/s,burst=5") == RateLimit(perSecond: 10, burst: 5))
        #expect(try RateLimit.reader.parse("60/m") == RateLimit(perSecond: 1, burst: 1))
        #expect(throws: ConfigValueError.self) { try RateLimit.reader.parse("10/h") }
        #expect(throws: ConfigValueError.self) { try RateLimit.reader.parse("fast") }
        #expect(throws: ConfigValueError.self) { try RateLimit.reader.parse("10/s,burst=0") }
    }

    @Test("three replicas taking 30 requests each are scheduled at most rate x window + burst in any window")
    func replicasShareTheLimit() async throws {
        let bucket = TestEnvironment.uniqueName("bucket")
        let limit = RateLimit(perSecond: 20, burst: 4)
        let grants = Grants()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let (replica, connection) = try await Self.limiter()
                    for _ in 0..<30 {
                        let grant = try await replica.acquire(bucket, limit: limit)
                        grants.times.withLock { $0.append(grant.scheduledAt) }
                    }
                    await connection.close()
                }
            }
            try await group.waitForAll()
        }
        // The schedule by the database's clock, the one the replicas share: what the limiter guarantees
        // exactly (each send then follows its slot by its own task's scheduling delay, which a loaded
        // test process stretches; the simulator-counted specs cover real sends).
        let times = grants.times.withLock { $0 }.sorted()
        #expect(times.count == 90)
        // GCRA: 25 grants are at least 24 x 50 ms - 150 ms = 1.05 s apart, so no window under a second holds more than 24.
        for (index, start) in times.enumerated() {
            let inWindow = times[index...].prefix { $0 - start < 1_000_000_000 }.count
            #expect(inWindow <= 20 + 4, "\(inWindow) requests scheduled in the second after request \(index)")
        }
        // And the limit is used, not just respected: 90 requests at 20/s with a burst of 4 take about 4.3 s
        // (longer only when the replicas ask slower than the rate, as on a loaded machine).
        let span = times.last! - times.first!
        #expect(span >= 4_300_000_000 - 1_000 && span < 20_000_000_000, "span \(span) ns")
    }

    @Test("a 429's Retry-After holds every replica back")
    func retryAfterHoldsEveryone() async throws {
        let bucket = TestEnvironment.uniqueName("bucket")
        let limit = RateLimit(perSecond: 50, burst: 10)
        let (first, a) = try await Self.limiter()
        let (second, b) = try await Self.limiter()
        #expect(try await first.reserve(bucket, limit: limit) == .zero)
        // Waits count from each reservation's own moment, which a loaded machine delays: what must hold is
        // that each reserved slot (its moment + its wait) is not before the block ends, 2 s after the 429.
        let backingOff = ContinuousClock.now
        try await first.backOff(bucket, retryAfter: .seconds(2), limit: limit)
        let asked = ContinuousClock.now
        let wait = try await second.reserve(bucket, limit: limit)
        #expect(wait + (ContinuousClock.now - backingOff) >= .milliseconds(1_950) && wait <= .milliseconds(2_300),
                "the other replica waits out Retry-After: \(wait)")
        let next = try await first.reserve(bucket, limit: limit)
        // The later reservation's slot is no earlier than the first's (within the burst both may share the
        // moment the block ends).
        let between = ContinuousClock.now - asked
        #expect(next + between >= wait && next + (ContinuousClock.now - backingOff) >= .milliseconds(1_950),
                "and requests after it queue behind it: \(next)")
        await a.close()
        await b.close()
    }

    @Test("a request reserved before another replica's 429 is not sent inside its Retry-After")
    func reservationsHonourLaterRetryAfter() async throws {
        let bucket = TestEnvironment.uniqueName("bucket")
        let limit = RateLimit(perSecond: 1, burst: 1)
        let (first, a) = try await Self.limiter()
        let (second, b) = try await Self.limiter()
        try await first.acquire(bucket, limit: limit)
        let start = ContinuousClock.now
        // The first replica's next token is due in about a second; it reserves it now and waits.
        async let sent = first.acquire(bucket, limit: limit)
        try await Task.sleep(for: .milliseconds(300))
        // Meanwhile the other replica is told to retry after 2 s.
        try await second.backOff(bucket, retryAfter: .seconds(2), limit: limit)
        _ = try await sent
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(2_250), "the reserved request waited out the Retry-After: sent after \(elapsed)")
        #expect(elapsed < .seconds(5), "and then went soon after: \(elapsed)")
        await a.close()
        await b.close()
    }
}
