import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXPostgres
import FXTestSupport
import Testing

/// The backfiller's completeness ledger, against PostgreSQL.
@Suite("Gap ledger", .serialized, .tags(.integration))
struct GapLedgerTests {
    static let minute: Int64 = 60_000_000_000
    static let t0: Int64 = 29_386_080 * minute   // 2026-11-17 00:00 UTC

    static func ledger() async throws -> GapLedger {
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        return GapLedger(connection: connection)
    }

    func event(_ symbol: String, _ from: Int64, _ to: Int64, _ reason: GapEvent.Reason = .disconnect, source: String) -> GapEvent {
        GapEvent(source: source, symbol: symbol, venueSymbol: symbol, from: from, to: to, reason: reason,
                 detectedAt: to + 1, detail: "test", instance: "test")
    }

    @Test("the gaps table's status constraint admits exactly the contract's gap statuses")
    func statusesMatchTheTable() async throws {
        _ = try await Self.ledger()
        let connection = try await PostgresTestKit.connect()
        let rows = try await connection.query("""
            SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
            WHERE conrelid = 'gaps'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status%'
            """)
        let definition = try #require(rows.first?["definition"])
        let admitted = Set(definition.matches(of: /'([a-z_]+)'/).map { String($0.output.1) })
        #expect(admitted == Set(GapStatus.allCases.map(\.rawValue)), "CHECK \(definition)")
        await connection.close()
    }

    @Test("a replayed event changes nothing; overlapping and adjacent windows merge; distant ones do not")
    func recordAndMerge() async throws {
        let ledger = try await Self.ledger()
        let source = TestEnvironment.uniqueName("src")
        let first = event("X/USD", Self.t0, Self.t0 + 5 * Self.minute, source: source)
        #expect(try await ledger.record(first) != nil)
        #expect(try await ledger.record(first) == nil, "the same event again is not recorded twice")
        _ = try await ledger.record(event("X/USD", Self.t0 + 4 * Self.minute, Self.t0 + 8 * Self.minute, .stale, source: source))
        _ = try await ledger.record(event("X/USD", Self.t0 + 8 * Self.minute + 30_000_000_000, Self.t0 + 9 * Self.minute, .sequence, source: source))
        _ = try await ledger.record(event("X/USD", Self.t0 + 60 * Self.minute, Self.t0 + 61 * Self.minute, source: source))
        let gaps = try await ledger.gaps(source: source, symbol: "X/USD")
        #expect(gaps.count == 2)
        #expect(gaps[0].from == Self.t0 && gaps[0].to == Self.t0 + 9 * Self.minute)
        #expect(gaps[0].reasons == ["disconnect", "sequence", "stale"])
        #expect(gaps[1].from == Self.t0 + 60 * Self.minute)
        #expect(gaps.allSatisfy { $0.status == .open })
        await ledger.connection.close()
    }

    @Test("replicas claim distinct gaps; a lease that runs out lets another replica claim the gap again")
    func claims() async throws {
        let ledger = try await Self.ledger()
        let source = TestEnvironment.uniqueName("src")
        for index in 0..<3 {
            _ = try await ledger.record(event("S\(index)/USD", Self.t0, Self.t0 + Self.minute, source: source))
        }
        let other = GapLedger(connection: try await PostgresTestKit.connect())
        var claimed: [Int64] = []
        while claimed.count < 3 {
            // Only this test's gaps matter; others may be due too (shared database).
            guard let a = try await ledger.claim(owner: "a", lease: .seconds(60)) else { break }
            if a.source == source { claimed.append(a.id) } else { try await ledger.filled(a.id, owner: "a") }
        }
        #expect(Set(claimed).count == 3)
        let stolen = try await other.claim(owner: "b", lease: .seconds(60))
        #expect(stolen.map { $0.source != source } ?? true, "a leased gap is not claimed twice")
        // A worker that died: its lease ends, another claims the gap.
        try await ledger.connection.query("UPDATE gaps SET lease_until = now() - interval '1 second' WHERE id = $1", [claimed[0]])
        var reclaimed: FXBackfill.GapLedger.Gap?
        while let next = try await other.claim(owner: "b", lease: .seconds(60)) {
            if next.id == claimed[0] { reclaimed = next; break }
            if next.source != source { try await other.filled(next.id, owner: "b") }
        }
        #expect(reclaimed?.attempts == 2)
        // The dead worker's late completion does not overwrite the new owner's.
        try await ledger.filled(claimed[0], owner: "a")
        #expect(try await ledger.gaps(source: source, symbol: "S0/USD").first?.status == .filling)
        await ledger.connection.close()
        await other.connection.close()
    }

    @Test("failures back off; unfillable gaps stay; coverage says complete, confirmed empty or missing and why")
    func outcomesAndCoverage() async throws {
        let ledger = try await Self.ledger()
        let source = TestEnvironment.uniqueName("src")
        _ = try await ledger.record(event("C/USD", Self.t0 + Self.minute, Self.t0 + 2 * Self.minute, source: source))
        _ = try await ledger.record(event("D/USD", Self.t0, Self.t0 + Self.minute, source: source))
        var mine: [String: GapLedger.Gap] = [:]
        while mine.count < 2, let gap = try await ledger.claim(owner: "w", lease: .seconds(60)) {
            if gap.source == source { mine[gap.symbol] = gap } else { try await ledger.filled(gap.id, owner: "w") }
        }
        try await ledger.failed(try #require(mine["C/USD"]).id, owner: "w", error: "HTTP 500", base: .seconds(30))
        try await ledger.unfillable(try #require(mine["D/USD"]).id, owner: "w", reason: "You don't have access to this resource")
        let due = try await ledger.connection.query("SELECT next_attempt_at > now() + interval '20 seconds' AS later FROM gaps WHERE id = $1",
                                                    [try #require(mine["C/USD"]).id])
        #expect(due.first?["later"] == "t", "a failed gap is due again only after its backoff")
        #expect(try await ledger.gaps(source: source, symbol: "D/USD").first?.status == .unfillable)

        // Minute 0: a candle; minute 1: confirmed empty; minute 2: the failed gap.
        try await ledger.connection.query("""
            INSERT INTO candles (source, symbol, timeframe, price_type, bucket, open, high, low, close, volume, tick_count, notional,
                                 open_ts, close_ts, open_key, close_key, ticks_topic, kafka_partition)
            VALUES ($1, 'C/USD', '1m', 'trade', to_timestamp($2::bigint / 1000000000), 1, 1, 1, 1, 1, 1, 1, $2, $2, 'a', 'a', 't', 0)
            """, [source, Self.t0])
        try await ledger.confirmEmpty(source: source, symbol: "C/USD", minutes: [Self.t0 + Self.minute])
        let coverage = try await ledger.connection.query("""
            SELECT state, detail FROM gap_coverage($1, 'C/USD', to_timestamp($2::bigint / 1000000000), to_timestamp($3::bigint / 1000000000))
            ORDER BY minute
            """, [source, Self.t0, Self.t0 + 3 * Self.minute])
        #expect(coverage.rows.map { $0["state"] } == ["complete", "confirmed_empty", "missing"])
        #expect(coverage.rows.last?["detail"]?.contains("failed: disconnect (HTTP 500)") == true, "\(coverage.rows.last?["detail"] ?? "nil")")
        await ledger.connection.close()
    }
}
