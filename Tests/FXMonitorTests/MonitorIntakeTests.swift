import FXCore
import FXKafka
import FXMonitor
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
}
