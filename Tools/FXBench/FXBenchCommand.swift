import ArgumentParser
import Foundation
import FXPostgres
import Logging
import ServiceLifecycle

@main
struct FXBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fxbench",
        abstract: "Benchmarks of the bridges against raw baselines measured in the same run (ratios go to BENCHMARKS.md).",
        subcommands: [PipelineBenchmark.self, BookBenchmark.self, FleetBenchmark.self, BlastSenderCommand.self, KafkaProduceBenchmark.self, KafkaConsumeBenchmark.self, CopyBenchmark.self, NormalizeBenchmark.self, QuoteStreamBenchmark.self, IngestBenchmark.self, CaptureBenchmark.self, AggregateBenchmark.self, TickParseBenchmark.self, TickArchiveBenchmark.self, BackfillBenchmark.self, MonitorBenchmark.self])
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers (env KAFKA_BROKERS).")
    var brokers: String = ProcessInfo.processInfo.environment["KAFKA_BROKERS"] ?? "127.0.0.1:19092"

    @Option(help: "PostgreSQL URL (env DATABASE_URL).")
    var databaseURL: String = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:15432/fxstream"

    @Option(help: "Rounds; each runs baseline and bridge back to back. The median ratio is reported.")
    var rounds: Int = 3
}

extension BenchOptions {
    /// A new database of the benchmark's own (migrated): its name, URL and a connection to it.
    func freshDatabase(_ admin: PostgresConnection, logger: Logger) async throws -> (name: String, url: String, connection: PostgresConnection) {
        let name = "fxbench_\(UUID().uuidString.prefix(8).lowercased())"
        try await admin.query("CREATE DATABASE \(name)")
        let url = databaseURL.replacingOccurrences(of: #"/[^/?]+(\?.*)?$"#, with: "/\(name)", options: .regularExpression)
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: url), logger: logger)
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: logger).migrate()
        return (name, url, connection)
    }
}

/// Median of measured ratios, and the per-round lines.
struct RatioReport {
    var name: String
    var unit: String
    var rows: [(baseline: Double, bridge: Double)] = []

    mutating func add(baseline: Double, bridge: Double) {
        rows.append((baseline, bridge))
        print(String(format: "  round %d: baseline %.0f %@, bridge %.0f %@, ratio %.2f",
                     rows.count, baseline, unit, bridge, unit, bridge / baseline))
    }

    /// `goal` nil: no goal was set for this measure (it is recorded, not judged).
    func printSummary(goal: Double?) {
        let ratios = rows.map { $0.bridge / $0.baseline }.sorted()
        let median = ratios[ratios.count / 2]
        let baselines = rows.map(\.baseline).sorted()
        let bridges = rows.map(\.bridge).sorted()
        let verdict = goal.map { String(format: "goal >= %.2f: %@", $0, median >= $0 ? "met" : "NOT met") } ?? "no goal set"
        print(String(format: "%@: median ratio %.2f (%@); median baseline %.0f %@, bridge %.0f %@",
                     name, median, verdict, baselines[baselines.count / 2], unit, bridges[bridges.count / 2], unit))
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Runs a Kafka client's poll loop (its `run()`) while `body` runs; `body` must stop the client
/// (`shutdown()` / `close()`), which ends the loop.
func whileRunning<Client: Service, T>(_ client: Client, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        let result = try await body()
        try await group.waitForAll()
        return result
    }
}
