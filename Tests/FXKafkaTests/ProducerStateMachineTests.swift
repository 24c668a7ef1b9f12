@testable import FXKafka
import Synchronization
import Testing

/// The producer's bookkeeping: who waits for which delivery report.
@Suite("Producer state machine")
struct ProducerStateMachineTests {
    let report = KafkaDeliveryReport(topic: "t", partition: 0, offset: 5)

    @Test("a batch resumes once, with one result per message in order, whatever order the reports come in")
    func batchResults() async throws {
        var machine = ProducerStateMachine()
        let batch = ProducerBatch(count: 3)
        guard case .produce(let id) = machine.register(.batch(batch)) else { Issue.record("refused"); return }
        batch.id = id
        for index in [2, 0, 1] {
            let result: ProducerStateMachine.DeliveryResult = index == 1
                ? .failure(KafkaError(code: .delivery, message: "x", persistence: .notPersisted)) : .success(report)
            if case .batch = machine.complete(id: ProducerStateMachine.batchMessageID(batch: id, index: index), with: result) {
                Issue.record("resumed before the sender waited")
            }
        }
        let results = await withCheckedContinuation { continuation in
            machine.awaitBatch(batch, completion: .continuation(continuation)).resume()
        }
        #expect(results.count == 3)
        #expect((try? results[0].get()) == report)
        #expect((try? results[1].get()) == nil)
        #expect((try? results[2].get()) == report)
    }

    @Test("a batch with a handler: called once, by whoever records the last result, with the results in hand-over order")
    func batchHandler() {
        var machine = ProducerStateMachine()
        let batch = ProducerBatch(count: 2)
        guard case .produce(let id) = machine.register(.batch(batch)) else { Issue.record("refused"); return }
        batch.id = id
        let calls = Mutex<[[Int64?]]>([])
        let handler: @Sendable ([ProducerStateMachine.DeliveryResult]) -> Void = { results in
            calls.withLock { $0.append(results.map { try? $0.get().offset }) }
        }
        machine.awaitBatch(batch, completion: .handler(handler)).resume()
        #expect(calls.withLock { $0.isEmpty }, "not before the reports")
        machine.complete(id: ProducerStateMachine.batchMessageID(batch: id, index: 1), with: .success(report)).resume()
        #expect(calls.withLock { $0.isEmpty })
        machine.complete(id: ProducerStateMachine.batchMessageID(batch: id, index: 0),
                         with: .failure(KafkaError(code: .delivery, message: "x", persistence: .notPersisted))).resume()
        machine.complete(id: ProducerStateMachine.batchMessageID(batch: id, index: 0), with: .success(report)).resume()
        #expect(calls.withLock { $0 } == [[nil, 5]], "once, in order; a late duplicate report changes nothing")
    }

    @Test("a waiter that stops waiting gets the missing results as possibly persisted; late reports are ignored")
    func abandonedBatch() async throws {
        var machine = ProducerStateMachine()
        let batch = ProducerBatch(count: 2)
        guard case .produce(let id) = machine.register(.batch(batch)) else { Issue.record("refused"); return }
        batch.id = id
        _ = machine.complete(id: ProducerStateMachine.batchMessageID(batch: id, index: 0), with: .success(report))
        let stopped = KafkaError(code: .produce, message: "stopped waiting", persistence: .possiblyPersisted)
        let results = await withCheckedContinuation { continuation in
            batch.completion = nil
            _ = machine.abandonWait(batch, error: stopped)   // cancelled before waiting
            machine.awaitBatch(batch, completion: .continuation(continuation)).resume()
        }
        #expect((try? results[0].get()) == report)
        #expect(results[1].failureValue?.persistence == .possiblyPersisted)
        if case .batch = machine.complete(id: ProducerStateMachine.batchMessageID(batch: id, index: 1), with: .success(report)) {
            Issue.record("a late report resumed the waiter twice")
        }
    }

    @Test("once closing, new sends are refused as not persisted; a fatal error refuses them with itself")
    func refusals() {
        var machine = ProducerStateMachine()
        _ = machine.beginClosing()
        guard case .fail(let error) = machine.register(.batch(ProducerBatch(count: 1))) else { Issue.record("accepted"); return }
        #expect(error.persistence == .notPersisted)
        var fatal = ProducerStateMachine()
        fatal.recordFatal(KafkaError(code: .fatal, message: "fenced", persistence: .notPersisted))
        guard case .fail(let reason) = fatal.register(.batch(ProducerBatch(count: 1))) else { Issue.record("accepted"); return }
        #expect(reason.code == .fatal)
    }

    @Test("closing fails every send still waiting")
    func closeFailsPending() async {
        var machine = ProducerStateMachine()
        let batch = ProducerBatch(count: 2)
        guard case .produce(let id) = machine.register(.batch(batch)) else { Issue.record("refused"); return }
        batch.id = id
        let results = await withCheckedContinuation { continuation in
            machine.awaitBatch(batch, completion: .continuation(continuation)).resume()
            let error = KafkaError(code: .shutdown, message: "gone", persistence: .possiblyPersisted)
            for resumption in machine.close(failing: error) { resumption.resume() }
        }
        #expect(results.allSatisfy { $0.failureValue?.code == .shutdown })
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
