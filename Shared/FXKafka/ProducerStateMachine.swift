/// The producer's bookkeeping as a value type: which sends await a delivery report and which await room
/// in librdkafka's queue. Kept behind a lock; every mutation returns what to resume, and the caller
/// resumes it outside the lock.
struct ProducerStateMachine {
    enum Phase { case running, closing, closed }

    typealias DeliveryContinuation = CheckedContinuation<ProducerSendOutcome, Error>
    typealias CapacityContinuation = CheckedContinuation<Void, Never>

    private(set) var phase: Phase = .running
    private var nextID: UInt = 1
    private var pending: [UInt: DeliveryContinuation] = [:]
    private var capacityWaiters: [CapacityContinuation] = []
    private(set) var fatal: KafkaError?

    var pendingCount: Int { pending.count }

    enum RegisterAction {
        case produce(id: UInt)
        case fail(KafkaError)
    }

    mutating func register(_ continuation: DeliveryContinuation) -> RegisterAction {
        if let fatal { return .fail(fatal) }
        guard phase == .running else {
            return .fail(KafkaError(code: .shutdown, message: "producer is shutting down", persistence: .notPersisted))
        }
        let id = nextID
        nextID &+= 1
        pending[id] = continuation
        return .produce(id: id)
    }

    /// The send with this id is finished (delivered, failed or not enqueued).
    mutating func complete(id: UInt) -> DeliveryContinuation? {
        pending.removeValue(forKey: id)
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

    /// Closes for good; returns sends still waiting, which the caller fails.
    mutating func close() -> [DeliveryContinuation] {
        phase = .closed
        defer { pending = [:] }
        return Array(pending.values)
    }
}

/// How one attempt to enqueue a message ended.
enum ProducerSendOutcome: Sendable {
    case delivered(KafkaDeliveryReport)
    case queueFull
}
