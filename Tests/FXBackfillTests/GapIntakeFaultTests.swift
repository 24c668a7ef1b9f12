import FXContracts
import Foundation
@testable import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Logging
import Metrics
import ServiceLifecycle
import Testing

/// The gap intake never stops for one bad event, and never keeps running without its input.
@Suite("Backfiller: gap intake faults", .tags(.integration))
struct GapIntakeFaultTests {
    static let minute: Int64 = 60_000_000_000
    static let t0: Int64 = 29_386_080 * minute

    @Test("poison among good gap events in one batch: the good ones are recorded, the poison goes to rejects with its reason, the offsets move past all")
    func poisonInOneBatch() async throws {
        let topics = TopicNames(prefix: TestEnvironment.uniqueName("bfpoison") + ".")
        let admin = try KafkaAdmin(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics([topics.gaps, topics.rejects, topics.candles, topics.health].map { KafkaTopicSpec(name: $0, partitions: 1) })
        let source = TestEnvironment.uniqueName("src")
        func event(_ symbol: String, from: Int64 = Self.t0, to: Int64 = Self.t0 + Self.minute, detail: String = "test") -> [UInt8] {
            GapEvent(source: source, symbol: symbol, venueSymbol: "V", from: from, to: to, reason: .disconnect,
                     detectedAt: Self.t0 + 2 * Self.minute, detail: detail, instance: "ingestor-1").jsonBytes()
        }
        let messages = [
            event("A/USD"),
            event(GapRecorderTests.incompressible(10_240)),  // a symbol of 10 KB
            event("B/USD", detail: "broken \u{0} detail"),   // PostgreSQL text refuses NUL
            event("C/USD", from: Int64.max, to: Int64.max),  // a time no bucket arithmetic survives
            event("D/USD"),
        ]
        // Produced before the backfiller starts: they arrive together, as one batch.
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        for result in await producer.send(contentsOf: messages.map { KafkaProducerMessage(topic: topics.gaps, key: Array("\(source):X".utf8), value: $0) }) {
            _ = try result.get()
        }
        await producer.shutdown()
        let recorder = try TopicRecorder(topics: [topics.rejects])
        let backfiller = try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix], environment: GapRepairTests.kafkaProperties)
        let connection = try await PostgresTestKit.connect()
        let ledger = GapLedger(connection: connection)
        let recorded = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            let a = try await ledger.gaps(source: source, symbol: "A/USD").count, d = try await ledger.gaps(source: source, symbol: "D/USD").count
            return a == 1 && d == 1
        }
        #expect(recorded, "the good events are recorded; log:\n\(backfiller.log.suffix(3000))")
        let rejects = try await recorder.waitFor(topics.rejects, timeout: .seconds(30), "the poison's rejects") { $0.count >= 3 }
        let reasons = try rejects.map { try JSONParser().parse($0.value) }.map { ($0["stage"]?.stringValue, $0["reason"]?.stringValue) }
        #expect(reasons.count == 3, "\(reasons)")
        for (stage, reason) in reasons {
            #expect(stage == "backfill")
            #expect(["invalid_symbol", "invalid_text", "invalid_timestamp", "refused_by_database"].contains(reason ?? ""), "\(String(describing: reason))")
        }
        #expect(reasons.contains { $0.1 == "invalid_timestamp" }, "\(reasons)")
        #expect(try await ledger.gaps(source: source, symbol: "B/USD").isEmpty)
        #expect(try await ledger.gaps(source: source, symbol: "C/USD").isEmpty)
        let counted = try await TestEnvironment.eventually(timeout: .seconds(10)) {
            await backfiller.get("/health/live")?.body.contains("counter gap_events_invalid 3\n") == true
        }
        #expect(counted)
        #expect(await backfiller.terminate(timeout: .seconds(30)) == 0, "log:\n\(backfiller.log.suffix(3000))")
        // The group's offset is past the last message: a restarted backfiller reads none of them again.
        let group = BackfillerConfiguration.withTopicPrefix(topics.prefix).consumerGroup
        let probe = try KafkaTestKit.consumer(topics: [topics.gaps], group: group)
        let committed = try await probe.committedOffsets(for: [KafkaTopicPartition(topic: topics.gaps, partition: 0)])
        #expect(committed[KafkaTopicPartition(topic: topics.gaps, partition: 0)] == Int64(messages.count), "\(committed)")
        await probe.close()
        await recorder.stop()
        await connection.close()
    }

    @Test("the gap intake's consumer stream ending outside a shutdown fails the service group with a reason (the executable exits 1)")
    func streamEndStopsTheService() async throws {
        let topics = TopicNames(prefix: TestEnvironment.uniqueName("bfend") + ".")
        let admin = try KafkaAdmin(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics([topics.gaps, topics.rejects].map { KafkaTopicSpec(name: $0, partitions: 1) })
        let context = BackfillerContext(configuration: BackfillerConfiguration.withTopicPrefix(topics.prefix),
                                        kafka: KafkaTestKit.configuration(KafkaTestKit.groupProperties), topics: topics,
                                        database: PostgresConfiguration(url: TestEnvironment.databaseURL, applicationName: "bf-end"),
                                        schema: nil, instance: "bf-end", metricsFactory: NOOPMetricsHandler.instance,
                                        logger: TestEnvironment.logger("backfiller"))
        let producer = try KafkaProducer(configuration: KafkaTestKit.configuration(), flushTimeout: .seconds(5), logger: TestEnvironment.logger("producer"))
        let intake = GapIntakeService(context: context, producer: producer)
        // As the executable runs it (ServiceRunner): a service that throws ends the group, and ServiceMain exits 1.
        let group = ServiceGroup(configuration: .init(services: [.init(service: producer), .init(service: intake)], logger: TestEnvironment.logger("group")))
        let running = Task { try await group.run() }
        let started = try await TestEnvironment.eventually(timeout: .seconds(30)) { intake.consumer.withLock { $0 } != nil }
        #expect(started)
        await intake.consumer.withLock { $0 }?.close()
        let outcome = try await withThrowingTaskGroup(of: Result<Void, any Error>?.self) { tasks in
            tasks.addTask { await running.result }
            tasks.addTask { try await Task.sleep(for: .seconds(30)); return nil }
            let first = try await tasks.next()!
            tasks.cancelAll()
            return first
        }
        guard case .failure(let error)? = outcome else {
            running.cancel()
            Issue.record("the group is still running or ended without an error: \(String(describing: outcome))")
            return
        }
        #expect((error as? BackfillStoppedError)?.code == "stream_ended", "\(error)")
    }
}
