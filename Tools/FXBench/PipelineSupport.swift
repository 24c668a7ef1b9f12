import FXContracts
import ArgumentParser
import CRdKafka
import Foundation
import Synchronization
import FXCore
import FXKafka
import FXMetrics
import FXPostgres

/// A child process of the pipeline benchmark; its output goes to /tmp/fxbench-pipeline-<name>-<pid>.log.
final class Child: @unchecked Sendable {
    let process = Process()

    init(_ path: String, _ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let log = "/tmp/fxbench-pipeline-\(name)-\(getpid()).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Runs a command to its end; throws unless it exits 0.
    static func run(_ path: String, _ arguments: [String], environment: [String: String]) throws {
        let child = try Child(path, arguments, environment: environment)
        child.process.waitUntilExit()
        guard child.process.terminationStatus == 0 else { throw ValidationError("\(path) \(arguments.joined(separator: " ")) failed") }
    }

    /// CPU seconds used so far (user + system, from /proc).
    var cpuSeconds: Double { MachineCPU.seconds(pid: process.processIdentifier) }

    /// Peak resident memory so far (VmHWM), MiB.
    var peakResidentMiB: Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }

    /// SIGTERM, then SIGKILL after 20 s.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// The aggregator's lag: the ticks topic's high watermarks (librdkafka) - its stored offsets (database).
final class LagProbe: @unchecked Sendable {
    struct Sample { var produced: Int64; var counted: Int64; var lag: Int64 { max(0, produced - counted) } }

    private let handle: OpaquePointer
    private let topic: String
    private let partitions: Int
    private let consumerGroup: String
    private let database: PostgresConnection
    private let queue = DispatchQueue(label: "fxbench.lag-probe")

    init(brokers: String, topic: String, partitions: Int, consumerGroup: String, database: PostgresConnection) throws {
        let conf = rd_kafka_conf_new()
        var error = [CChar](repeating: 0, count: 512)
        rd_kafka_conf_set(conf, "bootstrap.servers", brokers, &error, error.count)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else { throw ValidationError("lag probe client") }
        self.handle = handle
        self.topic = topic
        self.partitions = partitions
        self.consumerGroup = consumerGroup
        self.database = database
    }

    deinit { rd_kafka_destroy(handle) }

    func sample() async throws -> Sample {
        // A blocking broker round trip per partition: off the cooperative pool.
        let produced: Int64 = await withCheckedContinuation { continuation in
            queue.async { [self] in
                var total: Int64 = 0
                for partition in 0..<partitions {
                    var low: Int64 = 0, high: Int64 = 0
                    if rd_kafka_query_watermark_offsets(handle, topic, Int32(partition), &low, &high, 5_000) == RD_KAFKA_RESP_ERR_NO_ERROR {
                        total += high
                    }
                }
                continuation.resume(returning: total)
            }
        }
        let rows = try await database.query(
            "SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM aggregator_offsets WHERE consumer_group = $1 AND topic = $2",
            [consumerGroup, topic])
        return Sample(produced: produced, counted: Int64(rows.first?["n"] ?? "0") ?? 0)
    }

    func waitUntilCaughtUp(within timeout: Duration, slack: Int64) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let now = try await sample()
            // `counted > 0`: the aggregator has joined and written (a fresh topic's first ticks are "within
            // the slack" before anyone reads them).
            if now.produced > 0, now.counted > 0, now.lag <= slack { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw ValidationError("the aggregator did not catch up within \(timeout)")
    }
}

/// Merges the aggregators' `tick_to_candle` heartbeat samples (`<prefix>health`) into one
/// ``LatencyWindow``, as the monitor merges them.
final class LatencyCollector: Sendable {
    /// Prints every heartbeat's latency sample to stderr as it arrives.
    private let trace: Bool
    private let window = LatencyWindow()
    /// The ingestor's `receive_to_ack` (frame received -> Kafka acknowledged): the first stage of `tick_to_candle`.
    private let ingestWindow = LatencyWindow()
    /// The newest heartbeat's `flushes` and `ticks` counters and the largest `last_flush_ms` seen since the last take.
    private let flushes = Mutex<(flushes: Int64, ticks: Int64, longestFlushMs: Double)>((0, 0, 0))

    init(trace: Bool) {
        self.trace = trace
    }

    func read(_ consumer: KafkaConsumer) async throws {
        for try await event in consumer.events {
            guard case .message(let message) = event, let heartbeat = try? JSONParser().parse(message.value) else { continue }
            if heartbeat["service"]?.stringValue == "ingestor" {
                printTrace("ingest receive_to_ack", heartbeat["latency"]?["receive_to_ack"])
                Self.merge(heartbeat["latency"]?["receive_to_ack"], into: ingestWindow)
            }
            guard heartbeat["service"]?.stringValue == "aggregator" else { continue }
            Self.merge(heartbeat["latency"]?["tick_to_candle"], into: window)
            var last = 0.0
            if case .number(let literal) = heartbeat["last_flush_ms"] { last = Double(literal) ?? 0 }
            printTrace("aggregator tick_to_candle", heartbeat["latency"]?["tick_to_candle"], String(format: " last_flush_ms=%.1f", last))
            let counters = heartbeat["counters"]
            flushes.withLock {
                $0 = (counters?["flushes"]?.int64Value ?? $0.flushes, counters?["ticks"]?.int64Value ?? $0.ticks, max($0.longestFlushMs, last))
            }
        }
    }

