/// The producer's bookkeeping as a value type: which sends await a delivery report and which await room
/// in librdkafka's queue. Kept behind a lock; every mutation returns what to resume, and the caller
/// resumes it outside the lock.
struct ProducerStateMachine {
    enum Phase { case running, closing, closed }

    typealias DeliveryContinuation = CheckedContinuation<ProducerSendOutcome, any Error>
    typealias CapacityContinuation = CheckedContinuation<Void, Never>
    typealias DeliveryResult = Result<KafkaDeliveryReport, KafkaError>

    /// Who waits for one message's delivery report.
    enum Waiter {
        case single(DeliveryContinuation)
        /// A whole ``ProducerBatch``: registered once; its messages carry ``batchMessageID(batch:index:)``.
        case batch(ProducerBatch)
    }

    /// Message ids with this bit set belong to a batch: bits 24...62 hold the batch's id, 0...23 the index.
    static let batchTag: UInt = 1 << 63
    static let maxBatchSize = 1 << 24

    static func batchMessageID(batch: UInt, index: Int) -> UInt {
        batchTag | (batch << 24) | UInt(index)
    }

    /// What to resume after a delivery report, outside the lock.
    enum Resumption {
        case none
        case single(DeliveryContinuation, DeliveryResult)
        case batch(ProducerBatch.Completion, [DeliveryResult])

        func resume() {
            switch self {
            case .none: break
            case .single(let continuation, .success(let report)): continuation.resume(returning: .delivered(report))
            case .single(let continuation, .failure(let error)): continuation.resume(throwing: error)
            case .batch(.continuation(let continuation), let results): continuation.resume(returning: results)
            case .batch(.handler(let handler), let results): handler(results)
            }
        }
    }

    private(set) var phase: Phase = .running
    private var nextID: UInt = 1
    private var pending: [UInt: Waiter] = [:]
    private var capacityWaiters: [CapacityContinuation] = []
    private(set) var fatal: KafkaError?
    /// Topic names for delivery reports.
    private var topicNames = RDKafkaTopicNames()

    mutating func topicName(_ handle: UnsafeTransferPointer?) -> String {
        topicNames.name(of: handle?.pointer)
    }

    enum RegisterAction {
        case produce(id: UInt)
        case fail(KafkaError)
    }

    /// Registers a waiter before its message is handed to librdkafka (the report may come at once).
    mutating func register(_ waiter: Waiter) -> RegisterAction {
        if let fatal { return .fail(fatal) }
        guard phase == .running else {
            return .fail(KafkaError(code: .shutdown, message: "producer is shutting down", persistence: .notPersisted))
        }
        let id = nextID
        nextID &+= 1
        pending[id] = waiter
        return .produce(id: id)
    }

    /// Forgets a registration whose message librdkafka did not take (queue full: it will be sent again).
    mutating func unregister(id: UInt) -> Waiter? {
        pending.removeValue(forKey: id)
    }

    /// The message with this id is finished: delivered, failed, or refused when enqueued.
    mutating func complete(id: UInt, with result: DeliveryResult) -> Resumption {
        if id & Self.batchTag != 0 {
            let batchID = (id & ~Self.batchTag) >> 24
            guard case .batch(let batch)? = pending[batchID] else { return .none }
            return finishIfDone(batch, batch.settle(index: Int(id & 0xFF_FFFF), with: result))
        }
        guard let waiter = pending.removeValue(forKey: id) else { return .none }
        return Self.resumption(for: waiter, with: result)
    }

    /// Records `result` for a single waiter that is not (or no longer) registered. Call under the lock.
    static func resumption(for waiter: Waiter, with result: DeliveryResult) -> Resumption {
        switch waiter {
        case .single(let continuation):
            return .single(continuation, result)
        case .batch(let batch):
            var last = Resumption.none
            for index in 0..<batch.count {
                let resumption = batch.settle(index: index, with: result)
                if case .batch = resumption { last = resumption }
            }
            return last
        }
    }

    /// Records the result of one batch message that never reached librdkafka.
    mutating func settle(_ batch: ProducerBatch, index: Int, with result: DeliveryResult) -> Resumption {
        finishIfDone(batch, batch.settle(index: index, with: result))
    }

    /// The sender has handed over every message of the batch and now waits for the rest (a task's
    /// continuation, or a handler the poll thread calls). A batch whose wait was abandoned (the waiting
    /// task was cancelled) resumes at once.
    mutating func awaitBatch(_ batch: ProducerBatch, completion: ProducerBatch.Completion) -> Resumption {
        batch.completion = completion
        if let abandoned = batch.abandonedWith {
            return abandonWait(batch, error: abandoned)
        }
        return finishIfDone(batch, batch.release())
    }

