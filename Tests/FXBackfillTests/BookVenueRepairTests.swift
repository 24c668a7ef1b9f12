import FXBackfill
import FXContracts
import FXCore
import FXPostgres
import FXTestSupport
import Testing

/// Binance and Kraken end to end through candles: the stream's trades become trade candles; a window lost to
/// a dropped connection is repaired from the venue's 1-minute history (Binance's klines, Kraken's OHLC of
/// its last 720 minutes), and every minute of it equals the venue's.
@Suite("Backfiller: Binance and Kraken repairs from their minute history", .serialized, .tags(.integration))
struct BookVenueRepairTests {
    struct Venue: Sendable, CustomTestStringConvertible {
        var source: String
        var symbol: String
        var venueSymbol: String
        /// The stream's path on fxsim, and the REST base the backfiller uses there.
        var streamPath: String
        var restPath: String
        /// The venue's minute candle of `minute` (seconds): open, high, low, close, volume; empty when none.
        var truth: @Sendable (ServiceProcess, Int64) async throws -> [String: DecimalText]

        var testDescription: String { source }
    }

    static let venues = [
        Venue(source: "binance", symbol: "BTC/USDT", venueSymbol: "BTCUSDT", streamPath: "/binance", restPath: "/binance") { sim, minute in
            let body = await sim.get("/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=\(minute * 1000)&endTime=\(minute * 1000 + 59_999)")?.body ?? ""
            guard let row = try JSONParser().parse(body).arrayValue?.first?.arrayValue, row.count >= 6 else { return [:] }
            return ["open": row[1].decimal!, "high": row[2].decimal!, "low": row[3].decimal!, "close": row[4].decimal!, "volume": row[5].decimal!]
        },
        Venue(source: "kraken", symbol: "BTC/USD", venueSymbol: "BTC/USD", streamPath: "/kraken/v2", restPath: "/kraken") { sim, minute in
            let body = await sim.get("/kraken/0/public/OHLC?pair=XBTUSD&interval=1&since=\(minute - 1)")?.body ?? ""
            guard let row = try JSONParser().parse(body)["result"]?["XBTUSD"]?.arrayValue?.first?.arrayValue, row.count >= 8,
                  row[0].int64Value == minute else { return [:] }
            return ["open": row[1].decimal!, "high": row[2].decimal!, "low": row[3].decimal!, "close": row[4].decimal!, "volume": row[6].decimal!]
        },
    ]

    @Test("a window lost to a dropped connection is recorded and repaired from the venue's minute history; every minute of it equals the venue's",
          arguments: venues)
    func dropRepaired(venue: Venue) async throws {
        let database = try await PostgresTestKit.freshDatabase("bf\(venue.source.prefix(2))")
        let topics = try await GapRepairTests.topics("bf\(venue.source.prefix(2))")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", venue.source, "--symbols", venue.venueSymbol, "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)\(venue.streamPath)", "--topic-prefix", topics.prefix],
                                          environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim,
                                                             extra: ["--rest-url", "\(venue.source)=http://127.0.0.1:\(sim.port)\(venue.restPath)"],
                                                             environment: ["BOOTSTRAP_DAYS": "0"])
        let connection = try await PostgresTestKit.connect(url: database)
        let streaming = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let rows = try await connection.query("SELECT count(DISTINCT bucket) AS n FROM candles WHERE source = $1 AND timeframe = '1m' AND price_type = 'trade'",
                                                  [venue.source])
            return Int(rows.first?["n"] ?? "0") ?? 0 >= 2
        }
        #expect(streaming, "trade candles from the stream; ingestor log:\n\(ingestor.log.suffix(2000))")
        _ = await sim.post("/control/\(venue.source)?fault=drop")
        let ledger = GapLedger(connection: connection)
        let filled = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let gaps = try await ledger.gaps(source: venue.source, symbol: venue.symbol)
            return !gaps.isEmpty && gaps.allSatisfy { $0.status == .filled }
        }
        let gaps = try await ledger.gaps(source: venue.source, symbol: venue.symbol)
        #expect(filled, "gaps: \(gaps); backfiller log:\n\(backfiller.log.suffix(4000))")
        let gap = try #require(gaps.first { $0.reasons.contains("disconnect") })
        #expect(gap.venueSymbol == venue.venueSymbol)
        for minute in stride(from: gap.from / 60_000_000_000 * 60, through: gap.to / 60_000_000_000 * 60, by: 60) {
            let truth = try await venue.truth(sim, minute)
            let row = try #require(try await connection.query("""
                SELECT open::text, high::text, low::text, close::text, volume::text, origin FROM candles
                WHERE source = $1 AND symbol = $2 AND timeframe = '1m' AND price_type = 'trade' AND bucket = to_timestamp($3::bigint)
                """, [venue.source, venue.symbol, String(minute)]).first, "minute \(minute) stored")
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
