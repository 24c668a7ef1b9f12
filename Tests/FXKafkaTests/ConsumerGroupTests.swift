import FXKafka
import FXTestSupport
import Synchronization
import Testing

@Suite("Kafka: consumer groups, offsets and rebalances", .tags(.integration))
struct ConsumerGroupTests {
    private func produce(_ count: Int, to topic: String, partition: Int32? = nil, tag: String = "m") async throws {
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        for index in 0..<count {
            try await producer.send(KafkaProducerMessage(topic: topic, partition: partition ?? Int32(index % 3), key: nil, value: "\(tag)\(index)"))
        }
        await producer.shutdown()
    }

    @Test("on assignment the consumer starts at the offsets the rebalance handler supplies")
    func seekToStoredOffsets() async throws {
        let topic = try await KafkaTestKit.makeTopic("seek", partitions: 1)
        try await produce(10, to: topic, partition: 0)
        let asked = Mutex<[KafkaTopicPartition]>([])
        let handler = KafkaRebalanceHandler(partitionsAssigned: { partitions in
            asked.withLock { $0 = partitions }
            return [KafkaTopicPartition(topic: topic, partition: 0): 7]
        })
        let consumer = try KafkaTestKit.consumer(topics: [topic], rebalance: handler)
        let messages = try await KafkaTestKit.collect(3, from: consumer)
        await consumer.close()
        #expect(asked.withLock { $0 } == [KafkaTopicPartition(topic: topic, partition: 0)])
        #expect(messages.map(\.offset) == [7, 8, 9])
        #expect(messages.map(\.valueString) == ["m7", "m8", "m9"])
    }

    @Test("a start offset past the partition's end (a recreated topic) starts from the beginning instead of waiting for ever")
    func offsetPastTheEnd() async throws {
        let topic = try await KafkaTestKit.makeTopic("pastend", partitions: 1)
        try await produce(3, to: topic, partition: 0)
        let handler = KafkaRebalanceHandler(partitionsAssigned: { _ in [KafkaTopicPartition(topic: topic, partition: 0): 1_000] })
        let consumer = try KafkaTestKit.consumer(topics: [topic], rebalance: handler)
        let messages = try await KafkaTestKit.collect(3, from: consumer)
        await consumer.close()
        #expect(messages.map(\.offset) == [0, 1, 2])
        #expect(messages.map(\.valueString) == ["m0", "m1", "m2"])
    }

    @Test("a failing rebalance handler ends the event sequence with an error instead of consuming from unknown offsets")
    func failingHandler() async throws {
        let topic = try await KafkaTestKit.makeTopic("seekfail", partitions: 1)
        try await produce(2, to: topic, partition: 0)
        struct Boom: Error {}
        let handler = KafkaRebalanceHandler(partitionsAssigned: { _ in throw Boom() })
        let consumer = try KafkaTestKit.consumer(topics: [topic], rebalance: handler)
        await #expect(throws: KafkaError.self) {
            for try await event in consumer.events {
                if case .message = event { Issue.record("no message may be delivered") }
            }
        }
        await consumer.close()
    }

    @Test("committed offsets are what a new member of the group resumes from")
    func commitAndResume() async throws {
        let topic = try await KafkaTestKit.makeTopic("commit", partitions: 1)
        try await produce(6, to: topic, partition: 0)
        let group = TestEnvironment.uniqueName("group")
        let first = try KafkaTestKit.consumer(topics: [topic], group: group)
        let firstBatch = try await KafkaTestKit.collect(4, from: first)
        try await first.commit(firstBatch[3])
        let committed = try await first.committedOffsets(for: [KafkaTopicPartition(topic: topic, partition: 0)])
        await first.close()
        #expect(committed[KafkaTopicPartition(topic: topic, partition: 0)] == .some(4))

        let second = try KafkaTestKit.consumer(topics: [topic], group: group)
        let rest = try await KafkaTestKit.collect(2, from: second)
        await second.close()
        #expect(rest.map(\.offset) == [4, 5])
    }

    @Test("two consumers in one group split the partitions after a rebalance and count nothing twice")
    func twoConsumersRebalance() async throws {
        let topic = try await KafkaTestKit.makeTopic("rebalance", partitions: 4)
        let group = TestEnvironment.uniqueName("group")
        let consumerA = try KafkaTestKit.consumer(topics: [topic], group: group)
        let eventsA = RecordedEvents()
        let readerA = Task { try await eventsA.record(consumerA) }
        #expect(try await TestEnvironment.eventually { eventsA.assigned.count == 4 }, "A owns all 4 partitions first")

        let consumerB = try KafkaTestKit.consumer(topics: [topic], group: group)
        let eventsB = RecordedEvents()
        let readerB = Task { try await eventsB.record(consumerB) }
        #expect(try await TestEnvironment.eventually(timeout: .seconds(60)) {
            !eventsB.assigned.isEmpty && eventsA.assigned.count + eventsB.assigned.count == 4
        }, "after the rebalance the partitions are split")
        #expect(eventsA.revokedCount > 0, "A saw its partitions revoked")
        #expect(Set(eventsA.assigned).isDisjoint(with: eventsB.assigned))
        #expect(try Set(consumerA.assignment()).union(consumerB.assignment()).count == 4)

        try await produce(40, to: topic, partition: nil, tag: "r")
        #expect(try await TestEnvironment.eventually { eventsA.messages.count + eventsB.messages.count >= 40 })
        try await Task.sleep(for: .milliseconds(500))
        let all = eventsA.messages + eventsB.messages
        #expect(all.count == 40, "no message delivered twice")
        #expect(Set(all).count == 40)

        await consumerA.close()
        await consumerB.close()
        _ = try await readerA.value
        _ = try await readerB.value
    }

    @Test("paused partitions deliver nothing until resumed")
    func pauseResume() async throws {
        let topic = try await KafkaTestKit.makeTopic("pause", partitions: 1)
        let consumer = try KafkaTestKit.consumer(topics: [topic])
        let events = RecordedEvents()
        let reader = Task { try await events.record(consumer) }
        #expect(try await TestEnvironment.eventually { events.assigned.count == 1 })
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try consumer.pause([partition])
        try await produce(3, to: topic, partition: 0)
        try await Task.sleep(for: .seconds(2))
        #expect(events.messages.isEmpty)
        try consumer.resume([partition])
        #expect(try await TestEnvironment.eventually { events.messages.count == 3 })
        await consumer.close()
        _ = try await reader.value
    }
}

