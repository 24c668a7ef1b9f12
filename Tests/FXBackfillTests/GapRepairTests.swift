import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// The backfiller repairs gaps from the simulator's REST history, in the main job's topology
/// (fxsim -> ingestor -> aggregator, backfiller), each test on a database of its own.
@Suite("Backfiller: gap repair end to end", .serialized, .tags(.integration))
struct GapRepairTests {
    static let kafkaProperties = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"]

    static func topics(_ prefix: String) async throws -> TopicNames {
        try await KafkaTestKit.pipelineTopics(prefix)
    }

    static func backfiller(_ topics: TopicNames, database: String, sim: ServiceProcess, extra: [String] = [],
                           environment: [String: String] = [:]) async throws -> ServiceProcess {
        try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix, "--rest-url", "coinbase=http://127.0.0.1:\(sim.port)/coinbase",
                                                     "--rest-url", "finnhub=http://127.0.0.1:\(sim.port)/finnhub/api/v1",
                                                     "--settle-seconds", "2", "--poll-interval-ms", "200"] + extra,
                           environment: kafkaProperties.merging(["DATABASE_URL": database], uniquingKeysWith: { $1 }).merging(environment) { $1 })
    }

    /// The simulator's REST truth for one minute: [time, low, high, open, close, volume].
    static func truth(_ sim: ServiceProcess, product: String, minute: Int64) async throws -> [String: DecimalText] {
        let iso = Timestamps.rfc3339(nanoseconds: minute * 1_000_000_000, fractionDigits: 0)
        let body = await sim.get("/coinbase/products/\(product)/candles?granularity=60&start=\(iso)&end=\(iso)")?.body ?? ""
        guard let row = try JSONParser().parse(body).arrayValue?.first?.arrayValue, row.count == 6 else { return [:] }
        return ["low": row[1].decimal!, "high": row[2].decimal!, "open": row[3].decimal!, "close": row[4].decimal!, "volume": row[5].decimal!]
    }

    @Test("a gap made by dropping the feed is filled: the repaired minutes equal the venue's REST candles, 5m agrees with 1m, candles republished")
    func dropGapFilled() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfe2e")
        let topics = try await Self.topics("bfe2e")
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up")
        let recorder = try TopicRecorder(topics: [topics.candles])
        let environment = Self.kafkaProperties.merging(["DATABASE_URL": database]) { $1 }
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix],
                                          environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        // History bootstrap is specified on its own (BootstrapTests); here only the drop's gap is repaired.
        let backfiller = try await Self.backfiller(topics, database: database, sim: sim, environment: ["BOOTSTRAP_DAYS": "0"])
        let connection = try await PostgresTestKit.connect(url: database)

        // The stream has run across a minute boundary (so the gap's first minute was seen from its start).
        let streaming = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let rows = try await connection.query("SELECT count(DISTINCT bucket) AS n FROM candles WHERE source = 'coinbase' AND timeframe = '1m' AND price_type = 'trade'")
            return Int(rows.first?["n"] ?? "0") ?? 0 >= 2
        }
        #expect(streaming, "candles from the stream; aggregator log:\n\(aggregator.log.suffix(2000))")
        _ = await sim.post("/control/drop?venue=coinbase")
        let ledger = GapLedger(connection: connection)
        let filled = try await TestEnvironment.eventually(timeout: .seconds(150)) {
            let gaps = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD")
            return !gaps.isEmpty && gaps.allSatisfy { $0.status == .filled }
        }
        let gaps = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD")
        #expect(filled, "gaps: \(gaps); backfiller log:\n\(backfiller.log.suffix(4000))")
        let gap = try #require(gaps.first { $0.reasons.contains("disconnect") })
        #expect(gap.venueSymbol == "BTC-USD")

        // Every minute of the gap equals the venue's REST candle, exactly.
        for minute in stride(from: gap.from / 60_000_000_000 * 60, through: gap.to / 60_000_000_000 * 60, by: 60) {
            let truth = try await Self.truth(sim, product: "BTC-USD", minute: minute)
            let row = try #require(try await connection.query("""
                SELECT open::text, high::text, low::text, close::text, volume::text, origin FROM candles
                WHERE source = 'coinbase' AND symbol = 'BTC/USD' AND timeframe = '1m' AND price_type = 'trade' AND bucket = to_timestamp($1::bigint)
                """, [minute]).first, "minute \(minute) stored")
            for column in ["open", "high", "low", "close", "volume"] {
                #expect(row[column].flatMap(DecimalText.init) == truth[column], "minute \(minute) \(column): \(row[column] ?? "nil") vs REST \(truth[column].map(\.text) ?? "nil")")
            }
            #expect(row["origin"] == "merged" || row["origin"] == "backfill")
            let coverage = try await connection.query("SELECT state, detail FROM gap_coverage('coinbase', 'BTC/USD', to_timestamp($1::bigint), to_timestamp($1::bigint + 60))", [minute])
            #expect(coverage.first?["state"] == "complete", "coverage \(coverage.first.map { "\($0["state"] ?? "")/\($0["detail"] ?? "")" } ?? "none")")
        }
        // Higher timeframes agree with the 1-minute rows.
        let disagreeing = try await connection.query("""
            SELECT h.bucket FROM candles h
            JOIN LATERAL (SELECT (array_agg(m.open ORDER BY m.bucket))[1] AS open, (array_agg(m.close ORDER BY m.bucket DESC))[1] AS close,
                                 max(m.high) AS high, min(m.low) AS low, sum(m.volume) AS volume
                          FROM candles m WHERE m.source = h.source AND m.symbol = h.symbol AND m.timeframe = '1m' AND m.price_type = 'trade'
                            AND m.bucket >= h.bucket AND m.bucket < h.bucket + interval '5 minutes') m ON true
            WHERE h.source = 'coinbase' AND h.symbol = 'BTC/USD' AND h.timeframe = '5m' AND h.price_type = 'trade'
              AND h.bucket = to_timestamp(($1::bigint / 300) * 300)
              AND (h.open, h.close, h.high, h.low, h.volume) IS DISTINCT FROM (m.open, m.close, m.high, m.low, m.volume)
            """, [gap.from / 1_000_000_000])
        #expect(disagreeing.count == 0, "the 5m candle holding the gap equals its minutes")
        // Republished: the repaired minute went out on the candles topic with its origin.
        let firstMinute = gap.from / 60_000_000_000 * 60_000_000_000
        _ = try await recorder.waitFor(topics.candles, timeout: .seconds(30), "the repaired minute republished") { messages in
            messages.contains { message in
                guard let candle = try? JSONParser().parse(message.value) else { return false }
                return candle["timeframe"]?.stringValue == "1m" && candle["start"]?.int64Value == firstMinute
                    && ["merged", "backfill"].contains(candle["origin"]?.stringValue ?? "")
            }
        }
        let health = await backfiller.get("/health/live")?.body ?? ""
        #expect(health.contains("counter gaps_filled "), "\(health)")
        #expect(!health.contains("counter gaps_filled 0\n"), "\(health)")
        for process in [ingestor, backfiller, aggregator] { #expect(await process.terminate(timeout: .seconds(30)) == 0) }
        await recorder.stop()
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
