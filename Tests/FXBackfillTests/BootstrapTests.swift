import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// History for symbols that have none: on demand (`backfiller bootstrap`) and on a symbol's first
/// subscription (the ingestor's `bootstrap` event).
@Suite("Backfiller: history bootstrap", .serialized, .tags(.integration))
struct BootstrapTests {
    @Test("`backfiller bootstrap --days 1` loads a day of 1-minute history, every minute complete or confirmed empty")
    func onDemand() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfboot")
        let topics = try await GapRepairTests.topics("bfboot")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "500", "--history-minutes", "1440"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let command = try await ServiceProcess("backfiller", subcommand: "bootstrap",
                                         arguments: ["--source", "coinbase", "--symbols", "ETH/USD", "--days", "1"],
                                         environment: ["DATABASE_URL": database])
        #expect(await command.waitForExit() == 0, "\(command.log)")
        #expect(command.log.contains("coinbase ETH/USD (ETH-USD): 1 day(s)"), "\(command.log)")
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim)
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        let filled = try await TestEnvironment.eventually(timeout: .seconds(90)) {
            try await ledger.gaps(source: "coinbase", symbol: "ETH/USD").first?.status == .filled
        }
        let gap = try await ledger.gaps(source: "coinbase", symbol: "ETH/USD").first
        #expect(filled, "\(String(describing: gap)); log:\n\(backfiller.log.suffix(3000))")
        #expect(gap?.reasons == ["bootstrap"])
        let states = try await connection.query("""
            SELECT state, count(*) AS n FROM gap_coverage('coinbase', 'ETH/USD', to_timestamp($1::bigint), to_timestamp($2::bigint + 60))
            GROUP BY state ORDER BY state
            """, [(gap?.from ?? 0) / 1_000_000_000, (gap?.to ?? 0) / 1_000_000_000])
        let byState = Dictionary(uniqueKeysWithValues: states.rows.map { ($0["state"] ?? "", Int($0["n"] ?? "0") ?? 0) })
        #expect(byState["missing"] == nil, "no minute of the day left unexplained: \(byState)")
        #expect(byState["complete", default: 0] >= 1_430, "the simulator's day of history: \(byState)")
        #expect(byState.values.reduce(0, +) == 1_441)
        #expect(await backfiller.terminate(timeout: .seconds(30)) == 0)
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }

    @Test("a symbol's first subscription loads its history automatically, once; a restart records only its downtime")
    func automatic() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfauto")
        let topics = try await GapRepairTests.topics("bfauto")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "100", "--history-minutes", "180"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim, environment: ["BOOTSTRAP_DAYS": "1"])
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix],
                                          environment: environment)
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        let loaded = try await TestEnvironment.eventually(timeout: .seconds(90)) {
            try await ledger.gaps(source: "coinbase", symbol: "BTC/USD").contains { $0.reasons == ["bootstrap"] && $0.status == .filled }
        }
        let gaps = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD")
        #expect(loaded, "\(gaps); log:\n\(backfiller.log.suffix(3000))")
        let history = try await connection.query("SELECT count(*) AS n FROM candles WHERE source = 'coinbase' AND symbol = 'BTC/USD' AND timeframe = '1m' AND origin = 'backfill'")
        #expect(Int(history.first?["n"] ?? "0") ?? 0 >= 170, "the simulator's three hours before the stream started")
        // The ingestor restarts: the symbol has history now, so its new bootstrap event records the window
        // since the newest stored minute (the restart's downtime), not another day of history.
        #expect(await ingestor.terminate(timeout: .seconds(30)) == 0)
        let restarted = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url",
                                                                   "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix],
                                           environment: environment)
        let recorded = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            await backfiller.get("/health/live")?.body.contains("counter bootstraps_recorded 2\n") == true
        }
        let live = await backfiller.get("/health/live")?.body ?? ""
        #expect(recorded, "\(live)")
        let windows = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD").filter { $0.reasons.contains("bootstrap") }
        #expect(windows.count == 2, "\(windows)")
        if let downtime = windows.max(by: { $0.from < $1.from }) {
            #expect(downtime.to - downtime.from < 10 * 60_000_000_000, "the restart's window is its downtime, not a day: \(downtime)")
        }
        for process in [restarted, backfiller] { #expect(await process.terminate(timeout: .seconds(30)) == 0) }
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
