import FXCore
@testable import FXIngest
import FXKafka
import Testing

/// The publish queue between the connections and the Kafka publisher, as a specification.
@Suite("Publish queue: bounded, parks writers, never polls")
struct PublishQueueTests {
    func items(_ range: Range<Int>) -> [PublishItem] {
        range.map { PublishItem(message: KafkaProducerMessage(topic: "t", key: nil, value: Array("m\($0)".utf8)), kind: .health) }
    }

    func values(_ batch: [PublishItem]?) -> [String] {
        (batch ?? []).map { String(decoding: $0.message.value, as: UTF8.self) }
    }

    @Test("items come out in order, at most `max` at a time")
    func order() async {
        let queue = PublishQueue(capacity: 10)
        #expect(await queue.push(items(0..<5), maxWait: .seconds(1)).isEmpty)
        #expect(values(await queue.next(max: 3)) == ["m0", "m1", "m2"])
        #expect(values(await queue.next(max: 3)) == ["m3", "m4"])
    }

    @Test("a writer that finds the queue full waits until the consumer makes room, then nothing is dropped")
    func writerParksUntilRoom() async throws {
        let queue = PublishQueue(capacity: 2)
        async let dropped = queue.push(items(0..<5), maxWait: .seconds(10))
        var received: [String] = []
        while received.count < 5 {
            received += values(await queue.next(max: 10))
        }
        #expect(await dropped.isEmpty)
        #expect(received == ["m0", "m1", "m2", "m3", "m4"])
        #expect(queue.count == 0)
    }

    @Test("what finds no room within maxWait is handed back to the writer, after about maxWait")
    func dropsAfterMaxWait() async {
        let queue = PublishQueue(capacity: 2)
        let started = ContinuousClock.now
        let dropped = await queue.push(items(0..<3), maxWait: .milliseconds(200))
        let waited = ContinuousClock.now - started
        #expect(values(dropped) == ["m2"])
        // Not before maxWait; the upper bound only says "not parked until something else frees room" (a
        // loaded machine can wake a 200 ms timer seconds late: the full parallel run once took 7 s).
        #expect(waited >= .milliseconds(190) && waited < .seconds(30))
        #expect(queue.count == 2)
    }

    @Test("finishing releases a parked writer at once and lets the consumer drain, then ends")
    func finish() async {
        let queue = PublishQueue(capacity: 1)
        async let dropped = queue.push(items(0..<2), maxWait: .seconds(30))
        try? await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        queue.finish()
        #expect(values(await dropped) == ["m1"])
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(values(await queue.next(max: 10)) == ["m0"])
        #expect(await queue.next(max: 10) == nil)
    }

    @Test("control traffic is queued even when the queue is full")
    func urgent() async {
        let queue = PublishQueue(capacity: 1)
        _ = await queue.push(items(0..<1), maxWait: .zero)
        queue.pushUrgent(items(1..<3))
        #expect(queue.count == 3)
    }

    @Test("the state takes what fits and wakes the parked consumer")
    func stateMachine() {
        var state = PublishQueueState(capacity: 3)
        let (rest, wake) = state.push(items(0..<5)[...], force: false)
        #expect(rest.count == 2)
        #expect(wake == nil, "no consumer was parked")
        guard case .items(let batch, let writers) = state.take(max: 2) else { Issue.record("expected items"); return }
        #expect(values(batch) == ["m0", "m1"])
        #expect(writers.isEmpty)
        #expect(state.finish().isEmpty)
        guard case .items = state.take(max: 5) else { Issue.record("expected the rest"); return }
        guard case .finished = state.take(max: 5) else { Issue.record("expected the end"); return }
    }
}
