import ArgumentParser
import Foundation
import FXCore
import FXKafka
import FXPostgres
import Logging

/// CPU seconds this process has used (all its threads, librdkafka's included).
func processCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Context switches (voluntary + involuntary) of this process's live threads so far, from
/// `/proc/self/task/*/status`: each is a thread that slept and was woken, or was preempted. A thread that
/// exits takes its count with it.
func processContextSwitches() -> Int {
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return 0 }
    var total = 0
    for task in tasks {
        guard let status = try? String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8) else { continue }
        for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
            total += Int(line.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
        }
    }
    return total
}

/// CPU µs per value of one `JSONScanner` pass (every byte validated, the `ts` member found) over `count`
/// values taken in turn from `values`: the floor of any reader of ticks.
func jsonScanMicros(_ values: [[UInt8]], count: Int) -> Double {
    let start = processCPUSeconds()
    var found = 0
    for index in 0..<count {
        let scanner = JSONScanner(values[index % values.count])
        try? scanner.forEachMember { name, _ in if scanner.name(name, equals: "ts") { found += 1 } }
    }
    precondition(found == count, "every value has a ts member")
    return (processCPUSeconds() - start) / Double(count) * 1e6
}

/// The floors each pipeline stage is compared with, measured in the same run as the stages, in CPU µs
/// per message: a raw librdkafka producer and consumer (C loops, this process's CPU with librdkafka's
/// threads), the broker's CPU while they run, a `JSONScanner` pass over a tick, and PostgreSQL's CPU
/// per row of a `COPY` into a table shaped like `ticks`.
struct StageBaselines {
    var producer: Double
    var consumer: Double
    /// The broker's CPU per message for the raw produce and consume together.
    var broker: Double
    var scan: Double
    var copyRow: Double

    static func measure(brokers: String, database: PostgresConnection, tick: [UInt8], messages: Int, logger: Logger) async throws -> StageBaselines {
        let topic = "bench-baseline-\(UUID().uuidString.prefix(6).lowercased())"
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: brokers), logger: logger)
        _ = try await admin.createTopics([KafkaTopicSpec(name: topic, partitions: 6)])
        let brokerBefore = MachineCPU.seconds(named: "tansu")
        var cpu = processCPUSeconds()
        _ = try KafkaProduceBenchmark.rawProduce(brokers: brokers, topic: topic, value: tick, count: messages)
        let producer = (processCPUSeconds() - cpu) / Double(messages) * 1e6
        cpu = processCPUSeconds()
        _ = try KafkaConsumeBenchmark.rawConsume(brokers: brokers, topic: topic, count: messages)
        let consumer = (processCPUSeconds() - cpu) / Double(messages) * 1e6
        let broker = (MachineCPU.seconds(named: "tansu") - brokerBefore) / Double(messages) * 1e6

        let scan = jsonScanMicros([tick], count: messages)

        // COPY into a table with the ticks table's key and types; PostgreSQL's own CPU (every backend).
        let table = "bench_baseline_copy_\(UUID().uuidString.prefix(6).lowercased())"
        try await database.query("CREATE UNLOGGED TABLE \(table) (source text, symbol text, kind text, key text, ts timestamptz, price numeric, size numeric, PRIMARY KEY (source, symbol, kind, key, ts))")
        let start: Int64 = 1_795_000_000_000_000_000
        let rows: [[String?]] = (0..<messages).map { index in
            ["coinbase", "B\(index % 20)/USD", "trade", String(index + 1), Timestamps.rfc3339(nanoseconds: start + Int64(index) * 1_000),
             "\(50_000 + index % 500).\(index % 100)", "0.\(index % 99_999_999 + 1)"]
        }
        let postgresBefore = MachineCPU.seconds(named: "postgres")
        let copied = try await database.copyIn("COPY \(table) FROM STDIN", rows: rows)
        let copyRow = (MachineCPU.seconds(named: "postgres") - postgresBefore) / Double(copied) * 1e6
        try await database.query("DROP TABLE \(table)")
        return StageBaselines(producer: producer, consumer: consumer, broker: broker, scan: scan, copyRow: copyRow)
    }

    func report() -> String {
        String(format: "baselines (CPU µs per message): raw producer %.2f, raw consumer %.2f, broker for both %.2f, JSON scan of a tick %.2f, COPY row (PostgreSQL) %.2f",
               producer, consumer, broker, scan, copyRow)
    }
}

/// One stage's CPU per tick next to its baseline, and what a rate needs of it.
struct StageRow {
    var stage: String
    var micros: Double
    var baselineName: String
    var baseline: Double

    /// Cores for `rate` ticks/s.
    func cores(at rate: Double) -> Double { micros * rate / 1e6 }

    static func table(_ rows: [StageRow], rate: Double) -> String {
        var lines = ["| stage | CPU µs/tick | baseline (same run) | baseline µs | ratio | cores for \(Int(rate / 1000))k ticks/s |",
                     "|---|---|---|---|---|---|"]
        for row in rows {
            lines.append(String(format: "| %@ | %.2f | %@ | %.2f | %.1f | %.2f |", row.stage, row.micros, row.baselineName, row.baseline,
                                row.baseline > 0 ? row.micros / row.baseline : 0, row.cores(at: rate)))
        }
        return lines.joined(separator: "\n")
    }

    /// The sizing table for `rate` ticks/s: replicas of the services (each given `perReplica` cores, used to
    /// `headroom` at most) and cores of the broker and PostgreSQL.
    static func sizing(_ rows: [StageRow], rate: Double, perReplica: Double = 1, headroom: Double = 0.7) -> String {
        var lines = ["sizing for \(Int(rate)) ticks/s (each service replica \(perReplica) core, used to \(Int(headroom * 100))% at most):"]
        for row in rows {
            let cores = row.cores(at: rate)
            if row.stage.hasPrefix("broker") || row.stage.hasPrefix("PostgreSQL") {
                lines.append(String(format: "  %@: %.2f cores (%.0f at %d%%)", row.stage, cores, (cores / headroom).rounded(.up), Int(headroom * 100)))
            } else {
                lines.append(String(format: "  %@: %.2f cores -> %.0f replica(s)", row.stage, cores, max(1, (cores / (perReplica * headroom)).rounded(.up))))
            }
        }
        return lines.joined(separator: "\n")
    }
}
