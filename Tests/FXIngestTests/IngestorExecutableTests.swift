import FXCore
import FXKafka
import FXTestSupport
import Testing

@Suite("Executables: fxsim and ingestor", .tags(.integration))
struct IngestorExecutableTests {
    @Test("the ingestor executable streams from the fxsim executable, exports metrics, and drains on SIGTERM")
    func executables() async throws {
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 }, "fxsim up; log:\n\(sim.log)")
        let prefix = TestEnvironment.uniqueName("exe") + "."
        let ingestor = try await ServiceProcess("ingestor", arguments: [
            "--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url", "ws://127.0.0.1:\(sim.port)/coinbase",
            "--topic-prefix", prefix, "--partitions", "2"])
        try #require(try await TestEnvironment.eventually { await ingestor.get("/health/ready")?.status == 200 }, "ready; log:\n\(ingestor.log)")
        #expect(try await TestEnvironment.eventually {
            guard let body = await ingestor.get("/metrics")?.body else { return false }
            return body.split(separator: "\n").contains { $0.hasPrefix("fx_ingest_ticks_total{source=\"coinbase\",kind=\"trade\"}") && !$0.hasSuffix(" 0") }
        }, "trades counted")
        #expect(await ingestor.terminate() == 0, "clean exit on SIGTERM; log:\n\(ingestor.log)")
        #expect(ingestor.log.contains("ingestor drained"))
        // The open gaps and the last heartbeat go out after SIGTERM: none of them may fail.
        #expect(ingestor.log.contains("delivery_failures=0"), "\(ingestor.log.suffix(2000))")
        #expect(!ingestor.log.contains("producer is shutting down"), "\(ingestor.log.suffix(2000))")
        let recorder = try TopicRecorder(topics: [prefix + "ticks", prefix + "health"])
        let ticks = try await recorder.waitFor(prefix + "ticks", "ticks on the ingestor's topic") { !$0.isEmpty }
        #expect(ticks.allSatisfy { ($0.keyString ?? "").hasPrefix("coinbase:") })
        await recorder.stop()
        #expect(await sim.terminate() == 0)
    }

    @Test("a Finnhub API key never reaches the log, even at trace level and across reconnects")
    func secretsStayOutOfLogs() async throws {
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let key = "sk-fxstream-test-\(UInt32.random(in: 100_000...999_999))"
        let ingestor = try await ServiceProcess("ingestor", arguments: [
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
        let ingestor = try await ServiceProcess("ingestor")
        let status = await ingestor.waitForExit(timeout: .seconds(10))
        #expect(status != nil && status != 0, "exit status \(status.map(String.init) ?? "none: still running")")
        #expect(ingestor.log.contains("no feed configured"))
    }
}

extension IngestorExecutableTests {
    /// The sum over labels of a counter in Prometheus text.
    static func total(_ name: String, in text: String) -> Int64 {
        text.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { Int64($0.split(separator: " ").last!.split(separator: ".")[0]) }.reduce(0, +)
    }

    @Test("once the feed is quiet, the heartbeat's counters equal the /metrics totals and the /health body")
    func metricsAgree() async throws {
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "20"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let prefix = TestEnvironment.uniqueName("metrics") + "."
        let ingestor = try await ServiceProcess("ingestor", arguments: [
            "--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url", "ws://127.0.0.1:\(sim.port)/coinbase",
            "--topic-prefix", prefix, "--health-interval-ms", "500ms"])
        let recorder = try TopicRecorder(topics: [prefix + "health"])
        _ = try await recorder.waitFor(prefix + "health", timeout: .seconds(60), "ticks counted") { messages in
            messages.contains { (try? JSONParser().parse($0.value))?["counters"]?["ticks"]?.int64Value ?? 0 > 50 }
        }
        // Malformed input counts too; then the feed goes quiet with the connection open.
        _ = await sim.post("/control/malformed?venue=coinbase&kind=json")
        _ = await sim.post("/control/silence?venue=coinbase&seconds=60")
        func counters(_ message: KafkaConsumerMessage) -> JSONValue? { (try? JSONParser().parse(message.value))?["counters"] }
        // `delivered` moves with every heartbeat itself: the event counters must stand still.
        func events(_ message: KafkaConsumerMessage) -> [Int64?] {
            ["frames", "ticks", "heartbeats", "rejects", "gaps", "dropped"].map { counters(message)?[$0]?.int64Value }
        }
        let beats = try await recorder.waitFor(prefix + "health", timeout: .seconds(60), "three equal heartbeats") { messages in
            guard messages.count >= 3 else { return false }
            let last = messages.suffix(3).map(events)
            return last[0][0] != nil && last[0] == last[1] && last[1] == last[2] && (last[2][3] ?? 0) >= 1
        }
        let lastBeat = try #require(beats.last)
        let beat = try #require(counters(lastBeat))
        let metrics = try #require(await ingestor.get("/metrics")).body
        let lint = try Promtool.checkMetrics(metrics)
        #expect(lint.status == 0, "promtool check metrics accepts the ingestor's /metrics: \(lint.output)")
        let live = try #require(await ingestor.get("/health/live")).body
        for (counter, metric) in [("frames", "fx_ingest_frames_total"), ("ticks", "fx_ingest_ticks_total"),
                                  ("heartbeats", "fx_ingest_heartbeats_total"), ("rejects", "fx_ingest_rejects_total"),
                                  ("gaps", "fx_ingest_gaps_total"), ("dropped", "fx_ingest_dropped_total"),
                                  ("provider_errors", "fx_ingest_provider_errors_total")] {
            let value = try #require(beat[counter]?.int64Value, "heartbeat counter \(counter)")
            #expect(Self.total(metric, in: metrics) == value, "\(counter): heartbeat \(value), /metrics \(Self.total(metric, in: metrics))")
            #expect(live.contains("counter \(counter) \(value)\n"), "\(counter) in /health/live")
        }
        #expect(beat["rejects"]?.int64Value == 1)
        #expect(await ingestor.terminate() == 0)
        await recorder.stop()
        #expect(await sim.terminate() == 0)
    }
}
