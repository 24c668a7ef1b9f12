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
        /// Replicas still taking.
        let running = Mutex(0)
    }

    /// A replica's limiter on a connection of its own, on `clock` (its waits and the bucket's times:
    /// every wait is exact).
    static func limiter(_ clock: ManualClock) async throws -> (SharedRateLimiter, PostgresConnection) {
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        return (SharedRateLimiter(connection: connection, metricsFactory: NOOPMetricsHandler.instance,
                                  clock: clock, wallClock: { clock.wallNanoseconds }), connection)
    }

    @Test("limits read N/s or N/m with an optional burst; anything else is refused")
    func parsing() throws {
        #expect(try RateLimit.reader.parse("10/s,burst=5") == RateLimit(perSecond: 10, burst: 5))
        #expect(try RateLimit.reader.parse("60/m") == RateLimit(perSecond: 1, burst: 1))
        #expect(throws: ConfigValueError.self) { try RateLimit.reader.parse("10/h") }
        #expect(throws: ConfigValueError.self) { try RateLimit.reader.parse("fast") }
        #expect(throws: ConfigValueError.self) { try RateLimit.reader.parse("10/s,burst=0") }
    }

    @Test("three replicas taking 30 requests each are scheduled one emission interval apart after the burst, never more than rate x window + burst in any window")
    func replicasShareTheLimit() async throws {
        let bucket = TestEnvironment.uniqueName("bucket")
        let limit = RateLimit(perSecond: 20, burst: 4)
        let clock = ManualClock()
        let grants = Grants()
        grants.running.withLock { $0 = 3 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let (replica, connection) = try await Self.limiter(clock)
                    for _ in 0..<30 {
                        let grant = try await replica.acquire(bucket, limit: limit)
                        grants.times.withLock { $0.append(grant.scheduledAt) }
                    }
                    grants.running.withLock { $0 -= 1 }
                    await connection.close()
                }
            }
            // Time moves only when every replica still taking waits on the clock: to the next deadline.
            while grants.running.withLock({ $0 }) > 0 {
                let sleeping = clock.sleeperCount
                if sleeping > 0, sleeping == grants.running.withLock({ $0 }), let next = clock.nextDeadline {
                    clock.advance(to: next)
                }
                try await Task.sleep(for: .milliseconds(1))
            }
            try await group.waitForAll()
        }
        // The schedule by the bucket's clock, the one the replicas share: GCRA grants the burst of 4 at
        // once and then one request every 50 ms, whichever replica asks, 90 requests over 4.3 s.
        let start = clock.wallOrigin
        let times = grants.times.withLock { $0 }.sorted().map { $0 - start }
        let expected = (0..<90).map { Int64(max(0, $0 - 3)) * 50_000_000 }
        #expect(times == expected)
        for (index, first) in times.enumerated() {
            let inWindow = times[index...].prefix { $0 - first < 1_000_000_000 }.count
            #expect(inWindow <= 20 + 4, "\(inWindow) requests scheduled in the second after request \(index)")
        }
    }

    @Test("a 429's Retry-After holds every replica back: the next request goes when it ends, the ones after it an emission interval apart")
    func retryAfterHoldsEveryone() async throws {
        let bucket = TestEnvironment.uniqueName("bucket")
        let limit = RateLimit(perSecond: 50, burst: 10)
        let clock = ManualClock()
        let (first, a) = try await Self.limiter(clock)
        let (second, b) = try await Self.limiter(clock)
        #expect(try await first.reserve(bucket, limit: limit) == .zero)
        try await first.backOff(bucket, retryAfter: .seconds(2), limit: limit)
        // The other replica, at the same moment, waits out the 2 s; the burst does not apply right after
        // a block (the bucket is full exactly when the block ends), so requests after it go 20 ms apart.
        #expect(try await second.reserve(bucket, limit: limit) == .seconds(2))
        #expect(try await first.reserve(bucket, limit: limit) == .milliseconds(2_020))
        #expect(try await second.blockedFor(bucket) == .seconds(2))
        // Half a second later, the block has half a second less to run.
        clock.advance(by: .milliseconds(500))
        #expect(try await first.blockedFor(bucket) == .milliseconds(1_500))
        #expect(try await second.reserve(bucket, limit: limit) == .milliseconds(1_540))
        await a.close()
        await b.close()
    }

    @Test("a request reserved before another replica's 429 is not sent inside its Retry-After: it waits the block out and is scheduled when it ends")
    func reservationsHonourLaterRetryAfter() async throws {
        let bucket = TestEnvironment.uniqueName("bucket")
        let limit = RateLimit(perSecond: 1, burst: 1)
        let clock = ManualClock()
        let (first, a) = try await Self.limiter(clock)
        let (second, b) = try await Self.limiter(clock)
        #expect(try await first.acquire(bucket, limit: limit) == RateGrant(scheduledAt: clock.wallOrigin, spent: .zero))
        // The first replica's next token is due in a second; it reserves it now and waits until 50 ms
        // before its slot, when it looks for a block.
        async let sent = first.acquire(bucket, limit: limit)
        try await clock.waitForSleepers(1)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .milliseconds(950)))
        // 300 ms later the other replica is told to retry after 2 s: the bucket is blocked until 2.3 s.
        clock.advance(by: .milliseconds(300))
        try await second.backOff(bucket, retryAfter: .seconds(2), limit: limit)
        // At 950 ms the waiting request sees the block and waits it out (1.35 s more)...
        clock.advance(to: ManualClock.Instant(offset: .milliseconds(950)))
        try await clock.waitForSleepers(1)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .milliseconds(2_300)))
        // ...then reserves anew behind it and goes at once, when the block ends.
        clock.advance(to: ManualClock.Instant(offset: .milliseconds(2_300)))
        let grant = try await sent
        #expect(grant == RateGrant(scheduledAt: clock.wallOrigin + 2_300_000_000, spent: .milliseconds(2_300)))
        await a.close()
        await b.close()
    }
}
