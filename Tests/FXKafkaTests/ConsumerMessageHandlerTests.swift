import FXKafka
import FXTestSupport
import Synchronization
import Testing

@Suite("Kafka: a consumer that gives its messages and rebalances to a handler on the poll thread", .tags(.integration))
struct ConsumerMessageHandlerTests {
    /// What a handler copied out of one lent message.
    struct Seen: Equatable {
        var partition: Int32
        var offset: Int64
        var key: String?
        var value: String
        var tombstone: Bool
    }

    @Test("every message reaches the handler once, in order per partition, with its key, value and a null value told from an empty one, after the assignment; the events carry only the end")
    func everyMessageLentOnce() async throws {
        let topic = try await KafkaTestKit.makeTopic("lend", partitions: 3)
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        var sent = (0..<60).map { KafkaProducerMessage(topic: topic, partition: Int32($0 % 3), key: "k\($0)", value: "v\($0)") }
        sent.append(KafkaProducerMessage(topic: topic, partition: 1, key: nil, value: ""))
        var tombstone = KafkaProducerMessage.tombstone(topic: topic, key: Array("gone".utf8))
        tombstone.partition = 2
        sent.append(tombstone)
        for result in await producer.send(contentsOf: sent) { _ = try result.get() }
        await producer.shutdown()

        let seen = Mutex<[Seen]>([])
        let log = Mutex<[String]>([])   // "assigned N" and "messages" in the order handed over
        let consumer = KafkaTestKit.started(try KafkaConsumer(
            configuration: KafkaTestKit.configuration(KafkaTestKit.groupProperties.merging(["auto.offset.reset": "earliest"]) { $1 }),
            groupID: TestEnvironment.uniqueName("group"), topics: [topic], logger: TestEnvironment.logger("consumer")) { delivery in
                switch delivery {
                case .messages(let messages):
                    let copied = messages.map { message in
                        #expect(message.topic == topic)
                        return Seen(partition: message.partition, offset: message.offset,
                                    key: message.key.map { String(decoding: $0, as: UTF8.self) },
                                    value: String(decoding: message.value, as: UTF8.self), tombstone: message.isTombstone)
                    }
                    seen.withLock { $0 += copied }
                    log.withLock { $0.append("messages") }
                case .event(.partitionsAssigned(let partitions)):
                    log.withLock { $0.append("assigned \(partitions.count)") }
                case .event(let other):
                    log.withLock { $0.append("\(other)") }
                }
            })
        let handled = try await TestEnvironment.eventually(timeout: .seconds(30)) { seen.withLock { $0.count } >= 62 }
        #expect(handled, "all 62 messages handled")
        let ends = Task {
            var messages = 0
            for try await event in consumer.events { if case .message = event { messages += 1 } }
            return messages
        }
        await consumer.close()
        #expect(try await ends.value == 0, "a handler consumer's events carry no message, and they end when it closes")
        #expect(log.withLock { $0.first } == "assigned 3", "the assignment comes before any message")

        let all = seen.withLock { $0 }
        #expect(all.count == 62)
        for partition: Int32 in 0..<3 {
            let mine = all.filter { $0.partition == partition }
            #expect(mine.map(\.offset) == (0..<Int64(mine.count)).map { $0 }, "partition \(partition) in offset order, none twice")
        }
        #expect(all.filter { $0.partition == 0 }.map(\.value) == stride(from: 0, to: 60, by: 3).map { "v\($0)" })
        #expect(all.contains(Seen(partition: 1, offset: 20, key: nil, value: "", tombstone: false)))
        #expect(all.contains(Seen(partition: 2, offset: 20, key: "gone", value: "", tombstone: true)))
        #expect(all.first { $0.value == "v7" }?.key == "k7")
    }
}
