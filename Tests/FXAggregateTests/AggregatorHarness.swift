import FXContracts
import FXCandles
import Foundation
import FXAggregate
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Logging
import Metrics
import ServiceLifecycle

/// Topics, a source name and a consumer group of a test's own, on the local stack.
struct AggregatorFixture {
    let topics: TopicNames
    let source: String
    let group: String
    let partitions: Int32

    init(partitions: Int32 = 3) async throws {
        topics = TopicNames(prefix: TestEnvironment.uniqueName("agg") + ".")
        source = TestEnvironment.uniqueName("src")
        group = TestEnvironment.uniqueName("aggregator")
        self.partitions = partitions
        let admin = try KafkaAdmin(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics([topics.ticks, topics.candles, topics.rejects, topics.health].map {
            KafkaTopicSpec(name: $0, partitions: partitions)
        })
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        await connection.close()
    }

    var configuration: AggregatorConfiguration {
        var c = AggregatorConfiguration()
        c.timeframes = ["1s", "1m", "5m", "1h"].compactMap(Timeframe.init)
        c.consumerGroup = group
        c.flushInterval = .milliseconds(100)
        c.healthInterval = .seconds(1)
        c.idleTimeout = .seconds(2)
        c.allowedLateness = .seconds(1)
        c.retentionDays = [:]   // retention is database-wide: never delete another test's replayed history
        c.compressAfter = .seconds(3_650 * 86_400)   // replayed history is days old: never beyond the horizon
        return c
    }

    func service(_ configuration: AggregatorConfiguration? = nil, instance: String = "test") -> AggregatorService {
        AggregatorService(configuration: configuration ?? self.configuration, kafka: KafkaTestKit.configuration(KafkaTestKit.groupProperties),
                          topics: topics, database: PostgresConfiguration(url: TestEnvironment.databaseURL, applicationName: "agg-test"),
                          instance: instance, metricsFactory: NOOPMetricsHandler.instance, logger: TestEnvironment.logger("aggregator"))
    }

    /// Produces messages keyed `<source>:<symbol>`; returns how many landed in each partition.
    func produce(_ messages: [[UInt8]]) async throws -> [Int32: Int64] {
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        let keyed = messages.map { value -> KafkaProducerMessage in
            let tick = try? JSONParser().parse(value)
            let key = "\(tick?["source"]?.stringValue ?? "x"):\(tick?["symbol"]?.stringValue ?? "x")"
            return KafkaProducerMessage(topic: topics.ticks, key: Array(key.utf8), value: value)
        }
        var counts: [Int32: Int64] = [:]
        for result in await producer.send(contentsOf: keyed) {
            counts[try result.get().partition, default: 0] += 1
        }
        await producer.shutdown()
        return counts
    }

    /// Waits until the stored offsets reach `expected` (next offset per partition).
    func waitForOffsets(_ expected: [Int32: Int64], timeout: Duration = .seconds(90)) async throws {
        let connection = try await PostgresTestKit.connect()
        defer { Task { await connection.close() } }
        let store = FencedCandleStore(timeframes: configuration.timeframes, bidAskCandles: false, consumerGroup: group, topic: topics.ticks)
        let deadline = ContinuousClock.now + timeout
        var last: [Int32: Int64] = [:]
        while ContinuousClock.now < deadline {
            last = (try? await store.storedOffsets(on: connection)) ?? [:]
            if expected.allSatisfy({ last[$0.key, default: 0] >= $0.value }) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestSupportError("stored offsets \(last) never reached \(expected)")
    }

    func stored() async throws -> [Recomputation.Key: Recomputation.Candle] {
        let connection = try await PostgresTestKit.connect()
        let result = try await Recomputation.stored(source: source, on: connection)
        await connection.close()
        return result
    }
}
