import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// Replicas, rate limits and failures of the gap repair, against the simulator's REST history.
@Suite("Backfiller: replicas, rate limits and failures", .serialized, .tags(.integration))
struct GapRepairFaultTests {
    static let minute: Int64 = 60_000_000_000

    func event(_ source: String, _ symbol: String, _ venueSymbol: String, _ from: Int64, _ to: Int64) -> GapEvent {
        GapEvent(source: source, symbol: symbol, venueSymbol: venueSymbol, from: from, to: to, reason: .disconnect,
                 detectedAt: to + 1, detail: "test", instance: "ingestor-test")
    }

    func simulator(_ arguments: [String] = []) async throws -> ServiceProcess {
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "200"] + arguments)
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        return sim
    }

    @Test("three replicas drain 50 gaps without ever exceeding the shared limit, and all three honour a 429's Retry-After")
    func replicasShareTheLimit() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfrate")
        let topics = try await GapRepairTests.topics("bfrate")
        let sim = try await simulator(["--history-minutes", "240"])
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        let now = WallClock.nanoseconds() / Self.minute * Self.minute
        for index in 0..<50 {
            let start = now - 200 * Self.minute + Int64(index) * 3 * Self.minute
            _ = try await ledger.record(event("coinbase", "BTC/USD", "BTC-USD", start + 10_000_000_000, start + 40_000_000_000))
        }
        // The first REST answer is a 429 with Retry-After: 3.
        _ = await sim.post("/control/rate-limit?venue=coinbase&count=1&retry_after=3")
        var replicas: [ServiceProcess] = []
        for _ in 0..<3 {
            replicas.append(try await GapRepairTests.backfiller(topics, database: database, sim: sim,
                                                                extra: ["--rate-limit", "coinbase=5/s,burst=2", "--workers", "2"]))
        }
        let drained = try await TestEnvironment.eventually(timeout: .seconds(120)) {
            try await connection.query("SELECT count(*) AS n FROM gaps WHERE status = 'filled'").first?["n"] == "50"
        }
        #expect(drained, "all 50 filled; log:\n\(replicas[0].log.suffix(3000))")
        let body = await sim.get("/control/rest-requests?venue=coinbase")?.body ?? "{}"
        let counts = (try JSONParser().parse(body))
        var perSecond: [Int64: Int64] = [:]
        if case .object(let members) = counts { for (second, count) in members { perSecond[Int64(second)!] = count.int64Value ?? 0 } }
        let seconds = perSecond.keys.sorted()
        #expect(perSecond.values.reduce(0, +) == 51, "one request per gap, plus the one refused with 429: \(perSecond)")
        #expect(perSecond.values.max() ?? 0 <= 7, "never more than rate + burst (5 + 2) in any second: \(seconds.map { perSecond[$0]! })")
        // After the 429, nobody sent for the Retry-After: two whole seconds without a request.
        var quiet = 0, longestQuiet = 0
        if let first = seconds.first, let last = seconds.last {
            for second in first...last {
                quiet = perSecond[second] == nil ? quiet + 1 : 0
                longestQuiet = max(longestQuiet, quiet)
            }
        }
        #expect(longestQuiet >= 2, "the shared bucket backed off for every replica: \(seconds.map { "\($0 - seconds[0])=\(perSecond[$0]!)" })")
        var filledPerReplica: [Int] = []
        for replica in replicas {
            let live = await replica.get("/health/live")?.body ?? ""
            let line = live.split(separator: "\n").first { $0.hasPrefix("counter gaps_filled ") }
            filledPerReplica.append(Int(line?.split(separator: " ").last ?? "0") ?? 0)
        }
        #expect(filledPerReplica.reduce(0, +) == 50, "every gap filled once, shared by the replicas: \(filledPerReplica)")
        let minutes = try await connection.query("SELECT count(*) AS n FROM candles WHERE source = 'coinbase' AND timeframe = '1m' AND origin = 'backfill'")
        #expect(minutes.first?["n"] == "50", "each gap's minute written from the simulator's history")
        for replica in replicas { #expect(await replica.terminate(timeout: .seconds(30)) == 0) }
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }

    @Test("a plan without access ends the gap unfillable; a malformed answer is quarantined and the gap retried")
    func refusalsAndMalformedAnswers() async throws {
        let database = try await PostgresTestKit.freshDatabase("bffault")
        let topics = try await GapRepairTests.topics("bffault")
        let sim = try await simulator(["--history-minutes", "60"])
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        let recorder = try TopicRecorder(topics: [topics.rejects, topics.health])
        _ = await sim.post("/control/history-access?venue=finnhub&allowed=0")
        _ = await sim.post("/control/rest-malformed?venue=coinbase&count=1")
        let start = WallClock.nanoseconds() / Self.minute * Self.minute - 30 * Self.minute
        _ = try await ledger.record(event("finnhub", "EUR/USD", "OANDA:EUR_USD", start, start + 2 * Self.minute))
        _ = try await ledger.record(event("coinbase", "ETH/USD", "ETH-USD", start, start + 2 * Self.minute))
        let key = "fh-test-\(UInt32.random(in: 100_000...999_999))"
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim, extra: ["--health-interval-ms", "300"],
                                                       environment: ["FINNHUB_API_KEY": key])

        let unfillable = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            try await ledger.gaps(source: "finnhub", symbol: "EUR/USD").first?.status == .unfillable
        }
        let finnhub = try await ledger.gaps(source: "finnhub", symbol: "EUR/USD")
        #expect(unfillable, "\(finnhub); log:\n\(backfiller.log.suffix(3000))")
        #expect(finnhub.first?.lastError?.contains("access") == true, "the reason is kept: \(finnhub.first?.lastError ?? "nil")")
        let coverage = try await connection.query("SELECT state, detail FROM gap_coverage('finnhub', 'EUR/USD', to_timestamp($1::bigint), to_timestamp($1::bigint + 60))",
                                                  [start / 1_000_000_000])
        #expect(coverage.first?["state"] == "missing")
        #expect(coverage.first?["detail"]?.hasPrefix("unfillable: disconnect") == true, "\(coverage.first?["detail"] ?? "nil")")

        let rejects = try await recorder.waitFor(topics.rejects, timeout: .seconds(30), "the malformed answer quarantined") { !$0.isEmpty }
        let reject = try RejectRecord(json: rejects[0].value)
        #expect(reject.stage == .backfill)
        #expect(reject.reason == "malformed_history")
        let retried = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            try await ledger.gaps(source: "coinbase", symbol: "ETH/USD").first?.status == .filled
        }
        let coinbase = try await ledger.gaps(source: "coinbase", symbol: "ETH/USD")
        #expect(retried, "\(coinbase)")
        #expect(coinbase.first?.attempts == 2, "failed once (malformed), filled on the retry")
        let stored = try await connection.query("SELECT count(*) AS n FROM candles WHERE source = 'coinbase' AND symbol = 'ETH/USD' AND timeframe = '1m'")
        #expect(stored.first?["n"] == "3", "the three minutes of the gap, from the good answer only")
        #expect(!backfiller.log.contains(key), "the Finnhub key never reaches the log")
        // The heartbeat carries the ledger and the same counters as the health body.
        let beats = try await recorder.waitFor(topics.health, timeout: .seconds(30), "a heartbeat with the ledger's outcome") { messages in
            messages.contains { (try? JSONParser().parse($0.value))?["ledger"]?["filled"]?.int64Value == 1 }
        }
        let beat = try JSONParser().parse(try #require(beats.last { (try? JSONParser().parse($0.value))?["ledger"]?["filled"]?.int64Value == 1 }).value)
        #expect(beat["service"]?.stringValue == "backfiller")
        #expect(beat["ledger"]?["unfillable"]?.int64Value == 1 && beat["ledger"]?["open"]?.int64Value == 0)
        #expect(beat["counters"]?["gaps_unfillable"]?.int64Value == 1 && beat["counters"]?["history_rejects"]?.int64Value == 1)
        let live = await backfiller.get("/health/live")?.body ?? ""
        #expect(live.contains("counter gaps_unfillable 1\n") && live.contains("counter history_rejects 1\n"), "\(live)")
        #expect(await backfiller.terminate(timeout: .seconds(30)) == 0)
        await recorder.stop()
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }

    @Test("a backfiller killed mid-fill leaves its gap to be claimed again after the lease; nothing is written twice")
    func killedMidFill() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfkill")
        let topics = try await GapRepairTests.topics("bfkill")
        let sim = try await simulator(["--history-minutes", "1440"])
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)
        // 20 hours: four pages of 300 minutes, one request every 4 s.
        let end = WallClock.nanoseconds() / Self.minute * Self.minute - 60 * Self.minute
        _ = try await ledger.record(event("coinbase", "BTC/USD", "BTC-USD", end - 1_199 * Self.minute, end))
        let arguments = ["--rate-limit", "coinbase=15/m", "--lease-seconds", "5"]
        let first = try await GapRepairTests.backfiller(topics, database: database, sim: sim, extra: arguments)
        let started = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            let rows = try await connection.query("SELECT count(*) AS n FROM candles WHERE source = 'coinbase' AND timeframe = '1m'")
            return Int(rows.first?["n"] ?? "0") ?? 0 > 0
        }
        #expect(started, "the first page written; log:\n\(first.log.suffix(3000))")
        kill(first.process.processIdentifier, SIGKILL)
        let midway = try await connection.query("SELECT count(*) AS n FROM candles WHERE source = 'coinbase' AND timeframe = '1m'").first?["n"]
        #expect(try await ledger.gaps(source: "coinbase", symbol: "BTC/USD").first?.status == .filling, "still leased to the killed one")
        #expect(Int(midway ?? "0") ?? 0 < 1_200, "killed before the end: \(midway ?? "nil") minutes")

        let second = try await GapRepairTests.backfiller(topics, database: database, sim: sim, extra: arguments)
        let filled = try await TestEnvironment.eventually(timeout: .seconds(90)) {
            try await ledger.gaps(source: "coinbase", symbol: "BTC/USD").first?.status == .filled
        }
        let gap = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD").first
        #expect(filled, "\(String(describing: gap)); log:\n\(second.log.suffix(3000))")
        // At least once more after the lease; on a loaded machine the second backfiller's own 5 s lease may lapse
        // too (a third claim). What must hold either way is below: every minute once, nothing written twice.
        #expect((gap?.attempts ?? 0) >= 2, "claimed again after the lease")
        let rows = try await connection.query("""
            SELECT count(*) AS n, max(revision) AS max_revision FROM candles
            WHERE source = 'coinbase' AND symbol = 'BTC/USD' AND timeframe = '1m'
            """).first
        #expect(rows?["n"] == "1200", "every minute of the gap (the simulator trades every 10 s)")
        #expect(rows?["max_revision"] == "1", "the pages written before the kill were not written again")
        #expect(await second.terminate(timeout: .seconds(30)) == 0)
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
