import CRdKafka
import Dispatch
import Foundation
import FXCore
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent Kafka producer (`enable.idempotence=true`, `acks=all` unless overridden).
///
/// - ``send(_:)`` resolves on the broker's delivery report: the partition and offset, or a
///   ``KafkaError`` saying whether the message may be persisted anyway.
/// - When librdkafka's local queue is full (`queue.buffering.max.messages`/`.kbytes`), `send` waits for
///   room instead of dropping.
/// - Lifetime: ``run()`` starts a dedicated thread that polls librdkafka (delivery reports, a produce
///   response's at a time, logs, errors) and, once the producer is shut down, destroys the handle at the
///   end of its loop. Run it in a `ServiceGroup` (or a task of its owner): delivery reports arrive only
///   while it runs (``shutdown(flushTimeout:)`` starts the thread of a producer that never ran). Flushes
///   run on a dispatch queue of their own: nothing here blocks Swift's cooperative pool. A producer
///   that never ran nor was shut down is destroyed off the caller's thread when its last reference goes.
/// - ``run()`` returns after graceful shutdown (it flushes first) or after ``shutdown(flushTimeout:)``.
public final class KafkaProducer: Service, Sendable {
    private let core: ProducerCore
    public let flushTimeout: Duration

    public init(configuration: KafkaConfiguration, flushTimeout: Duration = .seconds(30), logger: Logger) throws {
        self.core = try ProducerCore(properties: configuration.merged(withDefaults: KafkaConfiguration.producerDefaults),
                                     logger: logger)
        self.flushTimeout = flushTimeout
    }

    /// librdkafka's newest statistics (JSON, STATISTICS.md), when `statistics.interval.ms` is set; served
    /// by the poll thread, so only while the producer runs.
    public var statistics: String? { core.client.latestStatistics }

    /// Sends one message and waits for the broker's acknowledgement.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        while true {
            let outcome = try await withCheckedThrowingContinuation { continuation in
                if !core.enqueue(message, waiter: .single(continuation)) {
                    continuation.resume(returning: .queueFull)
                }
            }
            switch outcome {
            case .delivered(let report):
                return report
            case .queueFull:
                await core.waitForCapacity()
                try Task.checkCancellation()
            }
        }
    }

    /// Sends many messages, in order, and waits for all their delivery reports: one result per message,
    /// in the same order. Cheaper per message than concurrent ``send(_:)`` calls (no task per message).
    /// Cancelling the task stops the wait: results not in yet fail as `possibly_persisted`.
    /// Waits for queue room like `send`; if the task is cancelled meanwhile, the messages not yet
    /// handed to librdkafka fail as `not_persisted`.
    public func send(contentsOf messages: [KafkaProducerMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        var results: [Result<KafkaDeliveryReport, KafkaError>] = []
        results.reserveCapacity(messages.count)
        // Batches are registered once; each holds at most maxBatchSize messages.
        var start = 0
        while start < messages.count {
            let end = min(start + ProducerStateMachine.maxBatchSize, messages.count)
            results += await core.sendBatch(messages[start..<end])
            start = end
        }
        return results
    }

    /// Hands `messages` to librdkafka, in order, and returns without waiting for their delivery reports:
    /// await ``KafkaPendingBatch/results()`` for those. Lets one task keep several batches in flight
    /// while keeping the order in which they were handed over (per-partition order is preserved).
    /// Waits for queue room like ``send(_:)``. At most 16,777,216 messages per call.
    public func enqueue(contentsOf messages: [KafkaProducerMessage]) async -> KafkaPendingBatch {
        precondition(messages.count <= ProducerStateMachine.maxBatchSize, "batch too large")
        return KafkaPendingBatch(core: core, batch: await core.startBatch(messages[...]), count: messages.count)
    }

    /// Waits until every message sent so far is acknowledged or failed, up to `timeout`.
    public func flush(timeout: Duration) async throws {
        try await core.flush(timeout: timeout)
    }

    /// Messages not yet acknowledged, in librdkafka's queues.
    public var inFlight: Int { Int(core.client.outQueueLength) }

    /// Flushes, then fails whatever is still unacknowledged (with its persistence status) and stops polling.
    public func shutdown(flushTimeout: Duration? = nil) async {
        await core.shutdown(flushTimeout: flushTimeout ?? self.flushTimeout)
    }

    /// Polls until graceful shutdown, cancellation or ``shutdown(flushTimeout:)``; then flushes, stops
    /// polling and destroys the handle on the poll thread.
    public func run() async throws {
        core.startPolling()
        try? await cancelWhenGracefulShutdown { _ = try await self.core.stopped.wait() }
        await shutdown()
    }

    /// Polls until ``shutdown(flushTimeout:)`` (or cancellation), ignoring graceful shutdown: for an
    /// owner that still sends while it shuts down (it calls `shutdown` when it is done).
    public func runUntilShutdown() async {
        core.startPolling()
        _ = try? await core.stopped.wait()
        await shutdown()
    }
}

