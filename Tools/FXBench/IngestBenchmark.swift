import FXContracts
import FXVenues
import ArgumentParser
import Foundation
import FXCore
import FXIngest
import FXKafka
import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Frames -> Kafka-acknowledged ticks through the whole ingestor (WebSocket client, normalizer, tracker,
/// publish queue, pipelined producer) vs a raw librdkafka producer of the same tick bytes; plus the
/// latency from frame received to delivery report, at saturation and at a paced rate.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest")
    @OptionGroup var options: BenchOptions
    @Option(help: "Frames (Coinbase matches) per round.") var messages: Int = 100_000
    @Option(help: "Products the frames are spread over.") var products: Int = 10
    @Option(help: "Frames per second in the paced latency run.") var pacedRate: Int = 2_000
    @Option(help: "Seconds of the paced latency run.") var pacedSeconds: Int = 5
    @Option(help: "Where the frames come from: `process` (fxbench blast-sender, a process of its own: the figure is the ingestor's) or `in-process` (a server in this process, sharing its CPU).")
    var sender: String = "process"
    @Option(help: "The ingestor's publish linger in microseconds (its `publish_linger_ms`; default: the ingestor's default).")
    var publishLingerMicros: Int?
    @Option(help: "The core the sender process is pinned to with taskset (its CPU is never counted; -1: not pinned).")
    var senderCore: Int = ProcessInfo.processInfo.activeProcessorCount - 1

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let symbols = (0..<products).map { "B\($0)-USD" }
        let frames = Self.frames(count: messages, symbols: symbols)
        // The bytes the pipeline publishes for a frame, for the raw baseline.
        guard case .tick(let sample)? = CoinbaseNormalizer().normalize(Array(frames[0].utf8), receivedAt: 1).first else {
            throw ValidationError("sample frame does not normalize")
        }
        let tickBytes = sample.jsonBytes()
        var report = RatioReport(name: "ingest frames -> kafka-acked ticks (\(messages) Coinbase matches, \(tickBytes.count) B ticks)", unit: "msg/s")
        var saturated: [Duration] = []
        var cpu = RatioReport(name: "ingest CPU per frame vs a raw producer's CPU per message (µs; the sender's CPU not counted)", unit: "frames per CPU s")
        for round in 0..<options.rounds {
            let topic = "bench-ingest-raw-\(round)-\(UUID().uuidString.prefix(6))"
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: options.brokers), logger: logger)
            _ = try await admin.createTopics([KafkaTopicSpec(name: topic, partitions: 3)])
            let rawCPU = processCPUSeconds()
            let raw = try KafkaProduceBenchmark.rawProduce(brokers: options.brokers, topic: topic, value: tickBytes, count: messages)
            let rawMicros = (processCPUSeconds() - rawCPU) / Double(messages) * 1e6
            let run = try await pipelineRun(frames: frames, symbols: symbols, rate: nil, logger: logger)
            saturated += run.latencies
            print("round \(round + 1):")
            report.add(baseline: Double(messages) / raw, bridge: Double(messages) / run.seconds)
            if let micros = run.cpuMicrosPerFrame {
                print(String(format: "  CPU: ingestor %.2f µs per frame (librdkafka's threads included), raw producer %.2f µs per message; %.3f context switches per frame",
                             micros, rawMicros, run.switchesPerFrame ?? 0))
                cpu.add(baseline: 1e6 / rawMicros, bridge: 1e6 / micros)
            }
        }
        report.printSummary(goal: 0.50)
        if !cpu.rows.isEmpty {
            let micros = cpu.rows.map { 1e6 / $0.bridge }.sorted()
            cpu.printSummary(goal: nil)
            print(String(format: "ingest CPU per frame: median %.2f µs (goal <= 5 µs: %@); 100k frames/s need %.2f cores", micros[micros.count / 2],
                         micros[micros.count / 2] <= 5 ? "met" : "NOT met", micros[micros.count / 2] * 0.1))
        }
        Self.printLatency("frame received -> delivery report at saturation", saturated)
        let paced = Array(frames.prefix(pacedRate * pacedSeconds))
        let pacedRun = try await pipelineRun(frames: paced, symbols: symbols, rate: pacedRate, logger: logger)
        Self.printLatency("frame received -> delivery report at \(pacedRate) frames/s", pacedRun.latencies)
        if let micros = pacedRun.cpuMicrosPerFrame {
            print(String(format: "  CPU at %d frames/s: %.2f µs per frame, %.2f context switches per frame", pacedRate, micros, pacedRun.switchesPerFrame ?? 0))
        }
    }

    static func printLatency(_ name: String, _ latencies: [Duration]) {
        let sorted = latencies.sorted()
        guard !sorted.isEmpty else { return }
        func ms(_ q: Double) -> Double { seconds(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) * 1000 }
        print(String(format: "%@: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d ticks)", name, ms(0.5), ms(0.99), ms(1.0), sorted.count))
    }

    /// Coinbase `match` frames, round-robin over `symbols`, sequences contiguous per product.
    static func frames(count: Int, symbols: [String]) -> [String] {
        var sequence = [Int](repeating: 1_000, count: symbols.count)
        return (0..<count).map { index in
            let s = index % symbols.count
            sequence[s] += 1
            let micros = 1_795_000_000_000_000 + Int64(index)
            let time = Timestamps.rfc3339(nanoseconds: micros * 1_000)
            return #"{"type":"match","trade_id":\#(index + 1),"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","side":"\#(index % 2 == 0 ? "sell" : "buy")","size":"0.\#(String(format: "%08d", index % 99_999_999 + 1))","price":"\#(50_000 + index % 500).\#(String(format: "%02d", index % 100))","product_id":"\#(symbols[s])","sequence":\#(sequence[s]),"time":"\#(time)"}"#
        }
    }

    /// One run: seconds from the first frame sent (or acknowledged) to the last tick acknowledged, every
    /// tick's latency, and (sender in its own process) this process's CPU per frame over the same span.
    struct Run {
        var seconds: Double
        var latencies: [Duration]
        var cpuMicrosPerFrame: Double?
        /// Context switches of the ingestor's threads per frame over the same span (each is a wake-up or a preemption).
        var switchesPerFrame: Double?
        var captureRecords: Int64?
        /// The raw producer's bytes on the wire per record (librdkafka's `tx_bytes` / `txmsgs`, requests included).
        var captureWireBytesPerRecord: Double?
    }

    func pipelineRun(frames: [String], symbols: [String], rate: Int?, logger: Logger) async throws -> Run {
        if sender == "process" { return try await pipelineFromProcess(count: frames.count, symbols: symbols, rate: rate, logger: logger) }
        let (elapsed, latencies) = try await pipeline(frames: frames, symbols: symbols, rate: rate, logger: logger)
        return Run(seconds: elapsed, latencies: latencies)
    }

    /// Seconds from the first frame sent to the last tick acknowledged, and every tick's latency.
    func pipeline(frames: [String], symbols: [String], rate: Int?, logger: Logger) async throws -> (Double, [Duration]) {
        let server = BlastServer(frames: frames, rate: rate)
        let latencies = Mutex<[Duration]>([])
        let done = Atomic<Int>(0)
        let finished = Mutex<ContinuousClock.Instant?>(nil)
        let expected = frames.count
        let app = server.application()
        let serverGroup = ServiceGroup(configuration: .init(services: [.init(service: app)], logger: logger))
        let serverTask = Task { try await serverGroup.run() }
        let port = await server.port()

        let ingestor = ingestorService(port: port, symbols: symbols, logger: logger) { latency in
            latencies.withLock { $0.append(latency) }
            if done.add(1, ordering: .relaxed).newValue == expected { finished.withLock { $0 = ContinuousClock.now } }
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: ingestor)], logger: logger))
        let task = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(300)
        while finished.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        await group.triggerGracefulShutdown()
        try await task.value
        await serverGroup.triggerGracefulShutdown()
        _ = await serverTask.result
        guard let start = server.started.withLock({ $0 }), let end = finished.withLock({ $0 }) else {
            throw ValidationError("ingest run incomplete: \(done.load(ordering: .relaxed)) of \(expected) ticks acknowledged")
        }
        return (seconds(end - start), latencies.withLock { $0 })
    }
}

