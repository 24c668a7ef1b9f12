import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXPostgres
import FXTestSupport
import Testing

/// Gap events the ledger cannot take are set aside with a reason, never retried for ever, never a trap.
@Suite("Backfiller: poison gap events", .tags(.integration))
struct GapRecorderTests {
    static let minute: Int64 = 60_000_000_000
    static let t0: Int64 = 29_386_080 * minute

    static func recorder() async throws -> (GapRecorder, GapLedger, PostgresConnection) {
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        return (GapRecorder(connection: connection, bootstrapLookback: .zero, logger: TestEnvironment.logger("recorder")),
                GapLedger(connection: connection), connection)
    }

    static func event(_ source: String, _ symbol: String, from: Int64, to: Int64, reason: GapEvent.Reason = .disconnect) -> GapEvent {
        GapEvent(source: source, symbol: symbol, venueSymbol: symbol, from: from, to: to, reason: reason,
                 detectedAt: to, detail: "test", instance: "ingestor-1")
    }

    /// Random capital letters: an index entry TOAST cannot compress below the btree row limit.
    static func incompressible(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<bytes).map { _ in Character(Unicode.Scalar(UInt8.random(in: 0x41...0x5A, using: &generator))) })
    }

    @Test("a batch with poison records the good events; each event the database refuses is set aside with refused_by_database")
    func poisonAmongGoodOnes() async throws {
        let (recorder, ledger, connection) = try await Self.recorder()
        let source = TestEnvironment.uniqueName("poison")
        let longSymbol = Self.incompressible(10_240)
        let events = [
            Self.event(source, "A/USD", from: Self.t0, to: Self.t0 + Self.minute),
            Self.event(source, longSymbol, from: Self.t0, to: Self.t0 + Self.minute),  // index row over the btree limit (54000)
            Self.event(source, "B/USD", from: Self.t0, to: Self.t0 + Self.minute),
            Self.event(Self.incompressible(9_000).lowercased(), "C/USD", from: Self.t0, to: Self.t0 + Self.minute),
            Self.event(source, "C/USD", from: Self.t0, to: Self.t0 + 2 * Self.minute),
        ]
        let outcomes = try await recorder.record(events)
        #expect(outcomes.count == 5)
        for index in [0, 2, 4] {
            guard case .recorded(let gap) = outcomes[index] else { Issue.record("event \(index): \(outcomes[index])"); continue }
            #expect(gap.symbol == events[index].symbol)
        }
        for index in [1, 3] {
            guard case .refused(let reason, let detail) = outcomes[index] else { Issue.record("event \(index): \(outcomes[index])"); continue }
            #expect(reason == "refused_by_database")
            #expect(detail.contains("54000"), "the SQLSTATE is in the detail: \(detail)")
        }
        for symbol in ["A/USD", "B/USD", "C/USD"] {
            #expect(try await ledger.gaps(source: source, symbol: symbol).count == 1, "\(symbol) recorded")
        }
        // Replayed, the good ones are duplicates and the poison is refused again: nothing loops.
        let replayed = try await recorder.record(events)
        #expect(replayed[0] == .duplicate && replayed[2] == .duplicate && replayed[4] == .duplicate)
        await connection.close()
    }

    @Test("event times at Int64's extremes, outside 2000...2100, or from after to are refused with invalid_timestamp",
          arguments: [(Int64.min, Int64.max), (Int64.max, Int64.max), (Int64.min, Int64.min), (0, 1),
                      (ContractLimits.earliestEventTime - 1, t0), (t0, ContractLimits.latestEventTime + 1)])
    func extremes(from: Int64, to: Int64) async throws {
        let (recorder, ledger, connection) = try await Self.recorder()
        let source = TestEnvironment.uniqueName("extreme")
        for reason in [GapEvent.Reason.disconnect, .bootstrap] {
            let outcomes = try await recorder.record([Self.event(source, "X/USD", from: from, to: to, reason: reason)])
            guard case .refused(let why, _) = outcomes.first else { Issue.record("\(outcomes)"); continue }
            #expect(why == "invalid_timestamp")
        }
        await #expect(throws: ContractLimits.Violation.self) {
            try await ledger.record(Self.event(source, "X/USD", from: from, to: to))
        }
        #expect(try await ledger.gaps(source: source, symbol: "X/USD").isEmpty)
        await connection.close()
    }

    @Test("an event whose from lies after its to (built by hand, not decoded) is refused, not recorded backwards")
    func backwards() async throws {
        let (recorder, _, connection) = try await Self.recorder()
        var event = Self.event(TestEnvironment.uniqueName("back"), "X/USD", from: Self.t0, to: Self.t0)
        event.from = Self.t0 + Self.minute
        let outcomes = try await recorder.record([event])
        #expect(outcomes == [.refused(reason: "invalid_timestamp", detail: "'from_ts' \(Self.t0 + Self.minute) is after 'to_ts' \(Self.t0)")])
        await connection.close()
    }

    @Test("a new symbol's bootstrap with an enormous lookback starts at 2000-01-01, never traps")
    func enormousLookback() async throws {
        let (_, ledger, connection) = try await Self.recorder()
        let source = TestEnvironment.uniqueName("lookback")
        let start = ContractLimits.earliestEventTime + 5 * Self.minute
        let gap = try await ledger.recordBootstrap(Self.event(source, "X/USD", from: start, to: start, reason: .bootstrap),
                                                   lookback: .seconds(Int64.max))
        #expect(gap?.from == ContractLimits.earliestEventTime)
        #expect(gap?.to == start)
        await connection.close()
    }

    @Test("gaps stored with absurd windows neither stop claims nor the summary")
    func absurdRows() async throws {
        let (_, ledger, connection) = try await Self.recorder()
        let source = TestEnvironment.uniqueName("absurd")
        try await connection.query("""
            INSERT INTO gaps (source, symbol, from_ts, to_ts, reasons, next_attempt_at)
            VALUES ($1, 'X/USD', 0, 9223372036854775807, '{disconnect}', now() - interval '1 day'),
                   ($1, 'Y/USD', -9223372036854775808, 9223372036854775807, '{disconnect}', now() - interval '1 day')
            """, [source])
        // Due, but their last minute never settles: not claimed, and the claim does not fail on them.
        let claimed = try await ledger.claim(owner: "test", lease: .seconds(5), settledBefore: WallClock.nanoseconds(), sources: [source])
        #expect(claimed == nil)
        let summary = try await ledger.summary()
        #expect(summary.minutesToRepair > 0)
        try await connection.query("DELETE FROM gaps WHERE source = $1", [source])
        await connection.close()
    }
}