/// Messages handed to librdkafka by ``KafkaProducer/enqueue(contentsOf:)`` whose delivery reports are
/// still to come. Await ``results()`` exactly once.
public struct KafkaPendingBatch: Sendable {
    fileprivate let core: ProducerCore
    fileprivate let batch: ProducerBatch?
    /// How many messages the batch holds.
    public let count: Int

    /// One result per message, in the order they were handed over. Cancelling the waiting task stops
    /// the wait: results not in yet fail as `possibly_persisted`.
    public func results() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        guard let batch else { return [] }
        return await core.results(of: batch)
    }

    /// Calls `handler` once with one result per message, in hand-over order, when the last delivery
    /// report is in: on the producer's poll thread (or at once, on this thread, when they already are:
    /// an empty or refused batch, or reports that came before this call). Needs no waiting task: the
    /// handler must be quick and must not block (it delays the producer's other reports). Use either this
    /// or ``results()``, once.
    public func onResults(_ handler: @escaping @Sendable ([Result<KafkaDeliveryReport, KafkaError>]) -> Void) {
        guard let batch else { return handler([]) }
        core.onResults(of: batch, handler)
    }
}

/// The producer's internals: the librdkafka handle, the state machine and the poll thread.
final class ProducerCore: RDKafkaEventHandler, @unchecked Sendable {
    let client: RDKafkaClient
    private let state = Mutex(ProducerStateMachine())
    private let logger: Logger
    private let blockingQueue = DispatchQueue(label: "fxstream.kafka.producer.blocking")
    private let stopPolling = Atomic<Bool>(false)
    private let pollingStarted = Atomic<Bool>(false)
    /// Set when shutdown starts: batch senders stop handing messages over.
    private let closing = Atomic<Bool>(false)
    private let pollThreadDone = DispatchSemaphore(value: 0)
    /// Opened when the producer is shut down (its run() then returns).
    let stopped = AsyncLatch<Bool>()

    init(properties: [String: String], logger: Logger) throws {
        self.logger = logger
        self.client = try RDKafkaClient(kind: .producer, properties: properties, logger: logger)
    }

    /// Starts the poll thread (once; not after shutdown).
    func startPolling() {
        guard !closing.load(ordering: .acquiring), !pollingStarted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        client.attach(handler: self)
        let thread = Thread { [self] in pollLoop() }
        thread.name = "fx-kafka-producer-poll"
        thread.start()
    }

    private func pollLoop() {
        while !stopPolling.load(ordering: .acquiring) {
            client.serveEvents(timeoutMilliseconds: 100)
            let waiters = state.withLock { $0.takeCapacityWaiters() }
            for waiter in waiters { waiter.resume() }
        }
        // Serve what the final purge produced, then destroy the handle here, on the poll thread.
        while client.serveEvents(timeoutMilliseconds: 0) > 0 {}
        client.destroy()
        pollThreadDone.signal()
    }

    /// Hands a message to librdkafka with its waiter registered. Returns false when librdkafka's queue is
    /// full (nothing registered: wait for capacity and call again); every other outcome reaches the waiter.
    func enqueue(_ message: KafkaProducerMessage, waiter: ProducerStateMachine.Waiter) -> Bool {
        client.withHandle { _ in enqueueOnLiveHandle(message, waiter: waiter) } ?? {
            let error = KafkaError(code: .shutdown, message: "producer shut down", persistence: .notPersisted)
            state.withLock { _ in ProducerStateMachine.resumption(for: waiter, with: .failure(error)) }.resume()
            return true
        }()
    }

