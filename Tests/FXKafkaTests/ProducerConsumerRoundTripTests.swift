import FXKafka
import FXTestSupport
import Testing

@Suite("Kafka: produce and consume through a consumer group", .tags(.integration))
struct ProducerConsumerRoundTripTests {
    @Test("every produced message arrives once, with its key, value and headers, in order per key")
    func roundTrip() async throws {
        let topic = try await KafkaTestKit.makeTopic("roundtrip")
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        var reports: [KafkaDeliveryReport] = []
        for index in 0..<90 {
            let key = "key-\(index % 9)"
            reports.append(try await producer.send(KafkaProducerMessage(
                topic: topic, key: key, value: "value-\(index)",
                headers: [KafkaHeader(key: "index", string: String(index)), KafkaHeader(key: "empty", value: nil)])))
        }
        await producer.shutdown()
        #expect(Set(reports.map(\.partition)).count > 1, "keys spread over partitions")

        let consumer = try KafkaTestKit.consumer(topics: [topic])
        let messages = try await KafkaTestKit.collect(90, from: consumer)
        await consumer.close()

        #expect(messages.count == 90)
        #expect(Set(messages.map(\.valueString)) == Set((0..<90).map { "value-\($0)" }))
        for message in messages {
            let index = Int(message.valueString.dropFirst("value-".count))!
            #expect(message.keyString == "key-\(index % 9)")
            #expect(message.headers == [KafkaHeader(key: "index", string: String(index)), KafkaHeader(key: "empty", value: nil)])
        }
        // Same key -> same partition -> produced order.
        for keyIndex in 0..<9 {
            let indices = messages.filter { $0.keyString == "key-\(keyIndex)" }.map { Int($0.valueString.dropFirst(6))! }
            #expect(indices == indices.sorted())
        }
    }

    @Test("a producer shut down without having run still delivers what it handed over, and reports it")
    func shutdownWithoutRun() async throws {
        let topic = try await KafkaTestKit.makeTopic("norun")
        let producer = try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer"))
        let pending = await producer.enqueue(contentsOf: (0..<50).map { KafkaProducerMessage(topic: topic, key: "k", value: "m\($0)") })
        let clock = ContinuousClock()
        let started = clock.now
        await producer.shutdown(flushTimeout: .seconds(20))
        let results = await pending.results()
        #expect(clock.now - started < .seconds(10), "the flush did not wait for its timeout")
        #expect(results.count == 50)
        #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
    }

    @Test("a running producer serves librdkafka's statistics")
    func statistics() async throws {
        let topic = try await KafkaTestKit.makeTopic("stats")
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(["statistics.interval.ms": "100"]),
                                                              logger: TestEnvironment.logger("producer")))
        try await producer.send(KafkaProducerMessage(topic: topic, key: "k", value: "v"))
        let deadline = ContinuousClock.now + .seconds(10)
        while producer.statistics == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let statistics = try #require(producer.statistics)
        await producer.shutdown()
        #expect(statistics.contains(#""type": "producer""#) || statistics.contains(#""type":"producer""#))
    }

    @Test("delivery reports of the idempotent producer give distinct, increasing offsets per partition")
    func deliveryReports() async throws {
        let topic = try await KafkaTestKit.makeTopic("reports", partitions: 2)
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        let reports = try await withThrowingTaskGroup(of: KafkaDeliveryReport.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await producer.send(KafkaProducerMessage(topic: topic, partition: Int32(index % 2), key: nil, value: "m\(index)"))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        await producer.shutdown()
        #expect(reports.count == 200)
        for partition in Int32(0)...1 {
            let offsets = reports.filter { $0.partition == partition }.map(\.offset).sorted()
            #expect(offsets == Array(0..<100), "partition \(partition) holds each message once, gap-free")
        }
        #expect(reports.allSatisfy { $0.topic == topic })
    }

    @Test("a message with a nil key and an empty value survives the trip")
    func emptyValue() async throws {
        let topic = try await KafkaTestKit.makeTopic("empty", partitions: 1)
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: [UInt8]()))
        await producer.shutdown()
        let consumer = try KafkaTestKit.consumer(topics: [topic])
        let messages = try await KafkaTestKit.collect(1, from: consumer)
        await consumer.close()
        #expect(messages.first?.key == nil)
        #expect(messages.first?.value == [])
    }
}

extension ProducerConsumerRoundTripTests {
    @Test("a batch send returns one result per message, in order, and the messages arrive in that order")
    func batchSend() async throws {
        let topic = try await KafkaTestKit.makeTopic("batch", partitions: 1)
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(["queue.buffering.max.messages": "100"]),
                                         logger: TestEnvironment.logger("producer")))
        let messages = (0..<1_000).map { KafkaProducerMessage(topic: topic, key: "k", value: "b\($0)") }
        let results = await producer.send(contentsOf: messages)
        await producer.shutdown()
        let offsets = try results.map { try $0.get().offset }
        #expect(offsets == Array(0..<1_000), "results in message order, although the queue held only 100 at a time")

        let consumer = try KafkaTestKit.consumer(topics: [topic])
        let received = try await KafkaTestKit.collect(1_000, from: consumer)
        await consumer.close()
        #expect(received.map(\.valueString) == (0..<1_000).map { "b\($0)" })
    }
}
