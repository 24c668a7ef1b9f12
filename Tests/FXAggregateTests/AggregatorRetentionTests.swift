import FXContracts
import FXCandles
import Foundation
import FXAggregate
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Metrics
import Testing

/// Ticks deleted by Kafka retention before the aggregator read them cannot be counted; the loss must
/// not be silent: every symbol the partition carried gets a `retention` gap event for the backfiller.
@Suite("Aggregator: ticks lost to Kafka retention", .serialized, .tags(.integration))
struct AggregatorRetentionTests {
    @Test("restarted with its stored offset below the log start, the aggregator reports a retention gap per symbol from its newest candle")
    func retentionGap() async throws {
        let mock = try KafkaMockCluster()
        let topics = TopicNames(prefix: TestEnvironment.uniqueName("ret") + ".")
        for topic in topics.all { try mock.createTopic(topic, partitions: 1) }
        let source = TestEnvironment.uniqueName("src")
        var configuration = AggregatorConfiguration()
        configuration.timeframes = ["1m"].compactMap(Timeframe.init)
        configuration.consumerGroup = TestEnvironment.uniqueName("aggregator")
        configuration.retentionDays = [:]
        configuration.compressAfter = .seconds(3_650 * 86_400)
        let connection = try await PostgresTestKit.connect()
        _ = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        func service() -> AggregatorService {
            AggregatorService(configuration: configuration, kafka: KafkaTestKit.configuration(brokers: mock.brokers, KafkaTestKit.groupProperties),
                              topics: topics, database: PostgresConfiguration(url: TestEnvironment.databaseURL, applicationName: "agg-retention"),
                              instance: "retention", metricsFactory: NOOPMetricsHandler.instance, logger: TestEnvironment.logger("aggregator"))
        }
        func send(_ values: [[UInt8]]) async throws {
            let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(brokers: mock.brokers, ["linger.ms": "0"]),
                                                                  logger: TestEnvironment.logger("producer")))
            for value in values {   // one message set each
                _ = try await producer.send(contentsOf: [KafkaProducerMessage(topic: topics.ticks, partition: 0, key: Array("\(source):EUR/USD".utf8), value: value)])[0].get()
            }
            await producer.shutdown()
        }
        let start: Int64 = 1_795_500_000_000_000_000
        let ticks = (0..<3).map { i in
            Array(#"{"v":1,"kind":"trade","source":"\#(source)","symbol":"EUR/USD","ts":\#(start + Int64(i) * 1_000_000_000),"seq":null,"price":"1.1","size":"1","trade_id":"\#(i)"}"#.utf8)
        }
        let store = FencedCandleStore(timeframes: configuration.timeframes, bidAskCandles: false, consumerGroup: configuration.consumerGroup, topic: topics.ticks)
        try await withServices([service()]) {
            try await send(ticks)
            let stored = try await TestEnvironment.eventually(timeout: .seconds(60)) { (try? await store.storedOffsets(on: connection))?[0] == 3 }
            #expect(stored, "the first three ticks were counted")
        }
        // While it is down, 7.2 MB arrive: the mock log drops its oldest message sets, ticks 3... unread.
        try await send((0..<8).map { _ in [UInt8](repeating: 0x20, count: 900_000) })
        let recorder = try TopicRecorder(topics: [topics.gaps], brokers: mock.brokers)
        try await withServices([service()]) {
            let gaps = try await recorder.waitFor(topics.gaps, timeout: .seconds(60), "a retention gap") { !$0.isEmpty }
            let gap = try GapEvent(json: try #require(gaps.first).value)
            #expect(gap.reason == .retention)
            #expect(gap.source == source && gap.symbol == "EUR/USD" && gap.venueSymbol == "")
            #expect(gap.from == start + 2_000_000_000, "from the newest stored candle's close")
            #expect(gap.to > gap.from)
            #expect(gap.detail.contains("offsets 3..<"))
        }
        await recorder.stop()
        await connection.close()
    }
}
