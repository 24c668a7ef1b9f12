import FXBackfill
import FXContracts
import FXCore
import FXPostgres
import FXTestSupport
import Testing

/// Kraken end to end through candles: the stream's trades become trade candles; a window lost to a dropped
/// connection is repaired from Kraken's 1-minute OHLC (its last 720 minutes), and every minute equals the venue's.
@Suite("Backfiller: Kraken repair from OHLC", .serialized, .tags(.integration))
struct KrakenRepairTests {
    /// The venue's OHLC row of `minute` (seconds): open, high, low, close, volume; empty when it has none.
    static func truth(_ sim: ServiceProcess, minute: Int64) async throws -> [String: DecimalText] {
        let body = await sim.get("/kraken/0/public/OHLC?pair=XBTUSD&interval=1&since=\(minute - 1)")?.body ?? ""
        guard let row = try JSONParser().parse(body)["result"]?["XBTUSD"]?.arrayValue?.first?.arrayValue, row.count >= 8,
              row[0].int64Value == minute else { return [:] }
        return ["open": row[1].decimal!, "high": row[2].decimal!, "low": row[3].decimal!, "close": row[4].decimal!, "volume": row[6].decimal!]
    }

    @Test("a window lost to a dropped connection is recorded and repaired from OHLC; every minute of it equals the venue's")
    func dropRepairedFromKlines() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfkr")
        let topics = try await GapRepairTests.topics("bfkr")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "kraken", "--symbols", "BTC/USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/kraken/v2", "--topic-prefix", topics.prefix],
                                          environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim,
                                                             extra: ["--rest-url", "kraken=http://127.0.0.1:\(sim.port)/kraken"],
                                                             environment: ["BOOTSTRAP_DAYS": "0"])
        let connection = try await PostgresTestKit.connect(url: database)
        let streaming = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let rows = try await connection.query("SELECT count(DISTINCT bucket) AS n FROM candles WHERE source = 'kraken' AND timeframe = '1m' AND price_type = 'trade'")
            return Int(rows.first?["n"] ?? "0") ?? 0 >= 2
        }
        #expect(streaming, "trade candles from the stream; ingestor log:\n\(ingestor.log.suffix(2000))")
        _ = await sim.post("/control/kraken?fault=drop")
        let ledger = GapLedger(connection: connection)
        let filled = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let gaps = try await ledger.gaps(source: "kraken", symbol: "BTC/USD")
            return !gaps.isEmpty && gaps.allSatisfy { $0.status == .filled }
        }
        let gaps = try await ledger.gaps(source: "kraken", symbol: "BTC/USD")
        #expect(filled, "gaps: \(gaps); backfiller log:\n\(backfiller.log.suffix(4000))")
        let gap = try #require(gaps.first { $0.reasons.contains("disconnect") })
        #expect(gap.venueSymbol == "BTC/USD")
        for minute in stride(from: gap.from / 60_000_000_000 * 60, through: gap.to / 60_000_000_000 * 60, by: 60) {
            let truth = try await Self.truth(sim, minute: minute)
            let row = try #require(try await connection.query("""
                SELECT open::text, high::text, low::text, close::text, volume::text, origin FROM candles
                WHERE source = 'kraken' AND symbol = 'BTC/USD' AND timeframe = '1m' AND price_type = 'trade' AND bucket = to_timestamp($1::bigint)
                """, [minute]).first, "minute \(minute) stored")
            for column in ["open", "high", "low", "close", "volume"] {
                #expect(row[column].flatMap(DecimalText.init) == truth[column], "minute \(minute) \(column): \(row[column] ?? "nil") vs venue \(truth[column].map(\.text) ?? "nil")")
            }
            #expect(row["origin"] == "merged" || row["origin"] == "backfill", "minute \(minute) repaired: \(row["origin"] ?? "")")
        }
        for process in [ingestor, backfiller, aggregator] { #expect(await process.terminate(timeout: .seconds(30)) == 0) }
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
