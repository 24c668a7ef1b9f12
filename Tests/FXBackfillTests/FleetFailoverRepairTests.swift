import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// An ingestor fleet's replica SIGKILLed: a survivor takes its shard over, publishes the window it left
/// as a `handover` gap, and the backfiller repairs it, so that the candles equal the venue's history.
@Suite("Backfiller: repair after a fleet replica's death", .serialized, .tags(.integration))
struct FleetFailoverRepairTests {
    @Test("a replica SIGKILLed: its shard streams again on the survivor, the handover window is filled, every 1-minute candle of it equals the venue's history")
    func failoverRepaired() async throws {
        let database = try await PostgresTestKit.freshDatabase("bffleet")
        let topics = try await GapRepairTests.topics("bffleet")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "100"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }
        // Two shards of one product each (coinbase-0: BTC-USD, coinbase-1: ETH-USD), one per replica.
        func ingestor(_ instance: String) async throws -> ServiceProcess {
            try await ServiceProcess("ingestor", arguments: [
                "--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--max-symbols-per-connection", "1",
                "--ws-url", "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix, "--health-interval-ms", "500ms",
                "--fleet-group", "repair", "--instance-id", instance], environment: environment)
        }
        var replicas = ["ing-a": try await ingestor("ing-a"), "ing-b": try await ingestor("ing-b")]
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim, environment: ["BOOTSTRAP_DAYS": "0"])
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        let health = try TopicRecorder(topics: [topics.health])
        func owner(of shard: String, since: Int64) -> String? {
            health.messages(topics.health).reversed().lazy.compactMap { try? JSONParser().parse($0.value) }
                .compactMap { Heartbeat.read($0, receivedAt: 0).heartbeat }
                .first { $0.timestamp > since && $0.ingestor?.fleet?.shards.contains(shard) == true }?.instance
        }
        func newestMinute() async throws -> Int64? { try await HistoryComparison.newestMinute(connection) }
        let streaming = try await TestEnvironment.eventually(timeout: .seconds(90)) { try await newestMinute() != nil }
        #expect(streaming, "candles from the stream; aggregator log:\n\(aggregator.log.suffix(2000))")
        // The fleet settled: one shard per replica (on a loaded machine the second replica can join late,
        // and the start-up move must not be mistaken for the kill's takeover).
        let settled = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            let now = WallClock.nanoseconds() - 2_000_000_000
            guard let first = owner(of: "coinbase-0", since: now), let second = owner(of: "coinbase-1", since: now) else { return false }
            return first != second
        }
        #expect(settled, "each replica streams one shard")
        let victim = try #require(owner(of: "coinbase-0", since: 0), "an owner of BTC-USD's shard")

        // Killed 50 s into a minute after the first one streamed (whose start the stream did not see), so
        // that the window crosses a minute boundary.
        let firstMinute = try #require(try await newestMinute())
        let killAt = max(firstMinute + 110, (WallClock.nanoseconds() / 60_000_000_000 * 60) + 50)
        try await Task.sleep(for: .nanoseconds(max(0, killAt * 1_000_000_000 - WallClock.nanoseconds())))
        let killedAt = WallClock.nanoseconds()
        kill(try #require(replicas[victim]).process.processIdentifier, SIGKILL)
        replicas[victim] = nil
        let survivor = try #require(replicas.keys.first)
        let tookOver = try await TestEnvironment.eventually(timeout: .seconds(30)) { owner(of: "coinbase-0", since: killedAt) == survivor }
        #expect(tookOver, "the survivor streams BTC-USD")

        // The window the kill left (any other handover window, e.g. from the start-up rebalance, is the
        // fleet's to avoid; it would be repaired all the same).
        func killWindow(_ gaps: [GapLedger.Gap]) -> GapLedger.Gap? {
            gaps.first { $0.reasons.contains("handover") && $0.from < killedAt && $0.to > killedAt }
        }
        let repaired = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            try await killWindow(ledger.gaps(source: "coinbase", symbol: "BTC/USD"))?.status == .filled
        }
        let gaps = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD")
        #expect(repaired, "the handover window covering the kill is recorded and filled: \(gaps); backfiller log:\n\(backfiller.log.suffix(3000))")
        let gap = try #require(killWindow(gaps))
        // A start-up move the fleet could not prove covered (a late checkpoint under load) is reported
        // and repaired like any other; after the kill there is only the kill's.
        #expect(gaps.filter { $0.reasons.contains("handover") && $0.to > killedAt }.count == 1, "one handover window since the kill: \(gaps)")
        for minute in stride(from: gap.from / 60_000_000_000 * 60, through: gap.to / 60_000_000_000 * 60, by: 60) {
            try await HistoryComparison.expectEqualToHistory(connection, sim: sim, minute: minute)
        }
        await health.stop()
        for process in Array(replicas.values) + [backfiller, aggregator] { #expect(await process.terminate(timeout: .seconds(30)) == 0) }
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }

    @Test("redundancy 2: both replicas' copies make one set of candles equal to the venue's history, and a replica SIGKILLed leaves no gap to repair")
    func redundantCandles() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfab")
        let topics = try await GapRepairTests.topics("bfab")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "100"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }
        func ingestor(_ instance: String) async throws -> ServiceProcess {
            try await ServiceProcess("ingestor", arguments: [
                "--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url", "ws://127.0.0.1:\(sim.port)/coinbase",
                "--topic-prefix", topics.prefix, "--health-interval-ms", "500ms", "--fleet-group", "ab", "--redundancy", "2",
                "--instance-id", instance], environment: environment)
        }
        let a = try await ingestor("ing-a")
        let b = try await ingestor("ing-b")
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim, environment: ["BOOTSTRAP_DAYS": "0"])
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        // Both replicas stream the one shard: every trade reaches fx.ticks twice (the aggregator keeps one).
        let ticks = try TopicRecorder(topics: [topics.ticks])
        try await ticks.waitFor(topics.ticks, timeout: .seconds(60), "trades published by both copies") { messages in
            let ids = messages.compactMap { try? JSONParser().parse($0.value)["trade_id"]?.stringValue }
            return Dictionary(grouping: ids, by: { $0 }).values.filter { $0.count == 2 }.count >= 5
        }
        await ticks.stop()
        // Past a minute boundary, then one replica dies.
        let start = WallClock.nanoseconds() / 60_000_000_000 * 60
        try await Task.sleep(for: .seconds(Int64(start + 65) - WallClock.nanoseconds() / 1_000_000_000))
        kill(b.process.processIdentifier, SIGKILL)
        // Two more minute boundaries with only the survivor.
        try await Task.sleep(for: .seconds(Int64(start + 185) - WallClock.nanoseconds() / 1_000_000_000))
        let losses = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD").filter { !$0.reasons.allSatisfy { $0 == "bootstrap" } }
        #expect(losses.isEmpty, "no window to repair: \(losses)")
        // The whole minutes streamed, before and after the kill, equal the venue's candles: no tick counted twice.
        for minute in stride(from: start + 60, through: start + 120, by: 60) {
            let row = try await HistoryComparison.expectEqualToHistory(connection, sim: sim, minute: minute)
            #expect(row == nil || row?["origin"] == "stream", "minute \(minute) was streamed, not repaired")
        }
        for process in [a, backfiller, aggregator] { #expect(await process.terminate(timeout: .seconds(30)) == 0) }
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
