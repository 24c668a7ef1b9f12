import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// A restarted ingestor's `bootstrap` event for a symbol that has candles: the downtime since its newest
/// stored minute is recorded and repaired from REST history, never left as a silent hole.
@Suite("Backfiller: repair after an ingestor's downtime", .serialized, .tags(.integration))
struct DowntimeRepairTests {
    /// The downtime. An operator's two minutes behave the same as this (the repair window runs from the
    /// newest stored minute to the first new event, whatever the length); killed 50 s into a minute, 72 s
    /// keep the spec short while still losing the end of the kill's minute, one whole minute with no
    /// streamed data, and the start of the restart's minute.
    static let downtime = Duration.seconds(72)

    @Test("an ingestor SIGKILLed and restarted later ends with every 1-minute candle of the downtime equal to the venue's history")
    func sigkilledIngestor() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfdown")
        let topics = try await GapRepairTests.topics("bfdown")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "100"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }
        let arguments = ["--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url", "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix]
        let ingestor = try await ServiceProcess("ingestor", arguments: arguments, environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        // No history for new symbols: the only bootstrap window recorded is the downtime's.
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim, environment: ["BOOTSTRAP_DAYS": "0"])
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        func newestMinute() async throws -> Int64? { try await HistoryComparison.newestMinute(connection) }
        let streaming = try await TestEnvironment.eventually(timeout: .seconds(90)) { try await newestMinute() != nil }
        #expect(streaming, "candles from the stream; aggregator log:\n\(aggregator.log.suffix(2000))")

        // Killed 50 s into a minute (after at least one candle was stored).
        let intoMinute = WallClock.nanoseconds() % 60_000_000_000
        try await Task.sleep(for: .nanoseconds((50_000_000_000 - intoMinute + 60_000_000_000) % 60_000_000_000))
        kill(ingestor.process.processIdentifier, SIGKILL)
        _ = await ingestor.waitForExit(timeout: .seconds(10))
        let killedAt = WallClock.nanoseconds()
        // The aggregator has flushed what the killed ingestor had published.
        try await Task.sleep(for: .seconds(3))
        let lastStored = try #require(try await newestMinute())
        try await Task.sleep(for: Self.downtime - .seconds(3))
        let restarted = try await ServiceProcess("ingestor", arguments: arguments, environment: environment)

        let repaired = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            try await ledger.gaps(source: "coinbase", symbol: "BTC/USD").contains { $0.reasons == ["bootstrap"] && $0.status == .filled }
        }
        let gaps = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD")
        #expect(repaired, "the downtime's window is recorded and filled: \(gaps); backfiller log:\n\(backfiller.log.suffix(3000))")
        let gap = try #require(gaps.first { $0.reasons == ["bootstrap"] })
        #expect(gap.from == lastStored * 1_000_000_000, "the window starts at the newest minute stored before the restart")
        #expect(gap.to > killedAt + 50_000_000_000, "and ends at the restarted stream's first event")

        // Every minute from the one the ingestor died in up to the restart's equals the venue's REST candle.
        let firstNew = gap.to / 60_000_000_000 * 60
        #expect(firstNew - lastStored >= 120, "at least one whole minute had no stream at all")
        for minute in stride(from: lastStored, to: firstNew, by: 60) {
            guard let row = try await HistoryComparison.expectEqualToHistory(connection, sim: sim, minute: minute) else {
                let coverage = try await connection.query("SELECT state FROM gap_coverage('coinbase', 'BTC/USD', to_timestamp($1::bigint), to_timestamp($1::bigint + 60))", [minute])
                #expect(coverage.first?["state"] == "confirmed_empty")
                continue
            }
            #expect(row["origin"] == "merged" || row["origin"] == "backfill")
        }
        let live = await backfiller.get("/health/live")?.body ?? ""
        #expect(live.contains("counter bootstraps_recorded 1\n"), "\(live)")
        for process in [restarted, backfiller, aggregator] { #expect(await process.terminate(timeout: .seconds(30)) == 0) }
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
