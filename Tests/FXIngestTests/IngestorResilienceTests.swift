import FXVenues
import Foundation
import FXCore
import FXIngest
import FXSim
import FXTestSupport
import Testing

private func lastHealth(_ h: IngestHarness) throws -> JSONValue? { try h.health().last }

@Suite("Ingestor resilience: keep-alive, circuit breaker, provider errors, overload", .serialized, .tags(.integration))
struct IngestorResilienceTests {
    @Test("a peer that stops answering pings is dropped by the keep-alive long before the stale watchdog, then reconnected")
    func pingTimeout() async throws {
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        try await IngestHarness.run(
            feeds: { _ in [FeedConfiguration(provider: "coinbase", symbols: ["BTC-USD"], webSocketURL: "ws://127.0.0.1:\(sim.port)/coinbase",
                                            connectionStaleAfter: .seconds(120))] },
            tune: { $0.pingInterval = .milliseconds(500) }) { h in
            try await h.waitForTicks("first ticks") { !$0.isEmpty }
            let frozenAt = WallClock.nanoseconds()
            kill(sim.process.processIdentifier, SIGSTOP)
            try await h.recorder.waitFor(h.topics.health, timeout: .seconds(15), "the connection left the streaming state") { messages in
                guard let last = messages.last, let health = try? JSONParser().parse(last.value) else { return false }
                return health["connections"]?.arrayValue?.first?["state"]?.stringValue != "streaming"
            }
            #expect(WallClock.nanoseconds() - frozenAt < 15_000_000_000)
            kill(sim.process.processIdentifier, SIGCONT)
            let gaps = try await h.waitForGaps("a disconnect gap after the peer came back") { $0.contains { $0.reason == .disconnect } }
            #expect(!gaps.contains { $0.reason == .stale }, "the keep-alive, not the 120 s watchdog, ended the connection")
            try await h.waitForTicks("ticks after the reconnect") { $0.contains { ($0["recv_ts"]?.int64Value ?? 0) > frozenAt + 1_000_000_000 } }
        }
        #expect(await sim.terminate() == 0)
    }

    @Test("repeated failed connections open the provider's circuit; the heartbeat shows it")
    func circuitOpens() async throws {
        let deadPort = try TestEnvironment.freePort()
        try await IngestHarness.run(
            feeds: { _ in [FeedConfiguration(provider: "coinbase", symbols: ["BTC-USD", "ETH-USD"], webSocketURL: "ws://127.0.0.1:\(deadPort)/coinbase",
                                            maxSymbolsPerConnection: 1)] },
            tune: {
                $0.circuitFailures = 3
                $0.circuitOpen = .seconds(60)
                $0.backoff = Backoff(base: .milliseconds(10), cap: .milliseconds(50))
            }) { h in
            try await h.recorder.waitFor(h.topics.health, timeout: .seconds(20), "an open circuit") { messages in
                guard let last = messages.last, let health = try? JSONParser().parse(last.value) else { return false }
                return health["circuits"]?["coinbase"]?.stringValue == "open"
                    && health["connections"]?.arrayValue?.allSatisfy { $0["state"]?.stringValue == "circuit_open" } == true
            }
            #expect(try h.ticks().isEmpty)
        }
    }

    @Test("'Subscribing to too many symbols' is counted and shown with the connection; the ingestor keeps the rest streaming")
    func tooManySymbols() async throws {
        try await IngestHarness.run(
            simulator: { $0.finnhubMaxSymbols = 2 },
            feeds: { [FeedConfiguration(provider: "finnhub", symbols: ["OANDA:EUR_USD", "OANDA:GBP_USD", "OANDA:AUD_USD"],
                                        webSocketURL: "ws://127.0.0.1:\($0)/finnhub", credentials: [ProviderCredential(key: "k")])] }) { h in
            try await h.recorder.waitFor(h.topics.health, "the provider error in the heartbeat") { messages in
                guard let last = messages.last, let health = try? JSONParser().parse(last.value) else { return false }
                return health["connections"]?.arrayValue?.first?["last_error"]?.stringValue?.contains("too many symbols") == true
                    && (health["counters"]?["provider_errors"]?.int64Value ?? 0) >= 1
            }
            try await h.waitForTicks("the two accepted symbols stream") { Set($0.compactMap { $0["symbol"]?.stringValue }) == ["EUR/USD", "GBP/USD"] }
        }
    }

    @Test("a flood faster than Kafka accepts stays bounded: dropped ticks become delivery gaps, nothing is lost silently")
    func flood() async throws {
        let broker = try PrivateBroker()
        try await IngestHarness.run(
            simulator: { $0.coinbaseProducts = (0..<50).map { "F\($0)-USD" }; $0.tradeProbability = 0.9; $0.stepInterval = .milliseconds(20) },
            feeds: { [FeedConfiguration(provider: "coinbase", symbols: (0..<50).map { "F\($0)-USD" }, webSocketURL: "ws://127.0.0.1:\($0)/coinbase")] },
            tune: { $0.queueCapacity = 200; $0.enqueueMaxWait = .milliseconds(20) },
            brokers: broker.brokers, kafkaProperties: ["message.timeout.ms": "3000", "queue.buffering.max.messages": "500"]) { h in
            try await h.waitForTicks("first ticks") { $0.count > 100 }
            broker.pause()
            try await Task.sleep(for: .seconds(4))
            #expect(h.ingestor.counters.dropped > 0, "the queue overflowed instead of growing")
            broker.resume()
            let gaps = try await h.waitForGaps("delivery gaps for dropped ticks", timeout: .seconds(60)) { gaps in
                gaps.contains { $0.reason == .delivery && $0.detail.contains("dropped") }
            }
            #expect(gaps.allSatisfy { $0.reason == .delivery })
            try await h.waitForTicks("ticks flow again") { $0.count > 200 }
        }
    }
}
