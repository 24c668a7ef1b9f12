import ArgumentParser
import CRdKafka
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import FXCore
import FXKafka
import FXMetrics
import FXPostgres
import Logging

/// `fxbench pipeline`: the whole pipeline on this machine — a Coinbase-protocol sender (`blast-sender`,
/// its own process) -> the `ingestor` executable -> the broker -> the `aggregator` executable ->
/// PostgreSQL — in three phases:
/// 1. latency: `--latency-rate` ticks/s for `--latency-seconds`; tick -> candle-row latency from the
///    aggregator's heartbeats (`tick_to_candle`: a tick's `recv_ts` -> its candles committed);
/// 2. sustained: each of `--rates` for `--seconds` until one keeps the aggregator's lag bounded
///    (the lag's growth over the second half under 2% of the rate);
/// 3. catch-up: the aggregator stopped (SIGTERM) for `--stop-seconds` while ticks keep coming at
///    `--catch-up-rate`, the sender slowed to 100/s, the aggregator restarted: its drain rate
///    (backlog / time from its first progress to a lag under one second of input).
/// Lag = the ticks topic's high watermarks - the aggregator's stored offsets (`aggregator_offsets`,
/// the database's own record of what it has counted). CPU per process is read from /proc: before the
/// phases, same-run baselines (``StageBaselines``: raw producer, raw consumer, the broker for both, a JSON
/// scan, a COPY row); after each sustained rate and the drain, a table of CPU µs per tick per stage
/// (ingestor, broker, aggregator, monitor, PostgreSQL) and, per `--cores` rate, a sizing.
struct PipelineBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pipeline")
    @OptionGroup var options: BenchOptions
    @Option(help: "Products.") var symbols: Int = 20
    @Flag(help: "Every other frame a ticker (a quote: candles of a second price type, mid).") var quotes = false
    @Option(help: "Partitions of the ticks topic.") var partitions: Int = 6
    @Option(help: "Ticks/s of the latency phase.") var latencyRate: Int = 10_000
    @Option(help: "Seconds of the latency phase.") var latencySeconds: Int = 30
    @Option(parsing: .upToNextOption, help: "Ticks/s tried in the sustained phase, in order, until one holds.") var rates: [Int] = [100_000, 50_000, 25_000]
    @Option(help: "Seconds per sustained rate.") var seconds: Int = 60
    @Option(help: "Ticks/s while the aggregator is stopped.") var catchUpRate: Int = 20_000
    @Option(help: "Seconds the aggregator is stopped.") var stopSeconds: Int = 60
    @Option(help: "Directory of the ingestor and aggregator executables (default: next to fxbench).") var binDir: String?
    @Option(help: "More librdkafka properties for the services (KAFKA_PROPERTIES syntax: k=v,k=v).") var kafkaProperties: String?
    @Option(parsing: .upToNextOption, help: "Phases to run, in this order: latency, sustained, catch-up.") var phases: [String] = ["latency", "sustained", "catch-up"]
    @Flag(help: "Print every heartbeat's latency sample and the lag after the latency phase's rate step (stderr).") var trace = false
    @Option(help: "More environment for the aggregator (k=v,k=v), e.g. FLUSH_INTERVAL_MS=100.") var aggregatorEnv: String?
    @Option(help: "Messages of each same-run baseline (raw producer, raw consumer, JSON scan, COPY).") var baselineMessages: Int = 200_000
    @Option(parsing: .upToNextOption, help: "Ticks/s to size a deployment for from the measured CPU per tick (replicas of the services, cores of the broker and PostgreSQL).")
    var cores: [Int] = [100_000]

    func validate() throws {
        if let unknown = phases.first(where: { !["latency", "sustained", "catch-up"].contains($0) }) {
            throw ValidationError("unknown phase '\(unknown)' (latency, sustained, catch-up)")
        }
        _ = try aggregatorEnvironment([:])
    }

    /// `environment` plus `--aggregator-env`'s `K=V` pairs; a pair without `=` is refused.
    func aggregatorEnvironment(_ environment: [String: String]) throws -> [String: String] {
        var result = environment
        for pair in (aggregatorEnv ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--aggregator-env: '\(pair)' is not K=V") }
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let bin = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let admin = try await PostgresConnection.connect(PostgresConfiguration(url: options.databaseURL), logger: logger)
        let database = try await options.freshDatabase(admin, logger: logger)
        let prefix = "benchpipe\(UUID().uuidString.prefix(6).lowercased())."
        let ticksTopic = prefix + "ticks"
        let env = ["KAFKA_BROKERS": options.brokers, "DATABASE_URL": database.url, "TOPIC_PREFIX": prefix, "LOG_LEVEL": "warning",
                   "KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500" + (kafkaProperties.map { "," + $0 } ?? "")]
        try Child.run("\(bin)/fxadmin", ["setup", "--partitions", String(partitions)], environment: env)
        // The floors, before any service runs.
        let tick = Array(#"{"v":1,"kind":"trade","source":"coinbase","symbol":"B0/USD","venue_symbol":"B0-USD","ts":1795000000000000000,"recv_ts":1795000000001500000,"seq":1001,"price":"50000.01","size":"0.00000001","side":"buy","trade_id":"1"}"#.utf8)
        let baselines = try await StageBaselines.measure(brokers: options.brokers, database: database.connection, tick: tick,
                                                         messages: baselineMessages, logger: logger)
        print(baselines.report())

        let senderPort = try Self.freePort()
        let sender = try Child("\(bin)/fxbench", ["blast-sender", "--port", String(senderPort), "--symbols", String(symbols), "--rate", "100"] + (quotes ? ["--quotes"] : []), environment: [:])
        try await Task.sleep(for: .seconds(1))
        let ingestor = try Child("\(bin)/ingestor", ["--provider", "coinbase", "--symbols", (0..<symbols).map { "B\($0)-USD" }.joined(separator: ","),
                                                    "--ws-url", "ws://127.0.0.1:\(senderPort)/feed", "--max-symbols-per-connection", "1000",
                                                    "--http-port", String(try Self.freePort())], environment: env)
        let aggregatorEnvironment = try aggregatorEnvironment(env)
        var aggregator = try Child("\(bin)/aggregator", ["--http-port", String(try Self.freePort())], environment: aggregatorEnvironment)
        let monitor = try Child("\(bin)/monitor", ["--http-port", String(try Self.freePort())], environment: env)
        let probe = try LagProbe(brokers: options.brokers, topic: ticksTopic, partitions: partitions, consumerGroup: prefix + "aggregator",
                                 database: database.connection)
        let health = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: options.brokers, properties: [
            "session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "auto.offset.reset": "latest"]),
            groupID: prefix + "bench-health", topics: [prefix + "health"], logger: logger)
        let latencies = LatencyCollector(trace: trace)
        let healthTask = Task { try await whileRunning(health) { try await latencies.read(health) } }
        defer {
            healthTask.cancel()
            for child in [sender, ingestor, aggregator, monitor] { child.stop() }
        }
        func setRate(_ rate: Int) async throws {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(senderPort)/rate/\(rate)")!)
            request.httpMethod = "POST"
            _ = try await URLSession.shared.data(for: request)
        }

        // Warm-up: the aggregator joins and catches up with a slow trickle.
        try await setRate(1_000)
        try await probe.waitUntilCaughtUp(within: .seconds(60), slack: 2_000)
        print("pipeline: \(symbols) products\(quotes ? " (trades and quotes)" : " (trades)"), \(partitions) partitions; machine \(ProcessInfo.processInfo.activeProcessorCount) cores")

        // 1. Latency at a moderate rate.
        if phases.contains("latency") {
        try await setRate(latencyRate)
        if trace {
            let stepAt = ContinuousClock.now
            for _ in 0..<32 {
                try await Task.sleep(for: .milliseconds(250))
                let now = try await probe.sample()
                FileHandle.standardError.write(Data("TRACE step +\(ContinuousClock.now - stepAt): produced \(now.produced) lag \(now.lag)\n".utf8))
            }
        }
        try await Task.sleep(for: .seconds(5))
        _ = latencies.take()
        _ = latencies.takeIngest()
        let flushesBefore = latencies.flushCounters()
        try await Task.sleep(for: .seconds(latencySeconds))
        let sample = latencies.take()
        let flushesAfter = latencies.flushCounters()
        let ingest = latencies.takeIngest()
        print(String(format: "latency at %d ticks/s (%d ticks, tick recv_ts -> candle committed): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     latencyRate, Int(sample.count), Double(sample.p50) / 1000, Double(sample.p99) / 1000, Double(sample.max) / 1000))
        print(String(format: "  of which ingestor frame received -> Kafka acknowledged: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     Double(ingest.p50) / 1000, Double(ingest.p99) / 1000, Double(ingest.max) / 1000))
        let flushCount = flushesAfter.flushes - flushesBefore.flushes
        print(String(format: "  aggregator: %d flushes (%.1f/s), %.0f ticks per flush, longest flush seen by a heartbeat %.1f ms",
                     flushCount, Double(flushCount) / Double(latencySeconds),
                     Double(flushesAfter.ticks - flushesBefore.ticks) / Double(max(1, flushCount)), flushesAfter.longestFlushMs))
        }

        // 2. Sustained rates.
        for rate in phases.contains("sustained") ? rates : [] {
            try await setRate(100)
            try await probe.waitUntilCaughtUp(within: .seconds(180), slack: 2_000)
            let cpu = PhaseCPU([("ingestor", ingestor), ("aggregator", aggregator), ("monitor", monitor), ("sender", sender)])
            let start = try await probe.sample()
            try await setRate(rate)
            var lags: [(Double, Int64)] = []
            let begin = ContinuousClock.now
            while ContinuousClock.now - begin < .seconds(seconds) {
                try await Task.sleep(for: .seconds(1))
                let now = try await probe.sample()
                lags.append((PipelineBenchmark.seconds(ContinuousClock.now - begin), now.lag))
            }
            let end = try await probe.sample()
            let elapsed = PipelineBenchmark.seconds(ContinuousClock.now - begin)
            let input = Double(end.produced - start.produced) / elapsed
            let counted = Double(end.counted - start.counted) / elapsed
            let half = lags.filter { $0.0 >= Double(seconds) / 2 }
            let growth = half.count >= 2 ? Double(half.last!.1 - half.first!.1) / (half.last!.0 - half.first!.0) : 0
            let bounded = growth < 0.02 * Double(rate)
            print(String(format: "sustained at %d ticks/s asked: input %.0f ticks/s into Kafka, aggregator %.0f ticks/s, lag at end %d, lag growth over the second half %.0f ticks/s -> %@; %@; aggregator peak RSS %.1f MiB",
                         rate, input, counted, end.lag, growth, bounded ? "bounded" : "NOT bounded", cpu.report(), aggregator.peakResidentMiB))
            let used = cpu.used()
            let produced = Double(end.produced - start.produced), consumed = Double(end.counted - start.counted)
            let stages = [
                StageRow(stage: "ingestor (frames -> acknowledged ticks)", micros: used.children["ingestor", default: 0] / produced * 1e6,
                         baselineName: "raw producer", baseline: baselines.producer),
                StageRow(stage: "broker", micros: used.broker / produced * 1e6, baselineName: "raw produce + consume", baseline: baselines.broker),
                StageRow(stage: "aggregator (consumed -> committed)", micros: used.children["aggregator", default: 0] / consumed * 1e6,
                         baselineName: "raw consumer", baseline: baselines.consumer),
                StageRow(stage: "monitor (ticks read)", micros: used.children["monitor", default: 0] / produced * 1e6,
                         baselineName: "JSON scan", baseline: baselines.scan),
                StageRow(stage: "PostgreSQL", micros: used.postgres / consumed * 1e6, baselineName: "COPY row", baseline: baselines.copyRow)]
            printStages(stages, baselines: baselines, title: "CPU per tick at \(rate) ticks/s asked")
            if bounded { break }
        }

        // 3. Catch-up after an aggregator stop.
        if phases.contains("catch-up") {
        try await setRate(100)
        try await probe.waitUntilCaughtUp(within: .seconds(300), slack: 2_000)
        try await setRate(catchUpRate)
        aggregator.stop()
        try await Task.sleep(for: .seconds(stopSeconds))
        try await setRate(100)
        try await Task.sleep(for: .seconds(1))
        let backlog = try await probe.sample()
        aggregator = try Child("\(bin)/aggregator", ["--http-port", String(try Self.freePort())], environment: aggregatorEnvironment)
        let restarted = ContinuousClock.now
        let processes = [("aggregator", aggregator), ("ingestor", ingestor), ("monitor", monitor), ("sender", sender)]
        let cpu = PhaseCPU(processes)
        var firstProgress: (ContinuousClock.Instant, Int64)?
        var caughtUp: (ContinuousClock.Instant, Int64)?
        // The drain's own CPU: the figure from the restart includes the group join, when little runs.
        var drainCPU: PhaseCPU?
        var drainReport = ""
        while ContinuousClock.now - restarted < .seconds(600) {
            try await Task.sleep(for: .milliseconds(250))
            let now = try await probe.sample()
            if firstProgress == nil, now.counted > backlog.counted {
                firstProgress = (.now, now.counted)
                drainCPU = PhaseCPU(processes)
            }
            if now.lag < 1_000 {
                caughtUp = (.now, now.counted)
                drainReport = drainCPU?.report() ?? ""
                if let used = drainCPU?.used(), let first = firstProgress {
                    let drained = Double(now.counted - first.1)
                    print(StageRow.table([
                        StageRow(stage: "aggregator (consumed -> committed)", micros: used.children["aggregator", default: 0] / drained * 1e6,
                                 baselineName: "raw consumer", baseline: baselines.consumer),
                        StageRow(stage: "broker (fetches)", micros: used.broker / drained * 1e6, baselineName: "raw produce + consume", baseline: baselines.broker),
                        StageRow(stage: "PostgreSQL", micros: used.postgres / drained * 1e6, baselineName: "COPY row", baseline: baselines.copyRow)],
                        rate: 100_000).replacingOccurrences(of: "| stage |", with: "| catch-up drain: stage |"))
                }
                break
            }
        }
        guard let first = firstProgress, let done = caughtUp else { throw ValidationError("the aggregator did not catch up within 600 s") }
        let drained = done.1 - first.1
        print(String(format: "catch-up after a %d s stop at %d ticks/s: backlog %d ticks; restart -> first flush %.1f s; drained %d ticks in %.1f s = %.0f ticks/s",
                     stopSeconds, catchUpRate, backlog.lag, PipelineBenchmark.seconds(first.0 - restarted), drained,
                     PipelineBenchmark.seconds(done.0 - first.0), Double(drained) / PipelineBenchmark.seconds(done.0 - first.0)))
        print("  while draining: \(drainReport)")
        print("  from the restart: \(cpu.report()); aggregator peak RSS \(String(format: "%.1f", aggregator.peakResidentMiB)) MiB")
        }
        healthTask.cancel()
        for child in [sender, ingestor, aggregator, monitor] { child.stop() }
        await database.connection.close()
        _ = try? await admin.query("DROP DATABASE \(database.name) WITH (FORCE)")
        await admin.close()
    }

    static func seconds(_ duration: Duration) -> Double { FXBench.seconds(duration) }

    /// The per-stage table, the services together, and a sizing per `--cores` rate.
    func printStages(_ stages: [StageRow], baselines: StageBaselines, title: String) {
        let services = stages.filter { !$0.stage.hasPrefix("broker") && !$0.stage.hasPrefix("PostgreSQL") }
        let whole = StageRow(stage: "ingestor + aggregator + monitor", micros: services.map(\.micros).reduce(0, +),
                             baselineName: "producer + consumer + scan", baseline: baselines.producer + baselines.consumer + baselines.scan)
        print(title + ":")
        print(StageRow.table(stages + [whole], rate: 100_000))
        for rate in cores { print(StageRow.sizing(stages, rate: Double(rate))) }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ValidationError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