extension IngestBenchmark {
    /// A full ingestor service reading the Coinbase feed at `port`, on topics of its own.
    func ingestorService(port: Int, symbols: [String], logger: Logger, capture: String? = nil,
                         observer: @escaping @Sendable (Duration) -> Void) -> IngestorService {
        var configuration = IngestorConfiguration(feeds: [
            FeedConfiguration(provider: "coinbase", symbols: symbols, webSocketURL: "ws://127.0.0.1:\(port)/feed", captureRaw: capture != nil)])
        configuration.queueCapacity = 100_000
        if let publishLingerMicros { configuration.publishLinger = .microseconds(publishLingerMicros) }
        if let capture { configuration.capture.compression = capture }
        // With a capture, every producer reports librdkafka's statistics (the raw one's bytes on the wire).
        return IngestorService(
            configuration: configuration,
            kafka: KafkaConfiguration(bootstrapServers: options.brokers, properties: capture == nil ? [:] : ["statistics.interval.ms": "100"]),
            topics: TopicNames(prefix: "bench-ingest-\(UUID().uuidString.prefix(6))."), instance: "bench",
            metricsFactory: NOOPMetricsHandler.instance, logger: logger, latencyObserver: observer)
    }

    /// The same run with `fxbench blast-sender` as the sender, in its own process: timed from the first
    /// tick acknowledged to the `count`-th.
    func pipelineFromProcess(count: Int, symbols: [String], rate: Int?, logger: Logger, capture: String? = nil) async throws -> Run {
        let port = try PipelineBenchmark.freePort()
        let arguments = ["blast-sender", "--port", String(port), "--symbols", String(symbols.count), "--rate=\(rate ?? -1)"]
        let pin = senderCore >= 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset")
        let sender = pin ? try Child("/usr/bin/taskset", ["-c", String(senderCore), CommandLine.arguments[0]] + arguments, environment: [:])
                         : try Child(CommandLine.arguments[0], arguments, environment: [:])
        defer { sender.stop() }
        try await Task.sleep(for: .seconds(1))
        let latencies = Mutex<[Duration]>([])
        let done = Atomic<Int>(0)
        let marks = Mutex<(first: ContinuousClock.Instant?, last: ContinuousClock.Instant?, firstCPU: Double, lastCPU: Double,
                           firstSwitches: Int, lastSwitches: Int)>((nil, nil, 0, 0, 0, 0))
        let ingestor = ingestorService(port: port, symbols: symbols, logger: logger, capture: capture) { latency in
            let acknowledged = done.add(1, ordering: .relaxed).newValue
            guard acknowledged <= count else { return }
            latencies.withLock { $0.append(latency) }
            if acknowledged == 1 { marks.withLock { $0.first = .now; $0.firstCPU = processCPUSeconds(); $0.firstSwitches = processContextSwitches() } }
            if acknowledged == count { marks.withLock { $0.last = .now; $0.lastCPU = processCPUSeconds(); $0.lastSwitches = processContextSwitches() } }
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: ingestor)], logger: logger))
        let task = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(300)
        while marks.withLock({ $0.last }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        // The raw producer's last statistics before it stops (its totals grow until the flush).
        var wire: Double?
        if capture != nil {
            try await Task.sleep(for: .milliseconds(500))
            if let json = ingestor.capture?.producerStatistics, let stats = try? JSONParser(maxBytes: 1 << 24).parse(json),
               let bytes = stats["tx_bytes"]?.int64Value, let sent = stats["txmsgs"]?.int64Value, sent > 0 {
                wire = Double(bytes) / Double(sent)
            }
        }
        await group.triggerGracefulShutdown()
        try await task.value
        guard let first = marks.withLock({ $0.first }), let last = marks.withLock({ $0.last }) else {
            throw ValidationError("ingest run incomplete: \(done.load(ordering: .relaxed)) of \(count) ticks acknowledged")
        }
        let cpu = marks.withLock { $0.lastCPU - $0.firstCPU }
        let frames = Double(max(1, count - 1))
        let switches = marks.withLock { $0.lastSwitches - $0.firstSwitches }
        return Run(seconds: seconds(last - first), latencies: latencies.withLock { $0 }, cpuMicrosPerFrame: cpu / frames * 1e6,
                   switchesPerFrame: Double(switches) / frames,
                   captureRecords: ingestor.capture?.totals.records, captureWireBytesPerRecord: wire)
    }
}

