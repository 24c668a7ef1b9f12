import FXConfiguration
import FXContracts
import Foundation
@testable import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Metrics
import ServiceLifecycle
import Testing

/// Idle repair workers sleep until there is work: the intake's bell, the ledger's next due time, or
/// `poll_interval` at most. In process, on a database of its own.
@Suite("Backfiller: idle workers wake for new gaps", .serialized, .tags(.integration))
struct GapBellTests {
    static let minute: Int64 = 60_000_000_000

    static func event(_ symbol: String, _ venueSymbol: String, from: Int64) -> GapEvent {
        GapEvent(source: "coinbase", symbol: symbol, venueSymbol: venueSymbol, from: from, to: from + 2 * minute, reason: .disconnect,
                 detectedAt: from + 3 * minute, detail: "test", instance: "ingestor-test")
    }

    static func attempts(_ ledger: GapLedger, _ symbol: String) async throws -> Int {
        try await ledger.gaps(source: "coinbase", symbol: symbol).first?.attempts ?? 0
    }


    @Test("with poll_interval at a minute, a gap the intake records is claimed within seconds (and a gap written behind the workers' back with it), not at their next look")
    func intakeRingsTheWorkers() async throws {
        let database = try await PostgresTestKit.freshDatabase("bfbell")
        let topics = TopicNames(prefix: TestEnvironment.uniqueName("bfbell") + ".")
        let admin = try KafkaAdmin(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics([topics.gaps, topics.rejects, topics.candles, topics.health].map { KafkaTopicSpec(name: $0, partitions: 1) })
        var configuration = BackfillerConfiguration.withTopicPrefix(topics.prefix)
        configuration.pollInterval = .seconds(60)
        configuration.settle = .zero
        configuration.workers = 2
        // Nothing listens there: a claimed gap is never repaired, and the claims are all this spec looks at.
        configuration.restURLOverrides = [KeyedValue(key: "coinbase", value: "http://127.0.0.1:1")]
        let context = BackfillerContext(configuration: configuration, kafka: KafkaTestKit.configuration(KafkaTestKit.groupProperties), topics: topics,
                                        database: PostgresConfiguration(url: database, applicationName: "bf-bell"), schema: nil,
                                        instance: "bf-bell", metricsFactory: NOOPMetricsHandler.instance, logger: TestEnvironment.logger("backfiller"))
        let backfiller = try BackfillerServices(context: context)
        let group = ServiceGroup(configuration: .init(services: backfiller.services.map { .init(service: $0) }, logger: TestEnvironment.logger("group")))
        let running = Task { try await group.run() }
        let connection = try await PostgresTestKit.connect(url: database)
        let ledger = GapLedger(connection: connection)

        // The intake owns its partition, and both workers have looked at the empty ledger and are waiting
        // (their connections' last statement was the look for the next due gap).
        let assigned = try await TestEnvironment.eventually(timeout: .seconds(60)) { !backfiller.intake.lag().isEmpty }
        #expect(assigned, "the intake consumes its partition")
        let idle = try await TestEnvironment.eventually(timeout: .seconds(30)) {
            try await connection.query("""
                SELECT count(*) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'bf-bell' AND state = 'idle' AND query LIKE '%next_due_in_us%'
                """).first?["n"] == "2"
        }
        #expect(idle, "the workers wait")

        // A gap written behind the workers' back (no bell): it waits for their next look, a minute away.
        let start = WallClock.nanoseconds() / Self.minute * Self.minute - 60 * Self.minute
        _ = try await ledger.record(Self.event("BTC/USD", "BTC-USD", from: start))
        try await Task.sleep(for: .seconds(2))
        #expect(try await Self.attempts(ledger, "BTC/USD") == 0, "not claimed before the workers' next look")

        // A gap event through the intake: recorded, the bell rings, the workers look at once and claim both gaps.
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        let sent = ContinuousClock.now
        _ = try await producer.send(KafkaProducerMessage(topic: topics.gaps, key: Array("coinbase:ETH/USD".utf8),
                                                         value: Self.event("ETH/USD", "ETH-USD", from: start).jsonBytes()))
        await producer.shutdown()
        let claimed = try await TestEnvironment.eventually(timeout: .seconds(40)) {
            let eth = try await Self.attempts(ledger, "ETH/USD"), btc = try await Self.attempts(ledger, "BTC/USD")
            return eth >= 1 && btc >= 1
        }
        let elapsed = ContinuousClock.now - sent
        let eth = try await ledger.gaps(source: "coinbase", symbol: "ETH/USD"), btc = try await ledger.gaps(source: "coinbase", symbol: "BTC/USD")
        #expect(claimed, "both gaps claimed: \(eth) \(btc)")
        #expect(elapsed < .seconds(30), "claimed \(elapsed) after the event was sent, well before the workers' next look")

        await group.triggerGracefulShutdown()
        try await running.value
        await connection.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
