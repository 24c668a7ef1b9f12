import FXKafka
import FXTestSupport
import Synchronization
import Testing

@Suite("Kafka: producer faults are loud, never silent", .tags(.integration))
struct ProducerFailureTests {
    @Test("with the broker killed mid-stream, every send ends in an error with a persistence status, and the queue bound holds")
    func brokerStoppedMidProduce() async throws {
        let broker = try PrivateBroker()
        let topic = try await KafkaTestKit.makeTopic("down", partitions: 1, brokers: broker.brokers)
        let producer = KafkaTestKit.started(try KafkaProducer(
            configuration: KafkaTestKit.configuration(brokers: broker.brokers, [
                "message.timeout.ms": "3000",
                "queue.buffering.max.messages": "5",
                "reconnect.backoff.max.ms": "200",
            ]), logger: TestEnvironment.logger("producer")))
        try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: "before"))

        broker.kill()
        let maxInFlight = Mutex(0)
        let sampler = Task {
            while !Task.isCancelled {
                let now = producer.inFlight
                maxInFlight.withLock { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let outcomes = await withTaskGroup(of: Result<KafkaDeliveryReport, KafkaError>.self) { group in
            for index in 0..<20 {
                group.addTask {
                    do { return .success(try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: "after\(index)"))) }
                    catch let error as KafkaError { return .failure(error) }
                    catch { return .failure(KafkaError(code: .produce, message: "\(error)")) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        sampler.cancel()
        await producer.shutdown(flushTimeout: .seconds(1))

        #expect(outcomes.count == 20, "every send returned")
        let failures = outcomes.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        #expect(failures.count == 20, "no send claims success while the broker is down")
        #expect(failures.allSatisfy { $0.code == .delivery && $0.persistence != nil })
        #expect(failures.contains { $0.rdkafkaName == "_MSG_TIMED_OUT" })
        // rd_kafka_outq_len counts queued messages plus requests and unserved reports, so it can pass the
        // 5-message bound a little; without backpressure all 20 would be queued at once.
        #expect(maxInFlight.withLock { $0 } < 12, "sends waited for queue room instead of overfilling it")
        #expect(!failures.contains { $0.rdkafkaName == "_QUEUE_FULL" }, "a full queue made sends wait, not fail")
    }

    @Test("sends after shutdown fail as not persisted")
    func sendAfterShutdown() async throws {
        let producer = KafkaTestKit.started(try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("producer")))
        await producer.shutdown()
        await #expect {
            try await producer.send(KafkaProducerMessage(topic: "unused", key: nil, value: "x"))
        } throws: { error in
            (error as? KafkaError)?.code == .shutdown && (error as? KafkaError)?.persistence == .notPersisted
        }
    }

    @Test("an unknown librdkafka property is rejected naming the key, never the value")
    func badProperty() throws {
        let secret = "hunter2-secret-value"
        #expect {
            _ = try KafkaProducer(configuration: KafkaTestKit.configuration(["no.such.property": secret]),
                                  logger: TestEnvironment.logger("producer"))
        } throws: { error in
            let text = "\(error)"
            return (error as? KafkaError)?.code == .configuration && text.contains("no.such.property") && !text.contains(secret)
        }
    }

    @Test("redacted configuration hides SASL and SSL secrets")
    func redaction() {
        let configuration = KafkaTestKit.configuration(["sasl.password": "pw", "ssl.key.password": "kp", "sasl.username": "user"])
        #expect(configuration.redactedProperties["sasl.password"] == "[redacted]")
        #expect(configuration.redactedProperties["ssl.key.password"] == "[redacted]")
        #expect(configuration.redactedProperties["sasl.username"] == "user")
    }
}

extension ProducerFailureTests {
    @Test("a batch sent while the broker is down fails message by message, none reported as delivered")
    func batchWithBrokerDown() async throws {
        let broker = try PrivateBroker()
        let topic = try await KafkaTestKit.makeTopic("batchdown", partitions: 1, brokers: broker.brokers)
        let producer = KafkaTestKit.started(try KafkaProducer(
            configuration: KafkaTestKit.configuration(brokers: broker.brokers, ["message.timeout.ms": "2000",
                                                                                "queue.buffering.max.messages": "10"]),
            logger: TestEnvironment.logger("producer")))
        try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: "up"))
        broker.kill()
        let results = await producer.send(contentsOf: (0..<30).map { KafkaProducerMessage(topic: topic, key: nil, value: "m\($0)") })
        await producer.shutdown(flushTimeout: .seconds(1))
        #expect(results.count == 30)
        #expect(results.allSatisfy { if case .failure(let error) = $0 { error.persistence != nil } else { false } })
    }
}
