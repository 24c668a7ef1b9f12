import FXCore
import FXKafka
@testable import FXMonitor
import FXTestSupport
import Testing

/// Nothing wedges: the consumer's events ending or failing stop the monitor with an error (the process
/// exits non-zero); readiness follows the consumer's partition assignment.
@Suite("Monitor: consumer stream end, failure and assignment")
struct MonitorIntakeTests {
    typealias S = MonitorTestSupport

    @Test("when the consumer's events end, intake throws consumer_ended")
    func streamEnds() async {
        let service = S.service()
        let (events, input) = AsyncThrowingStream.makeStream(of: KafkaConsumerEvent.self)
        input.yield(.partitionsAssigned([KafkaTopicPartition(topic: S.topics.ticks, partition: 0)]))
        input.finish()
        await #expect(throws: MonitorError.self) { try await service.intake(events) }
        do { try await service.intake(AsyncThrowingStream<KafkaConsumerEvent, any Error> { $0.finish() }) } catch let error as MonitorError {
            #expect(error.code == .consumerEnded)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(service.assignedPartitions == 0, "nothing is owned any more")
    }

    @Test("when the consumer's events fail, intake throws consumer_failed naming the cause")
    func streamFails() async {
        let service = S.service()
        let failing = AsyncThrowingStream<KafkaConsumerEvent, any Error> { $0.finish(throwing: KafkaError(code: .rebalance, message: "fenced")) }
        do {
            try await service.intake(failing)
            Issue.record("intake returned")
        } catch let error as MonitorError {
            #expect(error.code == .consumerFailed && error.detail.contains("fenced"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("readiness: not ready before the consumer owns partitions, ready once it does, not ready after they are revoked")
    func readinessFollowsAssignment() async throws {
        let service = S.service()
        let check = PartitionAssignmentCheck(service: service, patience: .milliseconds(100))
        let (events, input) = AsyncThrowingStream.makeStream(of: KafkaConsumerEvent.self)
        let intake = Task { try? await service.intake(events) }
        #expect(await check.check().ready == false)
        let partition = KafkaTopicPartition(topic: S.topics.health, partition: 0)
        input.yield(.partitionsAssigned([partition]))
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) { await check.check().ready })
        input.yield(.partitionsRevoked([partition]))
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) { await !check.check().ready })
        input.finish()
        await intake.value
    }

    @Test("a batch of messages lent by the consumer is applied exactly as the same messages one by one: streams, latency, rates and every ignored input counted")
    func batchEqualsOneByOne() {
        let now = S.wednesday
        let messages: [(topic: String, value: [UInt8])] = [
            (S.topics.ticks, S.tick(ts: now - S.second, recv: now)),
            (S.topics.health, S.ingestorHeartbeat(ts: now, lastMessage: now)),
            (S.topics.ticks, S.tick(source: "finnhub", symbol: "EUR/USD", ts: now - 2 * S.second, recv: now)),
            (S.topics.ticks, S.bytes(#"{"v":1,"kind":"trade","source":"coinbase""#)),   // truncated
            ("spec.unknown", S.tick(ts: now, recv: now)),
            (S.topics.ticks, S.tick(ts: .max, recv: now)),
            (S.topics.rejects, S.bytes(#"{"v":1,"source":"coinbase","reason":"bad_price"}"#)),
            (S.topics.ticks, S.tick(ts: now - S.second / 2, recv: now)),
        ]
        let oneByOne = S.service()
        for message in messages { oneByOne.apply(topic: message.topic, value: message.value, now: now) }

        let batched = S.service()
        let storage = messages.flatMap(\.value)
        storage.withUnsafeBytes { bytes in
            var offset = 0
            var views: [KafkaMessageView] = []
            for (index, message) in messages.enumerated() {
                views.append(KafkaMessageView(topic: message.topic, partition: 0, offset: Int64(index), key: nil,
                                              value: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + message.value.count])))
                offset += message.value.count
            }
            batched.apply(views, now: now)
        }

        for service in [oneByOne, batched] { service.evaluate(now: now) }
        #expect(batched.counters.map(\.0) == oneByOne.counters.map(\.0))
        #expect(batched.counters.map(\.1) == oneByOne.counters.map(\.1))
        for reason in [IgnoreReason.malformed, .invalidTimestamp] {
            #expect(batched.ignoredCount(reason) == oneByOne.ignoredCount(reason), "\(reason)")
        }
        #expect(batched.ignoredCount(.malformed) == 2, "the truncated tick and the unknown topic")
        #expect(batched.ignoredCount(.invalidTimestamp) == 1)
        #expect(batched.stateSizes == oneByOne.stateSizes)
        #expect(batched.stateSizes.streams == 2)
        let latency = { (service: MonitorService) in
            service.state.withLock { $0.latency.percentiles(.exchangeToReceive, source: "coinbase", now: now) }
        }
        #expect(latency(batched)?.count == 2 && latency(batched)?.count == latency(oneByOne)?.count)
        #expect(latency(batched)?.p99 == latency(oneByOne)?.p99)
    }
}