    private func enqueueOnLiveHandle(_ message: KafkaProducerMessage, waiter: ProducerStateMachine.Waiter) -> Bool {
        guard let topic = client.topicHandle(message.topic) else {
            let error = KafkaError(code: .produce, message: "librdkafka refused the topic name", persistence: .notPersisted,
                                   context: ["topic": message.topic])
            state.withLock { _ in ProducerStateMachine.resumption(for: waiter, with: .failure(error)) }.resume()
            return true
        }
        let action = state.withLock { $0.register(waiter) }
        let id: UInt
        switch action {
        case .fail(let error):
            state.withLock { _ in ProducerStateMachine.resumption(for: waiter, with: .failure(error)) }.resume()
            return true
        case .produce(let registered):
            id = registered
        }
        guard let error = produce(message, topic: topic, id: id) else { return true }
        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            rd_kafka_error_destroy(error)
            _ = state.withLock { $0.unregister(id: id) }
            return false
        }
        var kafkaError = KafkaError(code: .produce, consuming: error, context: ["topic": message.topic])
        kafkaError.persistence = .notPersisted
        state.withLock { $0.complete(id: id, with: .failure(kafkaError)) }.resume()
        return true
    }

    /// Sends a batch: one registration, one lock per message for its result, one resumption at the end.
    func sendBatch(_ messages: ArraySlice<KafkaProducerMessage>) async -> [ProducerStateMachine.DeliveryResult] {
        guard !messages.isEmpty else { return [] }
        guard let batch = await startBatch(messages) else {
            return []
        }
        return await results(of: batch)
    }

    /// Registers and hands over a batch; nil for an empty one. A batch refused at registration (producer
    /// closed) has all its results failed already.
    func startBatch(_ messages: ArraySlice<KafkaProducerMessage>) async -> ProducerBatch? {
        guard !messages.isEmpty else { return nil }
        let batch = ProducerBatch(count: messages.count)
        let batchID: UInt
        switch state.withLock({ $0.register(.batch(batch)) }) {
        case .fail(let error):
            batch.fillMissing(with: .failure(error))
            batch.refused = true
            return batch
        case .produce(let id):
            batchID = id
            batch.id = id
        }
        var topic: (name: String, handle: OpaquePointer)?
        var position = 0
        while position < messages.count {
            // As many as librdkafka takes, in one use of the handle (its topic looked up when it changes).
            let stop = client.withHandle { _ -> ProduceStop in
                while position < messages.count {
                    if Task.isCancelled || closing.load(ordering: .acquiring) { return .stopped }
                    let index = messages.startIndex + position
                    let handle: OpaquePointer
                    if let topic, topic.name == messages[index].topic {
                        handle = topic.handle
                    } else if let created = client.topicHandle(messages[index].topic) {
                        handle = created
                        topic = (messages[index].topic, created)
                    } else {
                        return .refusedTopic
                    }
                    let id = ProducerStateMachine.batchMessageID(batch: batchID, index: position)
                    if let error = produce(messages[index], topic: handle, id: id) { return .failed(error) }
                    position += 1
                }
                return .done
            }
            switch stop {
            case .done?:
                break
            case .stopped?, nil:
                let error = if case .stopped? = stop {
                    KafkaError(code: .produce, message: Task.isCancelled ? "send cancelled" : "producer is shutting down", persistence: .notPersisted)
                } else {
                    KafkaError(code: .shutdown, message: "producer shut down", persistence: .notPersisted)
                }
                for rest in position..<messages.count { settle(batch, rest, .failure(error)) }
                position = messages.count
            case .refusedTopic?:
                settle(batch, position, .failure(KafkaError(code: .produce, message: "librdkafka refused the topic name", persistence: .notPersisted,
                                                            context: ["topic": messages[messages.startIndex + position].topic])))
                position += 1
            case .failed(let error)?:
                if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    rd_kafka_error_destroy(error)
                    await waitForCapacity()
                    continue
                }
                var kafkaError = KafkaError(code: .produce, consuming: error, context: ["topic": messages[messages.startIndex + position].topic])
                kafkaError.persistence = .notPersisted
                settle(batch, position, .failure(kafkaError))
                position += 1
            }
        }
        return batch
    }

    /// Why a run of hand-overs stopped.
    private enum ProduceStop {
        case done
        /// Cancelled, or the producer is shutting down: the rest are not handed over.
        case stopped
        case refusedTopic
        case failed(OpaquePointer)
    }

    /// Waits for every result of a batch handed over by ``startBatch(_:)``.
    /// Cancelling the waiting task stops the wait: the results not in yet fail as `possibly_persisted`.
    func results(of batch: ProducerBatch) async -> [ProducerStateMachine.DeliveryResult] {
        if batch.refused { return batch.takeResults() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                state.withLock { $0.awaitBatch(batch, completion: .continuation(continuation)) }.resume()
            }
        } onCancel: {
            let error = KafkaError(code: .produce, message: "stopped waiting for the delivery report (cancelled)", persistence: .possiblyPersisted)
            state.withLock { $0.abandonWait(batch, error: error) }.resume()
        }
    }

    /// Calls `handler` with every result of a batch handed over by ``startBatch(_:)`` once they are all
    /// in: on the poll thread, or at once on this thread when they already are. It must not block.
    func onResults(of batch: ProducerBatch, _ handler: @escaping @Sendable ([ProducerStateMachine.DeliveryResult]) -> Void) {
        if batch.refused { return handler(batch.takeResults()) }
        state.withLock { $0.awaitBatch(batch, completion: .handler(handler)) }.resume()
    }

    private func settle(_ batch: ProducerBatch, _ index: Int, _ result: ProducerStateMachine.DeliveryResult) {
        state.withLock { $0.settle(batch, index: index, with: result) }.resume()
    }

    /// Enqueues into librdkafka, copying key, value and headers. Returns librdkafka's error, if any.
    private func produce(_ message: KafkaProducerMessage, topic: OpaquePointer, id: UInt) -> OpaquePointer? {
        let headers: OpaquePointer? = message.headers.isEmpty ? nil : rd_kafka_headers_new(message.headers.count)
        for header in message.headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
            }
        }
        let error: OpaquePointer? = {
            message.value.withUnsafeBytes { value in
                withOptionalBytes(message.key) { key in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { values -> OpaquePointer? in
                    values.initialize(repeating: rd_kafka_vu_t())
                    values[0].vtype = RD_KAFKA_VTYPE_RKT
                    values[0].u.rkt = topic
                    values[1].vtype = RD_KAFKA_VTYPE_VALUE
                    values[1].u.mem.ptr = message.isTombstone ? nil : UnsafeMutableRawPointer(mutating: value.baseAddress)
                    values[1].u.mem.size = message.isTombstone ? 0 : value.count
                    values[2].vtype = RD_KAFKA_VTYPE_KEY
                    values[2].u.mem.ptr = key.map { UnsafeMutableRawPointer(mutating: $0.baseAddress) } ?? nil
                    values[2].u.mem.size = key?.count ?? 0
                    values[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    values[3].u.i = RD_KAFKA_MSG_F_COPY
                    values[4].vtype = RD_KAFKA_VTYPE_OPAQUE
                    values[4].u.ptr = UnsafeMutableRawPointer(bitPattern: id)
                    values[5].vtype = RD_KAFKA_VTYPE_PARTITION
                    values[5].u.i32 = message.partition ?? RD_KAFKA_PARTITION_UA
                    values[6].vtype = RD_KAFKA_VTYPE_HEADERS
                    values[6].u.headers = headers
                    return rd_kafka_produceva(client.handle, values.baseAddress, headers == nil ? 6 : 7)
                    }
                }
            }
        }()
        // On success librdkafka owns the headers; on failure they are still ours.
        if error != nil, let headers { rd_kafka_headers_destroy(headers) }
        return error
    }

    func waitForCapacity() async {
        await withCheckedContinuation { continuation in
            let action = state.withLock { $0.waitForCapacity(continuation) }
            if case .resumeNow = action { continuation.resume() }
        }
    }

    // MARK: RDKafkaEventHandler (called on the poll thread)

    /// One produce response's reports: recorded under one lock; what they finish is resumed after it.
    func delivered(_ messages: UnsafeBufferPointer<UnsafePointer<rd_kafka_message_t>?>) {
        var reports: [DeliveryFields] = []
        reports.reserveCapacity(messages.count)
        var failed = false
        for case let message? in messages {
            let fields = DeliveryFields(message)
            failed = failed || fields.error != RD_KAFKA_RESP_ERR_NO_ERROR
            reports.append(fields)
        }
        // A failed report asks whether the instance has raised a fatal error (once per event).
        let fatal = failed ? client.fatalError() : nil
        let resumptions = state.withLock { state in
            var resumptions: [ProducerStateMachine.Resumption] = []
            if let fatal { state.recordFatal(fatal) }
            for report in reports {
                let resumption = state.complete(id: report.id, with: report.result(fatal: fatal != nil, state: &state))
                if case .none = resumption { continue }
                resumptions.append(resumption)
            }
            return resumptions
        }
        for resumption in resumptions { resumption.resume() }
    }

    func rebalance(_ handle: OpaquePointer, _ error: rd_kafka_resp_err_t,
                   _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {}

    func clientError(_ error: rd_kafka_resp_err_t, reason: String) {
        if error == RD_KAFKA_RESP_ERR__FATAL, let fatal = client.fatalError() {
            logger.critical("kafka producer fatal error: \(fatal)")
            state.withLock { $0.recordFatal(fatal) }
            return
        }
        logger.warning("kafka producer error: \(reason)",
                       metadata: ["rdkafka.error": .string(String(cString: rd_kafka_err2name(error)))])
    }

    // MARK: Shutdown

    func flush(timeout: Duration) async throws {
        let milliseconds = timeout.rdkafkaMilliseconds
        let result: rd_kafka_resp_err_t = await withCheckedContinuation { continuation in
            blockingQueue.async { [client] in
                continuation.resume(returning: client.withHandle { rd_kafka_flush($0, milliseconds) } ?? RD_KAFKA_RESP_ERR_NO_ERROR)
            }
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: .flush, rdkafka: result, context: ["in_flight": String(client.outQueueLength)])
        }
    }

    func shutdown(flushTimeout: Duration) async {
        // A producer that never ran gets its poll thread now: the flush only waits for reports, served there.
        startPolling()
        closing.store(true, ordering: .releasing)
        let waiters = state.withLock { $0.beginClosing() }
        for waiter in waiters { waiter.resume() }
        do {
            try await flush(timeout: flushTimeout)
        } catch {
            logger.error("kafka producer flush incomplete at shutdown: \(error)")
        }
        // Whatever is left fails with its persistence status via delivery reports.
        _ = client.withHandle { rd_kafka_purge($0, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)) }
        if !stopPolling.exchange(true, ordering: .acquiringAndReleasing) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                blockingQueue.async { [pollThreadDone] in
                    pollThreadDone.wait()   // the poll thread destroys the handle
                    continuation.resume()
                }
            }
        }
        let abandoned = state.withLock {
            $0.close(failing: KafkaError(code: .shutdown, message: "producer shut down before delivery",
                                         persistence: .possiblyPersisted))
        }
        for resumption in abandoned { resumption.resume() }
        stopped.open(true)
    }
}

