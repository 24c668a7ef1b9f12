@testable import FXBackfill
import FXKafka
import FXTestSupport
import Testing

/// The gap intake never outlives its input, and never hides why it stopped.
@Suite("Backfiller: why the gap intake stops")
struct GapIntakeStopTests {
    struct BrokerGone: Error, Equatable {
        var detail = "fatal: the transactional id was fenced"
    }

    /// The consumer's events: none, then `failure` (nil: they just end).
    static func events(failing failure: (any Error)?) -> AsyncThrowingStream<KafkaConsumerEvent, any Error> {
        AsyncThrowingStream { continuation in continuation.finish(throwing: failure) }
    }

    @Test("a consumer stream that fails hands its failure, as thrown, to the intake, which stops with it as the cause (stream_failed)")
    func failureIsTheCause() async throws {
        let queue = GapBatchQueue(capacity: 10)
        await queue.fill(from: Self.events(failing: BrokerGone()))
        guard case .ended(.failed(let failure)) = await queue.next() else { Issue.record("the stream's failure is handed over"); return }
        #expect(failure as? BrokerGone == BrokerGone())
        let stopped = try #require(GapIntakeService.Intake.stopError(.failed(failure), topic: "fx.gaps", group: "fx.backfiller",
                                                                      logger: TestEnvironment.logger("intake")))
        #expect(stopped.code == "stream_failed")
        #expect(stopped.cause as? BrokerGone == BrokerGone(), "the cause, as the consumer threw it")
        #expect(stopped.context["cause"] == "\(BrokerGone())")
        #expect(stopped.description.contains("fenced"))
    }

    @Test("a consumer stream that ends outside a shutdown stops the intake (stream_ended); a shutdown stops it without an error")
    func endWithoutShutdown() async throws {
        let queue = GapBatchQueue(capacity: 10)
        await queue.fill(from: Self.events(failing: nil))
        guard case .ended(.finished) = await queue.next() else { Issue.record("the stream's end is handed over"); return }
        let logger = TestEnvironment.logger("intake")
        #expect(GapIntakeService.Intake.stopError(.finished, topic: "fx.gaps", group: "fx.backfiller", logger: logger)?.code == "stream_ended")
        #expect(GapIntakeService.Intake.stopError(.cancelled, topic: "fx.gaps", group: "fx.backfiller", logger: logger) == nil)
    }
}