/// Records a consumer's events for assertions from another task.
final class RecordedEvents: Sendable {
    private let state = Mutex<(assigned: Set<KafkaTopicPartition>, revoked: Int, messages: [String], belowLogStart: [KafkaLogStartSkip])>(([], 0, [], []))

    var assigned: [KafkaTopicPartition] { state.withLock { Array($0.assigned) } }
    var revokedCount: Int { state.withLock { $0.revoked } }
    var messages: [String] { state.withLock { $0.messages } }

    func record(_ consumer: KafkaConsumer) async throws {
        for try await event in consumer.events {
            state.withLock { state in
                switch event {
                case .partitionsAssigned(let partitions): state.assigned.formUnion(partitions)
                case .partitionsRevoked(let partitions):
                    state.revoked += partitions.count
                    state.assigned.subtract(partitions)
                case .message(let message): state.messages.append(message.valueString)
                case .offsetsBelowLogStart(let skips): state.belowLogStart += skips
                }
            }
        }
    }
}

extension ConsumerGroupTests {
    @Test("with a tiny event buffer and a slow reader, every message still arrives once, in order")
    func backpressureKeepsOrder() async throws {
        let topic = try await KafkaTestKit.makeTopic("backpressure", partitions: 1)
        try await produce(300, to: topic, partition: 0)
        let consumer = try KafkaTestKit.consumer(topics: [topic], bufferCapacity: 5)
        var offsets: [Int64] = []
        for try await event in consumer.events {
            guard case .message(let message) = event else { continue }
            offsets.append(message.offset)
            if offsets.count % 50 == 0 { try await Task.sleep(for: .milliseconds(200)) } // a slow reader
            if offsets.count == 300 { break }
        }
        await consumer.close()
        #expect(offsets == Array(0..<300))
    }
}

@Suite("Kafka consumer: offsets below the log start", .tags(.integration))
struct LogStartTests {
    @Test("a stored offset below the log start (retention deleted unread messages) is reported with the skipped range, and consumption resumes at the log start")
    func belowLogStart() async throws {
        let mock = try KafkaMockCluster()
        let topic = TestEnvironment.uniqueName("retention")
        try mock.createTopic(topic, partitions: 1)
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(brokers: mock.brokers, ["linger.ms": "0"]),
                                                              logger: TestEnvironment.logger("producer")))
        let big = [UInt8](repeating: 0x61, count: 900_000)
        for _ in 0..<8 {   // one message set each; 7.2 MB: the oldest are dropped
            _ = try await producer.send(contentsOf: [KafkaProducerMessage(topic: topic, partition: 0, key: Array("k".utf8), value: big)])[0].get()
        }
        await producer.shutdown()
        let handler = KafkaRebalanceHandler(partitionsAssigned: { partitions in Dictionary(uniqueKeysWithValues: partitions.map { ($0, 0) }) })
        let consumer = KafkaTestKit.started(try KafkaConsumer(configuration: KafkaTestKit.configuration(brokers: mock.brokers, KafkaTestKit.groupProperties),
                                                              groupID: TestEnvironment.uniqueName("group"), topics: [topic], rebalanceHandler: handler,
                                                              logger: TestEnvironment.logger("consumer")))
        var skips: [KafkaLogStartSkip] = []
        var offsets: [Int64] = []
        for try await event in consumer.events {
            switch event {
            case .offsetsBelowLogStart(let reported): skips += reported
            case .message(let message): offsets.append(message.offset)
            default: break
            }
            if offsets.last == 7 { break }
        }
        await consumer.close()
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let start = try #require(offsets.first)
        #expect(start > 0, "the mock log dropped its oldest messages")
        #expect(skips == [KafkaLogStartSkip(partition: partition, from: 0, to: start)])
        #expect(offsets == Array(start...7))
    }
}
