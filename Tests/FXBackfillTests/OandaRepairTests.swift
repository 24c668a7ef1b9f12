import FXBackfill
import FXContracts
import FXCore
import FXPostgres
import FXTestSupport
import Testing

/// OANDA end to end through candles: the pricing stream's quotes become mid candles; a window the stream
/// missed (refused tokens while reconnecting) is repaired from OANDA's M1 bid/ask history, and every mid
/// minute of it equals the venue's (the mids of its bid and ask candles).
@Suite("Backfiller: OANDA repair from bid/ask history", .serialized, .tags(.integration))
struct OandaRepairTests {
    /// The venue's mid candle of `minute` (seconds): the mids of its bid and ask OHLC; empty when it has none.
    static func truth(_ sim: ServiceProcess, minute: Int64) async throws -> [String: DecimalText] {
        let from = Timestamps.rfc3339(nanoseconds: minute * 1_000_000_000, fractionDigits: 0)
        let to = Timestamps.rfc3339(nanoseconds: (minute + 60) * 1_000_000_000, fractionDigits: 0)
        let body = await sim.get("/oanda/v3/instruments/EUR_USD/candles?granularity=M1&price=BA&from=\(from)&to=\(to)",
                                 headers: ["Authorization": "Bearer practice-token"])?.body ?? ""
        guard let candle = try JSONParser().parse(body)["candles"]?.arrayValue?.first else { return [:] }
        var mid: [String: DecimalText] = ["volume": DecimalText("0")!]
        for (name, key) in [("open", "o"), ("high", "h"), ("low", "l"), ("close", "c")] {
            let bid = try #require(candle["bid"]?[key]?.stringValue.flatMap(DecimalText.init).flatMap(ExactDecimal.init))
            let ask = try #require(candle["ask"]?[key]?.stringValue.flatMap(DecimalText.init).flatMap(ExactDecimal.init))
            mid[name] = (bid + ask).halved.decimalText
        }
        return mid
    }

    @Test("a window lost to refused tokens is recorded, repaired from OANDA's bid/ask history, and every mid minute of it equals the venue's")
    func refusedTokenWindowRepaired() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfoanda")
        let topics = try await GapRepairTests.topics("bfoanda")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "100"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database, "OANDA_API_TOKEN": "practice-token",
                                                                  "OANDA_ACCOUNT_ID": "101-004-1234567-001"]) { $1 }
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "oanda", "--symbols", "EUR_USD", "--ws-url",
                                                                  "http://127.0.0.1:\(sim.port)/oanda", "--topic-prefix", topics.prefix],
                                          environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim,
                                                             extra: ["--rest-url", "oanda=http://127.0.0.1:\(sim.port)/oanda"],
                                                             environment: ["BOOTSTRAP_DAYS": "0", "OANDA_API_TOKEN": "practice-token"])
        let connection = try await PostgresTestKit.connect(url: database)
        let streaming = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let rows = try await connection.query("SELECT count(DISTINCT bucket) AS n FROM candles WHERE source = 'oanda' AND timeframe = '1m' AND price_type = 'mid'")
            return Int(rows.first?["n"] ?? "0") ?? 0 >= 2
        }
        #expect(streaming, "mid candles from the stream; aggregator log:\n\(aggregator.log.suffix(2000))")
        // Four refused reconnects (backoff between them) leave a window of seconds without quotes.
        _ = await sim.post("/control/expire-token?count=4")
        _ = await sim.post("/control/drop?venue=oanda")
        let ledger = GapLedger(connection: connection)
        let filled = try await TestEnvironment.eventually(timeout: .seconds(180)) {
            let gaps = try await ledger.gaps(source: "oanda", symbol: "EUR/USD")
            return !gaps.isEmpty && gaps.allSatisfy { $0.status == .filled }
        }
        let gaps = try await ledger.gaps(source: "oanda", symbol: "EUR/USD")
        #expect(filled, "gaps: \(gaps); backfiller log:\n\(backfiller.log.suffix(4000))")
        let gap = try #require(gaps.first { $0.reasons.contains("disconnect") })
        #expect(gap.venueSymbol == "EUR_USD" && gap.to - gap.from > 1_000_000_000, "a window of seconds: \(gap)")
        for minute in stride(from: gap.from / 60_000_000_000 * 60, through: gap.to / 60_000_000_000 * 60, by: 60) {
            let truth = try await Self.truth(sim, minute: minute)
            let row = try #require(try await connection.query("""
                SELECT open::text, high::text, low::text, close::text, volume::text, origin FROM candles
                WHERE source = 'oanda' AND symbol = 'EUR/USD' AND timeframe = '1m' AND price_type = 'mid' AND bucket = to_timestamp($1::bigint)
                """, [minute]).first, "minute \(minute) stored")
            for column in ["open", "high", "low", "close", "volume"] {
                #expect(row[column].flatMap(DecimalText.init) == truth[column], "minute \(minute) \(column): \(row[column] ?? "nil") vs venue \(truth[column].map(\.text) ?? "nil")")
            }
            #expect(row["origin"] == "merged" || row["origin"] == "backfill", "minute \(minute) repaired: \(row["origin"] ?? "")")
        }
        let tradeRows = try await connection.query("SELECT count(*) AS n FROM candles WHERE source = 'oanda' AND price_type <> 'mid'")
        #expect(tradeRows.first?["n"] == "0", "a quote venue has mid candles only (bid/ask candles are off by default)")
        for process in [ingestor, backfiller, aggregator] { #expect(await process.terminate(timeout: .seconds(30)) == 0) }
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