    /// Adds a heartbeat's latency sample (its buckets, in µs) to `window`.
    private static func merge(_ sample: JSONValue?, into window: LatencyWindow) {
        window.record(contentsOf: LatencySample.buckets(of: sample).flatMap { repeatElement(Int64($0.micros) * 1_000, count: Int($0.count)) })
    }

    /// With `trace`: one heartbeat's latency sample (microseconds) on stderr.
    private func printTrace(_ label: String, _ sample: JSONValue?, _ extra: String = "") {
        guard trace else { return }
        func value(_ key: String) -> Int64 { sample?[key]?.int64Value ?? 0 }
        let line = "TRACE \(label): n=\(value("count")) p50_us=\(value("p50_us")) p99_us=\(value("p99_us")) max_us=\(value("max_us"))\(extra)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The aggregator's flush counters now (and the longest last flush seen by heartbeats since the previous call).
    func flushCounters() -> (flushes: Int64, ticks: Int64, longestFlushMs: Double) {
        flushes.withLock { value in
            defer { value.longestFlushMs = 0 }
            return value
        }
    }

    /// What was collected since the last take.
    func take() -> LatencySample { window.drain() }

    /// The ingestor's receive -> ack latencies since the last take.
    func takeIngest() -> LatencySample { ingestWindow.drain() }
}

/// Busy cores of the whole machine (/proc/stat) and CPU seconds of processes by name (the broker,
/// PostgreSQL), for naming the bottleneck of a phase.
enum MachineCPU {
    /// (busy, total) jiffies of all cores.
    static func jiffies() -> (busy: Double, total: Double) {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first else { return (0, 0) }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 5 else { return (0, 0) }
        let idle = values[3] + values[4]
        let total = values.reduce(0, +)
        return (total - idle, total)
    }

    /// CPU seconds of every process whose command line contains `name`.
    static func seconds(named name: String) -> Double {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).reduce(0) { total, entry in
            guard let pid = Int32(entry), let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                  command.contains(name) else { return total }
            return total + seconds(pid: pid)
        }
    }

    /// CPU seconds (user + system) of one process, from /proc/<pid>/stat (0 once it is gone).
    static func seconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// CPU used during a phase: per pipeline process, the broker and PostgreSQL (by name), the whole machine.
struct PhaseCPU {
    let children: [(name: String, child: Child)]
    let start = ContinuousClock.now
    private let childSeconds: [Double]
    private let others: [Double]
    private let machine: (busy: Double, total: Double)

    init(_ children: [(name: String, child: Child)]) {
        self.children = children
        childSeconds = children.map(\.child.cpuSeconds)
        others = [MachineCPU.seconds(named: "tansu"), MachineCPU.seconds(named: "postgres")]
        machine = MachineCPU.jiffies()
    }

    /// CPU seconds since `init`: per child (by name), the broker, PostgreSQL; and the seconds elapsed.
    func used() -> (children: [String: Double], broker: Double, postgres: Double, elapsed: Double) {
        let children = Dictionary(zip(children, childSeconds).map { ($0.0.name, $0.0.child.cpuSeconds - $0.1) }) { $1 }
        return (children, MachineCPU.seconds(named: "tansu") - others[0], MachineCPU.seconds(named: "postgres") - others[1],
                FXBench.seconds(ContinuousClock.now - start))
    }

    /// `CPU (cores): ingestor 0.62, ..., broker 0.36, postgres 0.36, machine busy 1.99 of 2` since `init`.
    func report() -> String {
        let elapsed = FXBench.seconds(ContinuousClock.now - start)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let used = zip(children, childSeconds).map { String(format: "%@ %.2f", $0.0.name, ($0.0.child.cpuSeconds - $0.1) / elapsed) }
        let now = [MachineCPU.seconds(named: "tansu"), MachineCPU.seconds(named: "postgres")]
        let jiffies = MachineCPU.jiffies()
        let busy = (jiffies.busy - machine.busy) / max(1, jiffies.total - machine.total) * Double(cores)
        return "CPU (cores): " + (used + [String(format: "broker %.2f", (now[0] - others[0]) / elapsed),
                                          String(format: "postgres %.2f", (now[1] - others[1]) / elapsed),
                                          String(format: "machine busy %.2f of %d", busy, cores)]).joined(separator: ", ")
    }
}
