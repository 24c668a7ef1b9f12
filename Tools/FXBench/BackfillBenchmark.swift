import FXConfiguration
import FXContracts
import FXCandles
import ArgumentParser
import CoreMetrics
import Foundation
import FXAggregate
import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXSim
import Logging
import ServiceLifecycle

/// Gap repair throughput: minutes of history repaired per second by 1 and by 3 backfiller replicas
/// (each its own `GapRepairService`, connections and workers; started and idle before the gaps become
/// due) against the rate limit's theoretical maximum (rate x 300 minutes per Coinbase request), on the
/// simulator's REST history (in process); and
/// the database time to write one repaired day of 1-minute candles through `CandleStore.repair` against
/// COPYing the same rows into a plain table (the baseline), in the same run. Uses a database of its own.
struct BackfillBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "backfill")
    @OptionGroup var options: BenchOptions
    @Option(help: "Shared rate limit, requests per second.") var rate: Int = 10
    @Option(help: "Gaps per run (300 minutes each: one request each; at most 128).") var gaps: Int = 120

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let admin = try await PostgresConnection.connect(PostgresConfiguration(url: options.databaseURL), logger: logger)
        let (name, url, db) = try await options.freshDatabase(admin, logger: logger)

        var simConfiguration = SimConfiguration()
        simConfiguration.port = 0
        simConfiguration.stepInterval = .seconds(1)
        simConfiguration.historyMinutes = 7 * 24 * 60
        simConfiguration.coinbaseProducts = Self.products
        let sim = SimulatorService(configuration: simConfiguration, logger: logger)
        let simGroup = ServiceGroup(configuration: .init(services: [.init(service: sim)], logger: logger))
        async let simRun: Void = simGroup.run()
        let port = await sim.port()

        let theoretical = Double(rate) * 300
        var ratios = RatioReport(name: "backfill: minutes repaired/s, 3 replicas vs 1 (rate \(rate)/s, \(gaps) gaps of 300 min)", unit: "min/s")
        var shares: [(Double, Double)] = []
        for _ in 0..<options.rounds {
            let one = try await repair(replicas: 1, port: port, db: db, url: url, logger: logger)
            let three = try await repair(replicas: 3, port: port, db: db, url: url, logger: logger)
            ratios.add(baseline: one, bridge: three)
            shares.append((one / theoretical, three / theoretical))
        }
        ratios.printSummary(goal: nil)
        let oneShare = shares.map(\.0).sorted()[shares.count / 2], threeShare = shares.map(\.1).sorted()[shares.count / 2]
        print(String(format: "backfill: share of the limit's theoretical maximum (%.0f min/s): 1 replica %.3f, 3 replicas %.3f (goal >= 0.95 with 3: %@)",
                     theoretical, oneShare, threeShare, threeShare >= 0.95 ? "met" : "NOT met"))

        var day = RatioReport(name: "backfill: one repaired day of 1-minute candles, COPY into a plain table vs CandleStore.repair", unit: "days/s")
        for round in 0..<options.rounds {
            let (copy, repair) = try await repairDay(round: round, db: db)
            day.add(baseline: 1 / copy, bridge: 1 / repair)
            print(String(format: "    database time per repaired day: %.1f ms (COPY baseline %.1f ms)", repair * 1000, copy * 1000))
        }
        day.printSummary(goal: nil)

        await simGroup.triggerGracefulShutdown()
        try await simRun
        await db.close()
        try await admin.query("DROP DATABASE \(name) WITH (FORCE)")
        await admin.close()
    }

    /// Instruments with a week of history (32 slots of 303 minutes each).
    static let products = ["BTC-USD", "ETH-USD", "SOL-USD", "LTC-USD"]

    /// Minutes repaired per second by `replicas` repair services draining `gaps` fresh gaps.
    private func repair(replicas: Int, port: Int, db: PostgresConnection, url: String, logger: Logger) async throws -> Double {
        try await db.query("TRUNCATE gaps, gap_events, confirmed_empty, rate_buckets, candles")
        let ledger = GapLedger(connection: db)
        let now = WallClock.nanoseconds() / 60_000_000_000 * 60_000_000_000
        for index in 0..<min(gaps, 128) {
            let product = Self.products[index % Self.products.count]
            let slot = Int64(index / Self.products.count)
            let from = now - 10_000 * 60_000_000_000 + slot * 303 * 60_000_000_000
            _ = try await ledger.record(GapEvent(source: "coinbase", symbol: product.replacingOccurrences(of: "-", with: "/"), venueSymbol: product,
                                                 from: from, to: from + 299 * 60_000_000_000, reason: .disconnect,
                                                 detectedAt: now, detail: "bench", instance: "bench"))
        }
        var configuration = BackfillerConfiguration.withTopicPrefix("bench.")
        configuration.restURLOverrides = [KeyedValue(key: "coinbase", value: "http://127.0.0.1:\(port)/coinbase")]
        configuration.coinbaseRateLimit = RateLimit(perSecond: Double(rate))
        configuration.settle = .zero
        configuration.pollInterval = .milliseconds(20)
        var kafka = KafkaConfiguration(bootstrapServers: options.brokers)
        kafka.properties["linger.ms"] = "5"
        // Each replica as a process has them: its HTTP client and producer, then its repair service.
        let services: [any Service] = try (0..<replicas).flatMap { index -> [any Service] in
            let http = HistoryHTTPClient(requestTimeout: configuration.requestTimeout)
            let producer = try KafkaProducer(configuration: kafka, flushTimeout: .seconds(5), logger: logger)
            let context = BackfillerContext(configuration: configuration, kafka: kafka, topics: TopicNames(prefix: "bench."),
                                            database: PostgresConfiguration(url: url), schema: nil, instance: "bench-\(index)",
                                            metricsFactory: NOOPMetricsHandler.instance, logger: logger)
            return [http, producer, GapRepairService(context: context, producer: producer, http: http.client)]
        }
        // The replicas start and go idle first (the gaps are not due yet): the clock measures a running
        // deployment draining work, not process start-up.
        try await db.query("UPDATE gaps SET next_attempt_at = now() + interval '1 day'")
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        async let running: Void = group.run()
        try await Task.sleep(for: .seconds(2))
        let start = ContinuousClock.now
        try await db.query("UPDATE gaps SET next_attempt_at = now()")
        while true {
            let filled = try await db.query("SELECT count(*) AS n FROM gaps WHERE status = 'filled'").first?["n"]
            if Int(filled ?? "0") == min(gaps, 128) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let elapsed = seconds(ContinuousClock.now - start)
        await group.triggerGracefulShutdown()
        try await running
        return Double(min(gaps, 128) * 300) / elapsed
    }

    /// Seconds to COPY one day of candle rows into a plain table, and to repair the same day.
    private func repairDay(round: Int, db: PostgresConnection) async throws -> (Double, Double) {
        let base = (WallClock.nanoseconds() / 86_400_000_000_000 - 30 - Int64(round)) * 86_400_000_000_000
        var random = SplitMix64(seed: UInt64(round + 1))
        var price: Int64 = 5_000_000
        let candles = (0..<1_440).map { minute -> HistoryCandle in
            let open = price
            price += Int64(random.next() % 201) - 100
            let close = price
            let high = max(open, close) + Int64(random.next() % 50), low = min(open, close) - Int64(random.next() % 50)
            func text(_ units: Int64) -> DecimalText { DecimalText("\(units / 100).\(String(format: "%02d", units % 100))")! }
            return HistoryCandle(start: base + Int64(minute) * 60_000_000_000, open: text(open), high: text(high), low: text(low),
                                 close: text(close), volume: DecimalText("\(1 + random.next() % 1000).5")!)
        }
        try await db.query("CREATE TABLE IF NOT EXISTS bench_copy (source text, symbol text, bucket_s bigint, open numeric, high numeric, low numeric, close numeric, volume numeric)")
        try await db.query("TRUNCATE bench_copy")
        let copyStart = ContinuousClock.now
        _ = try await db.copyIn("COPY bench_copy FROM STDIN", rows: candles.map {
            ["bench", "DAY/USD", String($0.start / 1_000_000_000), $0.open.text, $0.high.text, $0.low.text, $0.close.text, $0.volume.text]
        })
        let copy = seconds(ContinuousClock.now - copyStart)
        let store = FencedCandleStore(timeframes: Timeframe.defaults, bidAskCandles: false, consumerGroup: "bench", topic: "bench.ticks")
        let repairStart = ContinuousClock.now
        _ = try await store.candles.repair(source: "bench", symbol: "DAY/USD", from: base, to: base + 86_399_000_000_000, candles: candles, on: db)
        return (copy, seconds(ContinuousClock.now - repairStart))
    }
}
