import Foundation
import FXPostgres
import FXTestSupport
import Testing

/// The executables' configuration behaviour, as a user meets it on the command line.
@Suite("Service executables: configuration errors, --print-config, start-up order, linking", .tags(.integration))
struct ConfigurationExecutableTests {
    /// Runs an executable to its end; its exit status and output.
    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let process = try await ServiceProcess(executable, arguments: arguments, environment: environment)
        let status = await process.waitForExit(timeout: .seconds(20))
        #expect(status != nil, "\(executable) did not exit; log:\n\(process.log)")
        return (status ?? -1, process.log)
    }

    /// Runs a tool (no HTTP port flag) to its end; its exit status and output.
    func tool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try Subprocess.output(path, arguments, environment: environment)
    }

    @Test("an integer flag that overflows exits with status 78 and one line naming the key, the flag and what is allowed")
    func overflowFlag() async throws {
        let (status, output) = try await run("aggregator", ["--flush-max-ticks", "99999999999999999999"])
        #expect(status == 78)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "\(output)")
        #expect(output.contains("flush_max_ticks (flag --flush-max-ticks)"))
        #expect(output.contains("from 1 to 1000000"))
        let ingestor = try await run("ingestor", ["--partitions", "99999999999", "--provider", "coinbase", "--symbols", "BTC-USD"])
        #expect(ingestor.status == 78, "\(ingestor.output)")
        #expect(ingestor.output.contains("partitions (flag --partitions)"))
    }

    @Test("a bad environment value and an unknown YAML key exit 78 naming where they came from")
    func badEnvironmentAndFile() async throws {
        let env = try await run("aggregator", [], environment: ["BID_ASK_CANDLES": "sometimes"])
        #expect(env.status == 78)
        #expect(env.output.contains("bid_ask_candles (environment BID_ASK_CANDLES)"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agg-\(UUID().uuidString).yaml").path
        try "flush_max_ticks: 100\nflush_intervall_ms: 5s\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try await run("aggregator", ["--config", path])
        #expect(file.status == 78)
        #expect(file.output.contains("flush_intervall_ms (file \(path):2): unknown key"), "\(file.output)")
        let unknownFlag = try await run("monitor", ["--no-such-flag", "1"])
        #expect(unknownFlag.status == 64)
        #expect(unknownFlag.output.contains("--no-such-flag"))
    }

    @Test("--print-config redacts credentials inside URLs of settings that are not secret themselves (a venue URL's ?token=)")
    func printConfigRedactsURLTokens() async throws {
        let (status, output) = try await run("ingestor", ["--print-config", "--provider", "finnhub", "--symbols", "OANDA:EUR_USD",
                                                          "--ws-url", "wss://ws.finnhub.example?token=tok-secret-5&format=json"],
                                          environment: ["FINNHUB_API_KEY": "key-secret-6"])
        #expect(status == 0, "\(output)")
        #expect(!output.contains("tok-secret-5") && output.contains("token=[redacted]&format=json") && !output.contains("key-secret-6"), "\(output)")
    }

    @Test("--print-config shows every resolved value with its origin, secrets redacted, and exits 0")
    func printConfig() async throws {
        let (status, output) = try await run("aggregator", ["--print-config", "--flush-max-ticks", "321"], environment: [
            "BID_ASK_CANDLES": "1", "DATABASE_URL": "postgres://app:db-pass-5@db:5432/fx", "TOPIC_PREFIX": "desk1.",
            "KAFKA_PROPERTIES": "sasl.password=kafka-pass-6",
        ])
        #expect(status == 0, "\(output)")
        #expect(output.range(of: #"bid_ask_candles\s+= true\s+# environment BID_ASK_CANDLES"#, options: .regularExpression) != nil, "\(output)")
        #expect(output.range(of: #"flush_max_ticks\s+= 321\s+# flag --flush-max-ticks"#, options: .regularExpression) != nil)
        #expect(output.range(of: #"consumer_group\s+= desk1\.aggregator"#, options: .regularExpression) != nil)
        #expect(output.range(of: #"timeframes\s+= 1m,5m,15m,1h,4h,1d\s+# default"#, options: .regularExpression) != nil)
        #expect(output.contains("postgres://app:[redacted]@db:5432/fx"))
        #expect(!output.contains("db-pass-5"))
        #expect(!output.contains("kafka-pass-6"))
    }

    @Test("the ingestor links no libpq; the aggregator does")
    func linking() async throws {
        func libraries(_ executable: String) throws -> String {
            try tool("/usr/bin/ldd", [ServiceProcess.binDirectory.appendingPathComponent(executable).path]).output
        }
        let ingestor = try libraries("ingestor")
        #expect(ingestor.contains("libc.so"), "ldd answered: \(ingestor)")
        #expect(!ingestor.contains("libpq"), "\(ingestor)")
        #expect(try libraries("aggregator").contains("libpq"))
    }

    @Test("a service that must not migrate waits, not ready, until `fxadmin setup` made topics and schema current; then its start-up runs")
    func waitsForSchema() async throws {
        let name = PostgresTestKit.uniqueTable("fxgate")
        let admin = try await PostgresTestKit.connect()
        try await admin.query("CREATE DATABASE \(name)")
        let url = TestEnvironment.databaseURL.replacingOccurrences(of: #"/[^/]+$"#, with: "/\(name)", options: .regularExpression)
        let prefix = TestEnvironment.uniqueName("gate") + "."
        let service = try await ServiceProcess("aggregator", arguments: ["--no-migrate-on-start", "--database-url", url, "--topic-prefix", prefix])
        #expect(try await TestEnvironment.eventually(timeout: .seconds(20)) {
            await service.get("/health/ready")?.body.contains("schema not current") == true
        }, "\(service.log)")
        try await Task.sleep(for: .seconds(1))
        #expect(!service.log.contains("aggregating"), "start-up ran before the schema was current")
        let fxadmin = ServiceProcess.binDirectory.appendingPathComponent("fxadmin").path
        let setup = try tool(fxadmin, ["setup", "--database-url", url, "--topic-prefix", prefix])
        #expect(setup.status == 0, "\(setup.output)")
        let topics = try tool(fxadmin, ["describe-topics", "--topic-prefix", prefix])
        #expect(["ticks", "gaps", "health", "rejects", "candles", "alerts"].allSatisfy { topics.output.contains(prefix + $0) }, "\(topics.output)")
        let pending = try tool(fxadmin, ["pending-migrations", "--database-url", url])
        #expect(pending.status == 0 && pending.output.split(separator: "\n").last == "none", "\(pending.output)")
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) {
            service.log.contains("TimescaleDB") || service.log.contains("aggregating")
        }, "\(service.log)")
        #expect(await service.terminate(timeout: .seconds(30)) == 0)
        try await admin.query("DROP DATABASE \(name) WITH (FORCE)")
        await admin.close()
    }
}