/// A WebSocket server that answers a Coinbase subscribe and then sends pre-built frames as fast as the
/// connection takes them (or at `rate` per second).
final class BlastServer: Sendable {
    let frames: [String]
    let rate: Int?
    let started = Mutex<ContinuousClock.Instant?>(nil)
    private let bound = Mutex<(Int?, [CheckedContinuation<Int, Never>])>((nil, []))

    init(frames: [String], rate: Int?) {
        self.frames = frames
        self.rate = rate
    }

    func port() async -> Int {
        await withCheckedContinuation { continuation in
            let port = bound.withLock { state -> Int? in
                if let port = state.0 { return port }
                state.1.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }

    func application() -> some Service {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/feed") { inbound, outbound, _ in
            var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            _ = try await iterator.next()  // the subscribe message
            try await outbound.write(.text(#"{"type":"subscriptions","channels":[]}"#))
            self.started.withLock { $0 = ContinuousClock.now }
            let begin = ContinuousClock.now
            for (index, frame) in self.frames.enumerated() {
                if let rate = self.rate, index % 100 == 0 {
                    let due = begin + .nanoseconds(Int64(index) * 1_000_000_000 / Int64(rate))
                    if due > ContinuousClock.now { try await Task.sleep(until: due) }
                }
                try await outbound.write(.text(frame))
            }
            for try await _ in inbound.messages(maxSize: 1 << 20) {}
        }
        return Application(router: Router(), server: .http1WebSocketUpgrade(webSocketRouter: router),
                           configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                           onServerRunning: { channel in
                               let port = channel.localAddress?.port ?? 0
                               let waiters = self.bound.withLock { state in
                                   state.0 = port
                                   defer { state.1 = [] }
                                   return state.1
                               }
                               for waiter in waiters { waiter.resume(returning: port) }
                           })
    }
}
