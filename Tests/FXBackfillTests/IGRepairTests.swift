import FXBackfill
import FXContracts
import FXCore
import FXPostgres
import FXTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// IG end to end through candles: the Lightstreamer stream's quotes become mid candles; a window the
/// stream missed (a session the server forgot, then refused logins) is repaired from IG's minute bid/ask
/// prices after the backfiller's own login, and every mid minute of it equals the venue's.
@Suite("Backfiller: IG repair from bid/ask prices after a login", .serialized, .tags(.integration))
struct IGRepairTests {
    static let epic = "CS.D.EURUSD.CFD.IP"

    /// A login of the test's own: the tokens the venue's prices endpoint takes.
    static func tokens(_ sim: ServiceProcess) async throws -> [String: String] {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(sim.port)/ig/session")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"identifier":"demo-user","password":"demo-password"}"#.utf8)
        for (name, value) in ["X-IG-API-KEY": "demo-key", "VERSION": "2", "Content-Type": "application/json"] { request.setValue(value, forHTTPHeaderField: name) }
        let (_, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return ["CST": try #require(http.value(forHTTPHeaderField: "CST")), "X-SECURITY-TOKEN": try #require(http.value(forHTTPHeaderField: "X-SECURITY-TOKEN")),
                "X-IG-API-KEY": "demo-key", "VERSION": "3"]
    }

    /// The venue's mid candle of `minute` (seconds): the mids of its bid and ask OHLC; empty when it has none.
    static func truth(_ sim: ServiceProcess, tokens: [String: String], minute: Int64) async throws -> [String: DecimalText] {
        let time = String(Timestamps.rfc3339(nanoseconds: minute * 1_000_000_000, fractionDigits: 0).dropLast())
        let body = await sim.get("/ig/prices/\(epic)?resolution=MINUTE&from=\(time)&to=\(time)&pageSize=0", headers: tokens)?.body ?? ""
        guard let row = try JSONParser().parse(body)["prices"]?.arrayValue?.first else { return [:] }
        var mid: [String: DecimalText] = ["volume": DecimalText("0")!]
        for (name, key) in [("open", "openPrice"), ("high", "highPrice"), ("low", "lowPrice"), ("close", "closePrice")] {
            let bid = try #require(row[key]?["bid"]?.decimal.flatMap(ExactDecimal.init))
            let ask = try #require(row[key]?["ask"]?.decimal.flatMap(ExactDecimal.init))
            mid[name] = (bid + ask).halved.decimalText
        }
        return mid
    }

    @Test("a window lost to a forgotten session and refused logins is recorded, repaired from IG's prices after a login, and every mid minute of it equals the venue's")
    func lostSessionRepaired() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfig")
        let topics = try await GapRepairTests.topics("bfig")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "100"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let credentials = ["IG_API_KEY": "demo-key", "IG_IDENTIFIER": "demo-user", "IG_PASSWORD": "demo-password"]
        let environment = GapRepairTests.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }.merging(credentials) { $1 }
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "ig", "--symbols", Self.epic, "--ws-url",
                                                                  "http://127.0.0.1:\(sim.port)/ig", "--topic-prefix", topics.prefix],
                                          environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await GapRepairTests.backfiller(topics, database: database, sim: sim,
                                                             extra: ["--rest-url", "ig=http://127.0.0.1:\(sim.port)/ig"],
                                                             environment: credentials.merging(["BOOTSTRAP_DAYS": "0"]) { $1 })
        let connection = try await PostgresTestKit.connect(url: database)
        let streaming = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let rows = try await connection.query("SELECT count(DISTINCT bucket) AS n FROM candles WHERE source = 'ig' AND timeframe = '1m' AND price_type = 'mid'")
            return Int(rows.first?["n"] ?? "0") ?? 0 >= 2
        }
        #expect(streaming, "mid candles from the stream; ingestor log:\n\(ingestor.log.suffix(2000))")
        // The session forgotten (no recovery), then three refused logins (backoff between them): seconds without quotes.
        _ = await sim.post("/control/ig?fault=refuse-login&count=3")
        _ = await sim.post("/control/ig?fault=forget")
        let ledger = GapLedger(connection: connection)
        let filled = try await TestEnvironment.eventually(timeout: .seconds(180)) {
            let gaps = try await ledger.gaps(source: "ig", symbol: "EUR/USD")
            return !gaps.isEmpty && gaps.allSatisfy { $0.status == .filled }
        }
        let gaps = try await ledger.gaps(source: "ig", symbol: "EUR/USD")
        #expect(filled, "gaps: \(gaps); backfiller log:\n\(backfiller.log.suffix(4000))")
        #expect(backfiller.log.contains("logged in for history") && !backfiller.log.contains("demo-password"))
        let gap = try #require(gaps.first { $0.reasons.contains("disconnect") })
        // The window's length is the reconnect backoff over three refused logins (about 0.9-1.2 s, less under
        // load): a window it is, of whatever length; every minute it touches is checked below.
        #expect(gap.venueSymbol == Self.epic && gap.to > gap.from, "a window: \(gap)")
        let tokens = try await Self.tokens(sim)
        for minute in stride(from: gap.from / 60_000_000_000 * 60, through: gap.to / 60_000_000_000 * 60, by: 60) {
            let truth = try await Self.truth(sim, tokens: tokens, minute: minute)
            let row = try #require(try await connection.query("""
                SELECT open::text, high::text, low::text, close::text, volume::text, origin FROM candles
                WHERE source = 'ig' AND symbol = 'EUR/USD' AND timeframe = '1m' AND price_type = 'mid' AND bucket = to_timestamp($1::bigint)
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
