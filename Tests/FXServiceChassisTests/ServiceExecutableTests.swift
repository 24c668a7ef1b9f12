import FXTestSupport
import Testing

@Suite("Service executables: health, metrics, graceful shutdown", .tags(.integration))
struct ServiceExecutableTests {
    /// `<executable> healthcheck --http-port PORT`: its exit status and what it said.
    static func healthcheck(_ executable: String, port: Int) throws -> (status: Int32, output: String) {
        try Subprocess.output(ServiceProcess.binDirectory.appendingPathComponent(executable).path, ["healthcheck", "--http-port", String(port)])
    }

    @Test("the aggregator becomes ready against the local stack, exports metrics and exits 0 on SIGTERM; `healthcheck` says so", arguments: ["aggregator", "backfiller", "monitor"])
    func readyAndGracefulShutdown(executable: String) async throws {
        let service = try await ServiceProcess(executable)
        try #require(try await TestEnvironment.eventually { await service.get("/health/ready")?.status == 200 }, "ready; log:\n\(service.log)")
        let ready = try #require(await service.get("/health/ready"))
        #expect(ready.body.contains("kafka: ok"))
        #expect(await service.get("/health/live")?.status == 200)
        let metrics = try #require(await service.get("/metrics"))
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("fx_dependency_up{dependency=\"kafka\"} 1"))
        let lint = try Promtool.checkMetrics(metrics.body)
        #expect(lint.status == 0, "promtool check metrics accepts the \(executable)'s /metrics: \(lint.output)")
        let undeclared = metrics.body.split(separator: "\n").filter { $0.hasPrefix("# HELP") && $0.contains("FXStream metric ") }
        #expect(undeclared.isEmpty, "every metric has the help line its service declares: \(undeclared)")
        let probe = try Self.healthcheck(executable, port: service.port)
        #expect(probe.status == 0, "`\(executable) healthcheck` exits 0 while it is ready: \(probe.output)")
        #expect(await service.terminate() == 0, "clean exit on SIGTERM; log:\n\(service.log)")
        #expect(service.log.contains("\(executable) stopped"))
        let gone = try Self.healthcheck(executable, port: service.port)
        #expect(gone.status == 1 && gone.output.contains("not ready: cannot connect"), "and 1 once it has stopped: \(gone.output)")
    }

    @Test("with the broker unreachable the service stays live but reports not ready, naming the dependency")
    func notReadyWithoutBroker() async throws {
        let deadPort = try TestEnvironment.freePort()
        let service = try await ServiceProcess("aggregator", environment: ["KAFKA_BROKERS": "127.0.0.1:\(deadPort)"])
        #expect(try await TestEnvironment.eventually { await service.get("/health/live")?.status == 200 })
        let ready = try #require(await service.get("/health/ready"))
        #expect(ready.status == 503)
        #expect(ready.body.contains("kafka: failing"))
        #expect(try await TestEnvironment.eventually { await service.get("/metrics")?.body.contains("fx_dependency_up{dependency=\"kafka\"} 0") == true })
        #expect(await service.terminate(timeout: .seconds(30)) == 0, "graceful stop without a broker; log:\n\(service.log.suffix(3000))")
    }

    @Test("a bad configuration value stops the service at once with the key named")
    func badConfiguration() async throws {
        let service = try await ServiceProcess("monitor", environment: ["LOG_LEVEL": "loud"])
        let status = await service.waitForExit(timeout: .seconds(10))
        #expect(status != nil && status != 0, "exit status \(status.map(String.init) ?? "none: still running")")
        #expect(service.log.contains("LOG_LEVEL"))
    }
}