/// What the producer keeps of one delivery report (read from librdkafka's message during the event).
private struct DeliveryFields: Sendable {
    let id: UInt
    let error: rd_kafka_resp_err_t
    let topic: UnsafeTransferPointer?
    let partition: Int32
    let offset: Int64
    let status: rd_kafka_msg_status_t

    init(_ message: UnsafePointer<rd_kafka_message_t>) {
        id = UInt(bitPattern: message.pointee._private)
        error = message.pointee.err
        topic = message.pointee.rkt.map(UnsafeTransferPointer.init)
        partition = message.pointee.partition
        offset = message.pointee.offset
        status = error == RD_KAFKA_RESP_ERR_NO_ERROR ? RD_KAFKA_MSG_STATUS_PERSISTED : rd_kafka_message_status(message)
    }

    /// The partition and offset, or the error with its persistence status.
    func result(fatal: Bool, state: inout ProducerStateMachine) -> ProducerStateMachine.DeliveryResult {
        guard error != RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .success(KafkaDeliveryReport(topic: state.topicName(topic), partition: partition, offset: offset))
        }
        var failure = KafkaError(code: .delivery, rdkafka: error,
                                 context: ["topic": state.topicName(topic), "partition": String(partition)])
        switch status {
        case RD_KAFKA_MSG_STATUS_PERSISTED: failure.persistence = .persisted
        case RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED: failure.persistence = .possiblyPersisted
        default: failure.persistence = .notPersisted
        }
        failure.isFatal = fatal
        return .failure(failure)
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
