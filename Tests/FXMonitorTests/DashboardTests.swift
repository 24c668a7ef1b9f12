import FXCore
import FXTestSupport
import Foundation
import Testing

/// The Grafana dashboards in deploy/grafana/dashboards against a running pipeline: every Prometheus
/// query names metrics the services export, and every SQL query runs on the schema.
@Suite("Grafana dashboards", .serialized, .tags(.integration))
struct DashboardTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func dashboard(_ name: String) throws -> JSONValue {
        let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/dashboards/\(name)"))
        return try JSONParser().parse(Array(data))
    }

    /// Every target of every panel, and the template variables' queries.
    static func queries(_ dashboard: JSONValue) -> (promQL: [String], sql: [String]) {
        let targets = (dashboard["panels"]?.arrayValue ?? []).flatMap { $0["targets"]?.arrayValue ?? [] }
        let variables = (dashboard["templating"]?["list"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == "query" }
            .compactMap { $0["query"]?.stringValue }
        return (targets.compactMap { $0["expr"]?.stringValue }, targets.compactMap { $0["rawSql"]?.stringValue } + variables)
    }

    /// The `fx_` metric names a PromQL expression reads (histogram series named by their family).
    static func metricNames(_ expression: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "fx_[a-z0-9_]+")
        let range = NSRange(expression.startIndex..., in: expression)
        return Set(regex.matches(in: expression, range: range).map { match in
            let name = String(expression[Range(match.range, in: expression)!])
            return name.hasSuffix("_bucket") ? String(name.dropLast(7)) : name
        })
    }

    @Test("both dashboards are valid JSON with a title, a uid and panels on the ${datasource} variable; every candle query picks one $price_type")
    func shape() throws {
        for name in ["feed-health.json", "candles.json"] {
            let board = try Self.dashboard(name)
            #expect(board["uid"]?.stringValue?.hasPrefix("fxstream-") == true && board["title"]?.stringValue != nil, "\(name)")
            let panels = board["panels"]?.arrayValue ?? []
            #expect(!panels.isEmpty && panels.allSatisfy { $0["datasource"]?["uid"]?.stringValue == "${datasource}" }, "\(name): panels on the data source variable")
            let variables = board["templating"]?["list"]?.arrayValue ?? []
            #expect(variables.contains { $0["name"]?.stringValue == "datasource" && $0["type"]?.stringValue == "datasource" }, "\(name): a datasource variable")
        }
        // Coinbase has trade and mid candles per bucket: a panel drawing both would show two candles a bucket.
        let candleSQL = Self.queries(try Self.dashboard("candles.json")).sql.filter { $0.contains("FROM candles") && $0.contains("timeframe = '$timeframe'") }
        #expect(candleSQL.count >= 2 && candleSQL.allSatisfy { $0.contains("price_type = '$price_type'") }, "\(candleSQL)")
        #expect(Self.queries(try Self.dashboard("feed-health.json")).promQL.count >= 10)
    }

    @Test("every metric the dashboards query is exported by a running service; every SQL query runs on the schema")
    func againstRunningServices() async throws {
        let wanted = try ["feed-health.json", "candles.json"].map { try Self.queries(Self.dashboard($0)) }
        let names = Set(wanted.flatMap(\.promQL).flatMap { Self.metricNames($0) })
        #expect(names.count >= 15, "\(names.sorted())")

        let topics = try await KafkaTestKit.pipelineTopics("dash")
        let database = try await PostgresTestKit.freshDatabase("dash")
        let environment = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500", "DATABASE_URL": database]
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix, "--evaluate-interval-ms", "200"], environment: environment)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment)
        let backfiller = try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix, "--health-interval-ms", "500", "--bootstrap-days", "0",
                                                                      "--rest-url", "coinbase=http://127.0.0.1:\(sim.port)/coinbase"], environment: environment)
        try #require(try await TestEnvironment.eventually(timeout: .seconds(30)) { await monitor.get("/health/ready")?.status == 200 })
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix,
                                                                  "--health-interval-ms", "500"])
        let services = [ingestor, aggregator, backfiller, monitor]
        // Events some panels count: a malformed frame (rejects), a dropped connection (gaps, reconnects).
        try #require(try await TestEnvironment.eventually(timeout: .seconds(30)) { await ingestor.get("/health/ready")?.status == 200 })
        // Streaming before the faults: its ticks count is on its health body.
        try #require(try await TestEnvironment.eventually(timeout: .seconds(30)) {
            (await ingestor.get("/health/live")?.body ?? "").split(separator: "\n").contains { $0.hasPrefix("counter ticks ") && !$0.hasSuffix(" 0") }
        })
        _ = await sim.post("/control/malformed?venue=coinbase&kind=json")
        _ = await sim.post("/control/drop?venue=coinbase")
        var missing = names
        let exported = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            var bodies = ""
            for service in services { bodies += (await service.get("/metrics")?.body ?? "") + "\n" }
            let present = Set(bodies.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("fx_") else { return nil }
                let name = line.prefix { $0 != "{" && $0 != " " }
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
                return String(name)
            })
            missing = names.subtracting(present)
            return missing.isEmpty
        }
        #expect(exported, "metrics the dashboards query but no service exports: \(missing.sorted())")

        // The SQL of the candles dashboard, with Grafana's variables and macros filled in as it would.
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) {
            await monitor.get("/api/candles?source=coinbase&symbol=BTC/USD")?.body.contains(#""open""#) == true
        })
        let connection = try await PostgresTestKit.connect(url: database)
        for sql in wanted.flatMap(\.sql) {
            let filled = sql.replacingOccurrences(of: "$__timeFilter(bucket)", with: "bucket > now() - interval '1 day'")
                .replacingOccurrences(of: "$source", with: "coinbase").replacingOccurrences(of: "$symbol", with: "BTC/USD")
                .replacingOccurrences(of: "$timeframe", with: "1m").replacingOccurrences(of: "$price_type", with: "trade")
            do {
                let rows = try await connection.query(filled)
                if sql.contains("AS time, open") { #expect(!rows.rows.isEmpty, "the candlestick query finds the stored candles") }
            } catch {
                Issue.record("dashboard SQL fails: \(error)\n\(filled)")
            }
        }
        await connection.close()
        for process in services { #expect(await process.terminate(timeout: .seconds(20)) == 0) }
        await PostgresTestKit.dropDatabase(database)
    }
}
