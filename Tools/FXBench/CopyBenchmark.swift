import ArgumentParser
import Foundation
import FXPostgres
import Logging

/// Rows per second loaded by `PostgresConnection.copyIn` (rows encoded to COPY text by the bridge) vs
/// `psql \copy` of the same rows from a file, into identical fresh tables.
struct CopyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "copy")
    @OptionGroup var options: BenchOptions
    @Option(help: "Rows per round.") var rows: Int = 500_000

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let db = try await PostgresConnection.connect(PostgresConfiguration(url: options.databaseURL), logger: logger)
        let data: [[String?]] = (0..<rows).map { index in
            [String(index), index % 2 == 0 ? "EUR/USD" : "BTC/USD", "1.\(100000 + index % 900000)", "\(index % 1000).25",
             "2026-11-25 07:\(String(format: "%02d", index / 60_000 % 60)):\(String(format: "%02d", index / 1000 % 60)).\(String(format: "%03d", index % 1000))+00"]
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fxbench-copy-\(UUID().uuidString.prefix(6)).tsv")
        var text = ""
        for row in data { text += row.map { $0! }.joined(separator: "\t") + "\n" }
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        var report = RatioReport(name: "COPY (\(rows) rows x 5 columns)", unit: "rows/s")
        for round in 0..<options.rounds {
            let rawTable = "bench_copy_psql_\(round)"
            let bridgeTable = "bench_copy_bridge_\(round)"
            for table in [rawTable, bridgeTable] {
                try await db.query("DROP TABLE IF EXISTS \(table)")
                try await db.query("CREATE UNLOGGED TABLE \(table) (id bigint, symbol text, price numeric, size numeric, ts timestamptz)")
            }
            let raw = try psqlCopy(table: rawTable, file: file)
            let start = ContinuousClock.now
            let copied = try await db.copyIn("COPY \(bridgeTable) FROM STDIN", rows: data)
            let bridge = seconds(ContinuousClock.now - start)
            precondition(copied == rows)
            report.add(baseline: Double(rows) / raw, bridge: Double(rows) / bridge)
            for table in [rawTable, bridgeTable] { try await db.query("DROP TABLE \(table)") }
        }
        await db.close()
        report.printSummary(goal: 0.80)
    }

    /// Seconds for `psql -c "\copy table FROM 'file'"`, process start included (as a user would run it).
    func psqlCopy(table: String, file: URL) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [options.databaseURL, "-v", "ON_ERROR_STOP=1", "-q", "-c", "\\copy \(table) FROM '\(file.path)'"]
        let start = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("psql \\copy failed") }
        return seconds(ContinuousClock.now - start)
    }
}