    /// The task waiting for the batch was cancelled: the results not in yet become `error` (their
    /// messages may still be delivered: nobody waits for their reports any more), and the waiter resumes.
    mutating func abandonWait(_ batch: ProducerBatch, error: KafkaError) -> Resumption {
        batch.abandonedWith = error
        guard let completion = batch.completion else { return .none }
        batch.completion = nil
        if let id = batch.id { pending[id] = nil }
        batch.fillMissing(with: .failure(error))
        return .batch(completion, batch.takeResults())
    }

    private mutating func finishIfDone(_ batch: ProducerBatch, _ resumption: Resumption) -> Resumption {
        if case .batch = resumption, let id = batch.id { pending[id] = nil }
        return resumption
    }

    enum WaitAction {
        case wait
        case resumeNow
    }

    mutating func waitForCapacity(_ continuation: CapacityContinuation) -> WaitAction {
        guard phase == .running else { return .resumeNow }
        capacityWaiters.append(continuation)
        return .wait
    }

    /// Called by the poll loop after serving librdkafka: every capacity waiter retries.
    mutating func takeCapacityWaiters() -> [CapacityContinuation] {
        defer { capacityWaiters = [] }
        return capacityWaiters
    }

    mutating func recordFatal(_ error: KafkaError) {
        if fatal == nil { fatal = error }
    }

    mutating func beginClosing() -> [CapacityContinuation] {
        if phase == .running { phase = .closing }
        return takeCapacityWaiters()
    }

    /// Closes for good; every send still waiting fails with `error`.
    mutating func close(failing error: KafkaError) -> [Resumption] {
        phase = .closed
        defer { pending = [:] }
        return pending.values.map { Self.resumption(for: $0, with: .failure(error)) }
    }
}

/// One ``KafkaProducer/send(contentsOf:)`` call: its results, filled under the producer's lock.
/// `remaining` counts unfinished messages plus one for the sender until it has handed over all of them.
final class ProducerBatch: @unchecked Sendable {
    typealias Continuation = CheckedContinuation<[ProducerStateMachine.DeliveryResult], Never>
    /// Who is told the results: a waiting task, or a handler run by whoever records the last result
    /// (the poll thread, as a rule), outside the lock.
    enum Completion {
        case continuation(Continuation)
        case handler(@Sendable ([ProducerStateMachine.DeliveryResult]) -> Void)
    }

    /// What a result reads before its message is finished (never handed out: ``filled`` says which are real).
    private static let unset = ProducerStateMachine.DeliveryResult.failure(
        KafkaError(code: .produce, message: "no delivery report yet", persistence: .possiblyPersisted))

    /// One per message; real where ``filled`` is set. Handed to the completion as it is (moved out, not copied).
    private(set) var results: [ProducerStateMachine.DeliveryResult]
    private var filled: [Bool]
    /// Set when the producer refused the whole batch at registration: `results` are all filled in.
    var refused = false
    var remaining: Int
    var completion: Completion?
    /// The registration id, once registered.
    var id: UInt?
    /// Set when the waiting task was cancelled: the results still missing, failed with this.
    var abandonedWith: KafkaError?

    init(count: Int) {
        results = Array(repeating: Self.unset, count: count)
        filled = Array(repeating: false, count: count)
        remaining = count + 1
    }

    var count: Int { filled.count }

    /// Every result still missing becomes `result` (the batch was refused, or its wait abandoned).
    func fillMissing(with result: ProducerStateMachine.DeliveryResult) {
        for index in filled.indices where !filled[index] {
            filled[index] = true
            results[index] = result
        }
    }

    /// The results, once all are filled in (moved out: call once).
    func takeResults() -> [ProducerStateMachine.DeliveryResult] {
        defer { results = [] }
        return results
    }

    /// Records the first result for `index` (later ones are ignored) and releases its part.
    func settle(index: Int, with result: ProducerStateMachine.DeliveryResult) -> ProducerStateMachine.Resumption {
        if filled[index] { return .none }
        filled[index] = true
        results[index] = result
        return release()
    }

    /// One part is done; returns the resumption when it was the last.
    func release() -> ProducerStateMachine.Resumption {
        remaining -= 1
        guard remaining == 0, let completion else { return .none }
        self.completion = nil
        return .batch(completion, takeResults())
    }
}

/// How one attempt to enqueue a message ended.
enum ProducerSendOutcome: Sendable {
    case delivered(KafkaDeliveryReport)
    case queueFull
}
