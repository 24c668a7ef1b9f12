import FXContracts
import Foundation
import FXBackfill
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Testing

/// The backfiller executable records the gap events of its topic in the ledger.
@Suite("Backfiller: gap events into the ledger", .tags(.integration))
struct GapIntakeTests {
    static let minute: Int64 = 60_000_000_000
    static let t0: Int64 = 29_386_080 * minute

    @Test("each event is recorded once, overlapping windows merge, invalid events are rejected with a reason")
    func intake() async throws {
        let topics = TopicNames(prefix: TestEnvironment.uniqueName("bf") + ".")
        let admin = try KafkaAdmin(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("admin"))
        _ = try await admin.createTopics([topics.gaps, topics.rejects, topics.candles, topics.health].map { KafkaTopicSpec(name: $0, partitions: 2) })
        let source = TestEnvironment.uniqueName("src")
        func event(_ from: Int64, _ to: Int64, _ reason: GapEvent.Reason) -> [UInt8] {
            GapEvent(source: source, symbol: "G/USD", venueSymbol: "G-USD", from: from, to: to, reason: reason,
                     detectedAt: to + 1, detail: "test", instance: "ingestor-1").jsonBytes()
        }
        let first = event(Self.t0, Self.t0 + 3 * Self.minute, .disconnect)
        let messages = [first, first, event(Self.t0 + 2 * Self.minute, Self.t0 + 6 * Self.minute, .stale), Array(#"{"v":1,"source":"x"}"#.utf8)]
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        for result in await producer.send(contentsOf: messages.map { KafkaProducerMessage(topic: topics.gaps, key: Array("\(source):G/USD".utf8), value: $0) }) {
            _ = try result.get()
        }
        await producer.shutdown()
        let recorder = try TopicRecorder(topics: [topics.rejects])
        let backfiller = try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix],
                                            environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"])
        let connection = try await PostgresTestKit.connect()
        let ledger = GapLedger(connection: connection)
        let merged = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            let gaps = try await ledger.gaps(source: source, symbol: "G/USD")
            return gaps.count == 1 && gaps[0].to == Self.t0 + 6 * Self.minute && gaps[0].reasons == ["disconnect", "stale"]
        }
        #expect(merged, "one merged gap; log:\n\(backfiller.log.suffix(3000))")
        let rejects = try await recorder.waitFor(topics.rejects, timeout: .seconds(30), "the invalid event's reject") { !$0.isEmpty }
        let reject = try RejectRecord(json: rejects[0].value)
        #expect(reject.stage == .backfill)
        #expect(reject.reason == "invalid_gap_event")
        let counted = try await TestEnvironment.eventually(timeout: .seconds(10)) {
            let body = await backfiller.get("/health/live")?.body ?? ""
            return body.contains("counter gap_events_recorded 2\n") && body.contains("counter gap_events_duplicate 1\n")
                && body.contains("counter gap_events_invalid 1\n")
        }
        let live = await backfiller.get("/health/live")?.body ?? ""
        #expect(counted, "\(live)")
        #expect(await backfiller.terminate(timeout: .seconds(30)) == 0, "log:\n\(backfiller.log.suffix(3000))")
        await recorder.stop()
        await connection.close()
    }
}
