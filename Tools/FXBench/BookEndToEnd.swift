import Foundation
import FXContracts
import FXCore
import FXIngest
import FXKafka
import FXSim
import Logging
import Metrics
import ServiceLifecycle

/// Books end to end: fxsim's Kraken v2 (pairs × updates/s) -> the ingestor (normalize, keep, check, publish)
/// -> the books topic -> ``BookBuilder`` in a consumer, all in this process, against the same run's ticks
/// (fxsim -> ingestor -> the ticks topic -> a consumer) as the baseline: how much later a book change is
/// applied than a trade or quote of the same venue is read.
struct BookEndToEnd {
    let options: BenchOptions
    let pairs: Int
    let stepMilliseconds: Int
    let seconds: Int

    struct Result {
        var bookLatencies: [Double] = []
        var tickLatencies: [Double] = []
        var applied = 0
        var gaps = 0
        var inSync = 0
    }

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        var simConfiguration = SimConfiguration()
        simConfiguration.port = 0
        simConfiguration.stepInterval = .milliseconds(stepMilliseconds)
        let sim = SimulatorService(configuration: simConfiguration, logger: logger)
        let symbols = (0..<pairs).map { "P\($0)/USD" }
        let topics = TopicNames(prefix: "bench-books-e2e-\(UInt32.random(in: 0...UInt32.max)).")
        let simGroup = ServiceGroup(configuration: .init(services: [.init(service: sim)], logger: logger))
        async let simRun: Void = simGroup.run()
        let port = await sim.port()
        var configuration = IngestorConfiguration(feeds: [FeedConfiguration(provider: "kraken", symbols: symbols, webSocketURL: "ws://127.0.0.1:\(port)/kraken/v2")])
        configuration.queueCapacity = 100_000
        let kafka = KafkaConfiguration(bootstrapServers: options.brokers, properties: ["linger.ms": "5"])
        let ingestor = IngestorService(configuration: configuration, kafka: kafka, topics: topics, instance: "bench",
                                       metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: ingestor)], logger: logger))
        async let ingestRun: Void = group.run()
        try await Task.sleep(for: .seconds(3))   // topics created, pairs subscribed, snapshots in
        let consumerConfiguration = KafkaConfiguration(bootstrapServers: options.brokers,
                                                       properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "fetch.wait.max.ms": "5"])
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, groupID: "bench-\(UInt32.random(in: 0...UInt32.max))",
                                         topics: [topics.books, topics.ticks],
                                         rebalanceHandler: KafkaRebalanceHandler(partitionsAssigned: { partitions in
                                             Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
                                         }), logger: logger)
        let result = try await whileRunning(consumer) { () async throws -> Result in
            var result = Result()
            var builder = BookBuilder()
            var measuringFrom: Int64?
            let end = ContinuousClock.now + .seconds(seconds + 10)
            for try await event in consumer.events {
                guard case .message(let message) = event else { continue }
                let now = WallClock.nanoseconds()
                if message.topic == topics.books {
                    guard let book = try? BookMessage(json: message.value) else { continue }
                    for event in builder.apply(book) { if case .gap = event { result.gaps += 1 } }
                    // Measured once the consumer has caught up with the topic (the first second after joining).
                    if measuringFrom == nil, now - book.recvTs < 1_000_000_000 { measuringFrom = now + 1_000_000_000 }
                    if let from = measuringFrom, now >= from, book.kind == .delta {
                        result.applied += 1
                        result.bookLatencies.append(Double(now - book.ts) / 1e6)
                    }
                } else if let from = measuringFrom, now >= from, let tick = try? JSONParser().parse(message.value), let ts = tick["ts"]?.int64Value {
                    result.tickLatencies.append(Double(now - ts) / 1e6)
                }
                if let from = measuringFrom, now - from >= Int64(seconds) * 1_000_000_000 { break }
                if ContinuousClock.now > end { break }
            }
            result.inSync = builder.keys.filter { builder.book($0) != nil }.count
            await consumer.close()
            return result
        }
        await group.triggerGracefulShutdown()
        try await ingestRun
        await simGroup.triggerGracefulShutdown()
        try await simRun
        func percentile(_ values: [Double], _ p: Double) -> Double {
            guard !values.isEmpty else { return .nan }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let books50 = percentile(result.bookLatencies, 0.5), ticks50 = percentile(result.tickLatencies, 0.5)
        print(String(format: "books end to end (fxsim Kraken %d pairs, a step every %d ms -> ingestor -> books topic -> BookBuilder), %d s: %.0f book updates/s applied, %d of %d books in sync, %d seq gaps",
                     pairs, stepMilliseconds, seconds, Double(result.applied) / Double(seconds), result.inSync, pairs, result.gaps))
        print(String(format: "  venue time -> applied by the library: p50 %.1f ms, p99 %.1f ms; baseline ticks venue time -> read: p50 %.1f ms, p99 %.1f ms; ratio (p50 books / ticks) %.2f",
                     books50, percentile(result.bookLatencies, 0.99), ticks50, percentile(result.tickLatencies, 0.99), books50 / ticks50))
    }
}
