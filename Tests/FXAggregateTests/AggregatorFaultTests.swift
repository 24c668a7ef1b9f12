import FXCandles
import Foundation
import FXAggregate
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Metrics
import ServiceLifecycle
import Testing

@Suite("Aggregator under faults: kill -9, PostgreSQL restarts", .serialized, .tags(.integration))
struct AggregatorFaultTests {
    static let start: Int64 = 1_795_200_000_000_000_000

    @Test("killed with SIGKILL at random points during a replay, the final database equals the recomputation and stored offsets never go back")
    func crashes() async throws {
        let fixture = try await AggregatorFixture()
        let messages = Recomputation.messages(source: fixture.source, symbols: (0..<8).map { "C\($0)/USD" }, count: 30_000,
                                              start: Self.start, seed: 77)
        let log = Recomputation.disorder(messages, duplicateShare: 0.1, seed: 8)
        let expected = Recomputation.candles(messages.map { try! TickRecord(json: $0) }, timeframes: fixture.configuration.timeframes)
        let counts = try await fixture.produce(log)
        let store = FencedCandleStore(timeframes: fixture.configuration.timeframes, bidAskCandles: false, consumerGroup: fixture.group, topic: fixture.topics.ticks)
        let connection = try await PostgresTestKit.connect()
        func launch() async throws -> ServiceProcess {
            try await ServiceProcess("aggregator", arguments: [
                "--topic-prefix", fixture.topics.prefix, "--consumer-group", fixture.group, "--timeframes", "1s,1m,5m,1h",
                "--flush-interval-ms", "50", "--flush-max-ticks", "500", "--allowed-lateness-ms", "1000", "--idle-timeout-ms", "2000"],
                environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"])
        }
        var previous: [Int32: Int64] = [:]
        var random = SplitMix64(seed: 99)
        var kills = 0
        for _ in 0..<4 {
            let process = try await launch()
            // Wait until it makes progress, then kill it at a random moment.
            _ = try await TestEnvironment.eventually(timeout: .seconds(40)) {
                (try await store.storedOffsets(on: connection)).values.reduce(0, +) > previous.values.reduce(0, +)
            }
            try await Task.sleep(for: .milliseconds(Int(random.next() % 700)))
            kill(process.process.processIdentifier, SIGKILL)
            process.process.waitUntilExit()
            kills += 1
            let offsets = try await store.storedOffsets(on: connection)
            for (partition, offset) in previous {
                #expect(offsets[partition, default: 0] >= offset, "partition \(partition) went back from \(offset)")
            }
            previous = offsets
            if counts.allSatisfy({ offsets[$0.key, default: 0] >= $0.value }) { break }
        }
        #expect(kills >= 2)
        let last = try await launch()
        try await fixture.waitForOffsets(counts, timeout: .seconds(120))
        #expect(await last.terminate(timeout: .seconds(30)) == 0, "graceful stop; log:\n\(last.log.suffix(4000))")
        expectEqual(try await fixture.stored(), expected)
        await connection.close()
    }

    @Test("PostgreSQL restarted mid-stream: consumption pauses and resumes with nothing lost or doubled")
    func postgresRestart() async throws {
        let postgres = try PrivatePostgres()
        let setup = try await PostgresTestKit.connect(url: postgres.url)
        _ = try await Migrator(connection: setup, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        await setup.close()
        let fixture = try await AggregatorFixture()
        let messages = Recomputation.messages(source: fixture.source, symbols: ["A/USD", "B/USD", "C/USD"], count: 8_000,
                                              start: Self.start, seed: 4)
        let expected = Recomputation.candles(messages.map { try! TickRecord(json: $0) }, timeframes: fixture.configuration.timeframes)
        let service = AggregatorService(configuration: fixture.configuration, kafka: KafkaTestKit.configuration(KafkaTestKit.groupProperties),
                                        topics: fixture.topics, database: PostgresConfiguration(url: postgres.url, applicationName: "agg-restart"),
                                        instance: "restart", metricsFactory: NOOPMetricsHandler.instance, logger: TestEnvironment.logger("aggregator"))
        let store = FencedCandleStore(timeframes: fixture.configuration.timeframes, bidAskCandles: false, consumerGroup: fixture.group, topic: fixture.topics.ticks)
        try await withServices([service]) {
            var produced = try await fixture.produce(Array(messages.prefix(4_000)))
            let probe = try await PostgresTestKit.connect(url: postgres.url)
            _ = try await TestEnvironment.eventually { ((try? await store.storedOffsets(on: probe)) ?? [:]).values.reduce(0, +) > 0 }
            try postgres.restart()   // immediate: in-flight transactions die
            for (p, c) in try await fixture.produce(Array(messages.suffix(4_000))) { produced[p, default: 0] += c }
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                let offsets = (try? await store.storedOffsets(on: probe)) ?? [:]
                if produced.allSatisfy({ offsets[$0.key, default: 0] >= $0.value }) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let stored = try await Recomputation.stored(source: fixture.source, on: probe)
            expectEqual(stored, expected)
            await probe.close()
        }
        try? postgres.stop()
    }
}

@Suite("Aggregator: a rebalance during a database outage", .serialized, .tags(.integration))
struct AggregatorOutageRebalanceTests {
    @Test("a partition assigned while PostgreSQL is down cannot be claimed: the service ends with an error instead of staying up consuming nothing")
    func rebalanceDuringOutage() async throws {
        let postgres = try PrivatePostgres()
        let setup = try await PostgresTestKit.connect(url: postgres.url)
        _ = try await Migrator(connection: setup, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        await setup.close()
        let fixture = try await AggregatorFixture(partitions: 2)
        var configuration = fixture.configuration
        configuration.claimTimeout = .seconds(3)
        let service = AggregatorService(configuration: configuration, kafka: KafkaTestKit.configuration(KafkaTestKit.groupProperties),
                                        topics: fixture.topics, database: PostgresConfiguration(url: postgres.url, applicationName: "agg-outage"),
                                        instance: "outage", metricsFactory: NOOPMetricsHandler.instance, logger: TestEnvironment.logger("aggregator"))
        let group = ServiceGroup(configuration: .init(services: [service], logger: TestEnvironment.logger("group")))
        let ended = Task { () -> String in
            do { try await group.run(); return "returned" } catch { return "\(error)" }
        }
        let messages = Recomputation.messages(source: fixture.source, symbols: ["A/USD", "B/USD", "C/USD", "D/USD"], count: 200,
                                              start: 1_795_400_000_000_000_000, seed: 2)
        let produced = try await fixture.produce(messages)
        let store = FencedCandleStore(timeframes: configuration.timeframes, bidAskCandles: false, consumerGroup: fixture.group, topic: fixture.topics.ticks)
        let probe = try await PostgresTestKit.connect(url: postgres.url)
        let flowing = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            let offsets = (try? await store.storedOffsets(on: probe)) ?? [:]
            return produced.allSatisfy { offsets[$0.key, default: 0] >= $0.value }
        }
        #expect(flowing, "the aggregator owned both partitions and stored their offsets")
        await probe.close()
        try postgres.stop()
        // A second member joins: the group rebalances, and the aggregator is assigned a partition it cannot claim.
        let other = try KafkaTestKit.consumer(topics: [fixture.topics.ticks], group: fixture.group)
        let outcome = await withTaskGroup(of: String?.self) { waiting in
            waiting.addTask { await ended.value }
            waiting.addTask {
                try? await Task.sleep(for: .seconds(90))
                return nil
            }
            let first = await waiting.next() ?? nil
            if first == nil { ended.cancel() }   // still up after 90 s: stop it, and fail below
            waiting.cancelAll()
            return first
        }
        #expect(outcome?.contains("tick stream") == true, "ended with: \(outcome ?? "nothing: still running after 90 s")")
        await other.close()
        try? postgres.stop()
    }
}
