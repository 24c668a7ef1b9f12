import FXCore
import FXTestSupport
import Testing

@Suite("Executables: fxsim and ingestor")
struct IngestorExecutableTests {
    @Test("the ingestor executable streams from the fxsim executable, exports metrics, and drains on SIGTERM")
    func executables() async throws {
        let sim = try ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        #expect(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up; log:\n\(sim.log)")
        let prefix = TestEnvironment.uniqueName("exe") + "."
        let ingestor = try ServiceProcess("ingestor", arguments: [
            "--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url", "ws://127.0.0.1:\(sim.port)/coinbase",
            "--topic-prefix", prefix, "--partitions", "2"])
        #expect(try await TestEnvironment.eventually { await ingestor.get("/health/ready")?.status == 200 }, "ready; log:\n\(ingestor.log)")
        #expect(try await TestEnvironment.eventually {
            guard let body = await ingestor.get("/metrics")?.body else { return false }
            return body.split(separator: "\n").contains { $0.hasPrefix("fx_ingest_ticks_total{source=\"coinbase\",kind=\"trade\"}") && !$0.hasSuffix(" 0") }
        }, "trades counted")
        #expect(await ingestor.terminate() == 0, "clean exit on SIGTERM; log:\n\(ingestor.log)")
        #expect(ingestor.log.contains("ingestor drained"))
        let recorder = try TopicRecorder(topics: [prefix + "ticks", prefix + "health"])
        let ticks = try await recorder.waitFor(prefix + "ticks", "ticks on the ingestor's topic") { !$0.isEmpty }
        #expect(ticks.allSatisfy { ($0.keyString ?? "").hasPrefix("coinbase:") })
        await recorder.stop()
        #expect(await sim.terminate() == 0)
    }

    @Test("a Finnhub API key never reaches the log, even at trace level and across reconnects")
    func secretsStayOutOfLogs() async throws {
        let sim = try ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        #expect(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let key = "sk-fxstream-test-\(UInt32.random(in: 100_000...999_999))"
        let ingestor = try ServiceProcess("ingestor", arguments: [
            "--provider", "finnhub", "--symbols", "OANDA:EUR_USD", "--ws-url", "ws://127.0.0.1:\(sim.port)/finnhub",
            "--topic-prefix", TestEnvironment.uniqueName("secret") + ".", "--log-level", "trace"],
            environment: ["FINNHUB_API_KEY": key])
        let reconnected = try await TestEnvironment.eventually(timeout: .seconds(40)) {
            _ = await sim.post("/control/drop?venue=finnhub")
            try await Task.sleep(for: .milliseconds(500))
            return await ingestor.get("/metrics")?.body.contains("fx_ingest_reconnects_total{source=\"finnhub\"} 0") == false
        }
        #expect(reconnected, "log:\n\(ingestor.log.suffix(3000))")
        #expect(await ingestor.terminate() == 0)
        #expect(!ingestor.log.isEmpty)
        #expect(!ingestor.log.contains(key), "the API key leaked into the log")
        #expect(await sim.terminate() == 0)
    }

    @Test("the ingestor refuses to start without a feed, naming the missing setting")
    func noFeed() async throws {
        let ingestor = try ServiceProcess("ingestor")
        #expect(try await TestEnvironment.eventually(timeout: .seconds(10)) { !ingestor.process.isRunning })
        #expect(ingestor.process.terminationStatus != 0)
        #expect(ingestor.log.contains("no feed configured"))
    }
}
