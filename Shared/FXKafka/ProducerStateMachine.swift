/// The producer's bookkeeping as a value type: which sends await a delivery report and which await room
/// in librdkafka's queue. Kept behind a lock; every mutation returns what to resume, and the caller
/// resumes it outside the lock.
struct ProducerStateMachine {
    enum Phase { case running, closing, closed }

    typealias DeliveryContinuation = CheckedContinuation<ProducerSendOutcome, Error>
    typealias CapacityContinuation = CheckedContinuation<Void, Never>
    typealias DeliveryResult = Result<KafkaDeliveryReport, KafkaError>

    /// Who waits for one message's delivery report.
    enum Waiter {
        case single(DeliveryContinuation)
        case batch(ProducerBatch, index: Int)
    }

    /// What to resume after a delivery report, outside the lock.
    enum Resumption {
        case none
        case single(DeliveryContinuation, DeliveryResult)
        case batch(ProducerBatch.Continuation, [DeliveryResult])

        func resume() {
            switch self {
            case .none: break
            case .single(let continuation, .success(let report)): continuation.resume(returning: .delivered(report))
            case .single(let continuation, .failure(let error)): continuation.resume(throwing: error)
            case .batch(let continuation, let results): continuation.resume(returning: results)
            }
        }
    }

    private(set) var phase: Phase = .running
    private var nextID: UInt = 1
    private var pending: [UInt: Waiter] = [:]
    private var capacityWaiters: [CapacityContinuation] = []
    private(set) var fatal: KafkaError?

    var pendingCount: Int { pending.count }

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
        guard let waiter = pending.removeValue(forKey: id) else { return .none }
        return Self.resumption(for: waiter, with: result)
    }

    /// Records `result` for a waiter that is not (or no longer) registered. Call under the lock.
    static func resumption(for waiter: Waiter, with result: DeliveryResult) -> Resumption {
        switch waiter {
        case .single(let continuation):
            return .single(continuation, result)
        case .batch(let batch, let index):
            batch.results[index] = result
            return batch.release()
        }
    }

    /// The sender has handed over every message of the batch and now waits for the rest.
    mutating func awaitBatch(_ batch: ProducerBatch, continuation: ProducerBatch.Continuation) -> Resumption {
        batch.continuation = continuation
        return batch.release()
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

    var results: [ProducerStateMachine.DeliveryResult?]
    var remaining: Int
    var continuation: Continuation?

    init(count: Int) {
        results = Array(repeating: nil, count: count)
        remaining = count + 1
    }

    /// One part is done; returns the resumption when it was the last.
    func release() -> ProducerStateMachine.Resumption {
        remaining -= 1
        guard remaining == 0, let continuation else { return .none }
        self.continuation = nil
        return .batch(continuation, results.map { $0! })
    }
}

/// How one attempt to enqueue a message ended.
enum ProducerSendOutcome: Sendable {
    case delivered(KafkaDeliveryReport)
    case queueFull
}
