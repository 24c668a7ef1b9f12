import CRdKafka
import Dispatch
import Foundation
import FXCore
import Logging
import ServiceLifecycle
import Synchronization

/// A consumer-group member with manual offset management.
///
/// - ``events`` yields messages and rebalance events in order, with backpressure; or, for a consumer made
///   with a handler, both go to that handler on the poll thread, in the same order (messages lent, not
///   copied), and ``events`` carries only the end.
/// - On assignment, ``KafkaRebalanceHandler/partitionsAssigned`` chooses the start offsets (e.g. offsets
///   stored in a database), and the partitions are assigned at exactly those offsets.
/// - Offsets are committed only when the caller says so (``commit(_:)``); `enable.auto.commit=false`.
/// - Lifetime: ``run()`` starts a dedicated thread that polls librdkafka (the group is joined and
///   ``events`` fill only while it runs); at the end of its loop it leaves the group and destroys the
///   handle, never on a caller's thread. Commits run on a dispatch queue of their own.
/// - ``run()`` returns after graceful shutdown or cancellation (leaving the group first), or after
///   ``close()``. A consumer that never ran is destroyed off the caller's thread.
public final class KafkaConsumer: Service, Sendable {
    private let core: ConsumerCore
    public let events: KafkaConsumerEvents

    /// - Parameters:
    ///   - groupID: `group.id`.
    ///   - topics: topics to subscribe to.
    ///   - rebalanceHandler: where start offsets come from; nil uses committed offsets.
    ///   - bufferCapacity: events held for the caller before the poll thread waits.
    public convenience init(configuration: KafkaConfiguration, groupID: String, topics: [String],
                            rebalanceHandler: KafkaRebalanceHandler? = nil, bufferCapacity: Int = 10_000, logger: Logger) throws {
        try self.init(configuration: configuration, groupID: groupID, topics: topics, rebalanceHandler: rebalanceHandler,
                      bufferCapacity: bufferCapacity, logger: logger, handler: nil)
    }

    /// A consumer that gives everything to `handler` on the poll thread, in the order it happened:
    /// messages in batches (up to 512, in the order taken from librdkafka), lent for the call
    /// (``KafkaMessageView``: no copy of a key, value or headers, no hand-off to a task), and the
    /// rebalance events between them (``KafkaConsumerDelivery``). ``events`` then carries only the end
    /// (with the error, when the consumer failed).
    ///
    /// The order is the one ``events`` gives: an assignment comes before the messages of the partitions it
    /// assigned; ``KafkaRebalanceHandler`` runs first, as for ``events``. The handler runs on the poll
    /// thread: while it runs (or waits) the consumer takes no more messages, which is its backpressure;
    /// it must not call this consumer's blocking operations, and must return within
    /// `max.poll.interval.ms` (librdkafka's default 5 minutes) or the group counts the consumer gone.
    public convenience init(configuration: KafkaConfiguration, groupID: String, topics: [String],
                            rebalanceHandler: KafkaRebalanceHandler? = nil, logger: Logger,
                            handler: @escaping @Sendable (KafkaConsumerDelivery) -> Void) throws {
        try self.init(configuration: configuration, groupID: groupID, topics: topics, rebalanceHandler: rebalanceHandler,
                      bufferCapacity: 16, logger: logger, handler: handler)
    }

    private init(configuration: KafkaConfiguration, groupID: String, topics: [String], rebalanceHandler: KafkaRebalanceHandler?,
                 bufferCapacity: Int, logger: Logger, handler: (@Sendable (KafkaConsumerDelivery) -> Void)?) throws {
        var properties = configuration.merged(withDefaults: KafkaConfiguration.consumerDefaults)
        properties["group.id"] = groupID
        let buffer = BackpressuredBuffer<KafkaConsumerEvent>(capacity: bufferCapacity)
        self.core = try ConsumerCore(properties: properties, topics: topics, rebalanceHandler: rebalanceHandler,
                                     buffer: buffer, handler: handler, logger: logger)
        self.events = KafkaConsumerEvents(buffer: buffer)
    }

    /// Commits the given next-offsets-to-read for the group (synchronously with the broker).
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws {
        try await core.commit(offsets)
    }

    /// Commits past `message` (its offset + 1).
    public func commit(_ message: KafkaConsumerMessage) async throws {
        try await core.commit([message.topicPartition: message.offset + 1])
    }

    /// The group's committed offsets for these partitions (nil where none is committed).
    public func committedOffsets(for partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws -> [KafkaTopicPartition: Int64?] {
        try await core.committed(partitions, timeout: timeout)
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws -> [KafkaTopicPartition] {
        try core.assignment()
    }

    /// The partition's high watermark (next offset to be written) as last seen by fetches: a local cached
    /// value, no broker round trip (nil until a fetch reported it). For lag: high watermark - next offset.
    public func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? {
        core.cachedHighWatermark(partition)
    }

    /// Lag per assigned partition, from local state only (no broker round trip): the consumer's position
    /// and the cached high watermark. Empty when nothing is assigned or the handle is gone.
    public func lag() -> [KafkaPartitionLag] {
        core.lag()
    }

    /// Stops fetching these partitions until ``resume(_:)``.
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try core.pauseOrResume(partitions, pause: true)
    }

    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try core.pauseOrResume(partitions, pause: false)
    }

    /// Leaves the group (revoking partitions through the handler) and ends ``events``.
    public func close() async {
        await core.close()
    }

    /// Polls until graceful shutdown, cancellation or ``close()``; then leaves the group and destroys
    /// the handle on the poll thread.
    public func run() async throws {
        core.startPolling()
        try? await cancelWhenGracefulShutdown { _ = try await self.core.stopped.wait() }
        await close()
    }
}

/// The consumer's internals: the librdkafka handle, its poll thread and the event buffer.
final class ConsumerCore: RDKafkaEventHandler, @unchecked Sendable {
    private let client: RDKafkaClient
    private let rebalanceHandler: KafkaRebalanceHandler?
    private let buffer: BackpressuredBuffer<KafkaConsumerEvent>
    private let logger: Logger
    private let blockingQueue = DispatchQueue(label: "fxstream.kafka.consumer.blocking")
    private let closing = Atomic<Bool>(false)
    private let pollingStarted = Atomic<Bool>(false)
    private let closed = DispatchSemaphore(value: 0)
    private let topics: [String]
    private let pastEnd: PastEndOffsets
    /// Set: messages (lent) and rebalance events go here, on the poll thread, instead of into ``buffer``.
    private let handler: (@Sendable (KafkaConsumerDelivery) -> Void)?
    /// Opened when the consumer has left the group and its handle is destroyed.
    let stopped = AsyncLatch<Bool>()

    init(properties: [String: String], topics: [String], rebalanceHandler: KafkaRebalanceHandler?,
         buffer: BackpressuredBuffer<KafkaConsumerEvent>, handler: (@Sendable (KafkaConsumerDelivery) -> Void)? = nil,
         logger: Logger) throws {
        self.client = try RDKafkaClient(kind: .consumer, properties: properties, logger: logger)
        self.rebalanceHandler = rebalanceHandler
        self.handler = handler
        self.buffer = buffer
        self.logger = logger
        self.topics = topics
        self.pastEnd = PastEndOffsets(properties: properties)
        // Route the main queue (logs, errors) into the consumer queue served by rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(client.handle)
        let list = RDKafkaTopicPartitionList(capacity: topics.count)
        for topic in topics { list.add(KafkaTopicPartition(topic: topic, partition: RD_KAFKA_PARTITION_UA), offset: 0) }
        let result = rd_kafka_subscribe(client.handle, list.pointer)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: .subscribe, rdkafka: result, context: ["topics": topics.joined(separator: ",")])
        }
    }

    /// Starts the poll thread (once; not after close).
    func startPolling() {
        guard !shouldStop, !pollingStarted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        client.attach(handler: self)
        let thread = Thread { [self] in pollLoop() }
        thread.name = "fx-kafka-consumer-poll"
        thread.start()
    }

    private var shouldStop: Bool { closing.load(ordering: .acquiring) }

    /// Events gathered by the poll thread (messages and rebalances, in order) before one hand-off.
    private var gathered: [KafkaConsumerEvent] = []
    private static let gatherLimit = 512

    /// Inside `rd_kafka_consume_batch_queue` (poll thread only). A rebalance served there comes after
    /// the batch's messages taken before it, which are not handed out yet: its event waits here and goes
    /// out after them (and before the messages of the partitions it assigned).
    private var takingBatch = false
    private var deferredEvents: [KafkaConsumerEvent] = []
    private var assignedInBatch = Set<KafkaTopicPartition>()

    /// Takes messages in batches (`rd_kafka_consume_batch_queue` on the consumer queue, which serves
    /// rebalances and logs through their callbacks like `rd_kafka_consumer_poll`): without waiting
    /// while any are ready, waiting (up to 100 ms) for one only when none is, so a batch never holds a
    /// message back to fill up.
    ///
    /// Taking up to 512 messages per call instead of one per `rd_kafka_consumer_poll` (one queue lock
    /// and wake-up each) took this bridge from 0.46-0.70 of a raw poll loop to 0.76-0.93 (BENCHMARKS.md).
    private func pollLoop() {
        let queue = rd_kafka_queue_get_consumer(client.handle)
        let slots = UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: Self.gatherLimit)
        defer { slots.deallocate() }
        while !shouldStop {
            takingBatch = true
            var count = rd_kafka_consume_batch_queue(queue, 0, slots.baseAddress, max(1, Self.gatherLimit - gathered.count))
            if count <= 0, deferredEvents.isEmpty {
                if !gathered.isEmpty {
                    takingBatch = false
                    handOver()
                    continue
                }
                count = rd_kafka_consume_batch_queue(queue, 100, slots.baseAddress, 1)
            }
            takingBatch = false
            let batch = UnsafeMutableBufferPointer(rebasing: slots[0..<max(count, 0)])
            if deferredEvents.isEmpty {
                forward(batch)
            } else {
                // A rebalance happened during the call: messages of partitions it did not assign were taken
                // before it; those of partitions it assigned, after it.
                let assigned = assignedInBatch
                forward(batch) { !assigned.contains($0) }
                deliver(deferredEvents)
                forward(batch, errors: false) { assigned.contains($0) }
                deferredEvents.removeAll()
                assignedInBatch.removeAll()
                handOver()
            }
            for message in batch { if let message { rd_kafka_message_destroy(message) } }
            if gathered.count >= Self.gatherLimit { handOver() }
        }
        rd_kafka_queue_destroy(queue)
        // Leaves the group: serves the final revoke through rebalance() on this thread.
        let result = rd_kafka_consumer_close(client.handle)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("kafka consumer close: \(String(cString: rd_kafka_err2str(result)))")
        }
        handOver()
        buffer.finish()
        client.destroy()
        closed.signal()
        stopped.open(true)
    }

    /// Views of the batch's messages, reused from call to call (poll thread only).
    private var views: [KafkaMessageView] = []

    /// Passes on the batch's messages whose partition passes `include` (all when nil), in the order taken:
    /// lent to the handler as one call, or copied into the gathered events. With `errors`, handles the
    /// batch's error events.
    private func forward(_ batch: UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>, errors: Bool = true,
                         where include: ((KafkaTopicPartition) -> Bool)? = nil) {
        for case let message? in batch {
            let m = message.pointee
            guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                if errors { handleConsumeError(message) }
                continue
            }
            let topic = topicNames.name(of: m.rkt)
            if let include, !include(KafkaTopicPartition(topic: topic, partition: m.partition)) { continue }
            if handler == nil {
                gathered.append(.message(copy(message, topic: topic)))
            } else {
                views.append(KafkaMessageView(
                    topic: topic, partition: m.partition, offset: m.offset,
                    key: m.key.map { UnsafeRawBufferPointer(start: $0, count: m.key_len) },
                    value: UnsafeRawBufferPointer(start: m.payload, count: m.payload == nil ? 0 : m.len),
                    isTombstone: m.payload == nil))
            }
        }
        guard let handler, !views.isEmpty else { return }
        handler(.messages(views))
        views.removeAll(keepingCapacity: true)
    }

    /// Rebalance events, at once: to the handler, or handed over to the caller's buffer.
    private func deliver(_ events: [KafkaConsumerEvent]) {
        if let handler {
            for event in events { handler(.event(event)) }
        } else {
            gathered.append(contentsOf: events)
            handOver()
        }
    }

    /// Rebalance events: after the messages taken before them (inside a batch call), else at once, to the
    /// handler or the caller's buffer.
    private func emit(_ events: [KafkaConsumerEvent], assigned: [KafkaTopicPartition] = [], revoked: [KafkaTopicPartition] = []) {
        if takingBatch {
            deferredEvents.append(contentsOf: events)
            assignedInBatch.formUnion(assigned)
            assignedInBatch.subtract(revoked)
        } else {
            deliver(events)
        }
    }

    /// Pushes the gathered events, waiting while the caller's buffer is full.
    private func handOver() {
        guard !gathered.isEmpty else { return }
        _ = buffer.push(taking: &gathered, shouldStop: { self.shouldStop })
    }

    private func handleConsumeError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let code = message.pointee.err
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
        if let fatal = client.fatalError() {
            logger.critical("kafka consumer fatal error: \(fatal)")
            handOver()
            buffer.finish(error: fatal)
            closing.store(true, ordering: .releasing)
            return
        }
        var context: [String: String] = [:]
        if let topic = message.pointee.rkt { context["topic"] = String(cString: rd_kafka_topic_name(topic)) }
        logger.warning("kafka consume error: \(KafkaError(code: .consume, rdkafka: code, context: context))")
    }

    /// Topic names by handle; touched by the poll thread only.
    private var topicNames = RDKafkaTopicNames()

    private func copy(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> KafkaConsumerMessage {
        let m = message.pointee
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        var copied = KafkaConsumerMessage(
            topic: topic,
            partition: m.partition, offset: m.offset, key: key, value: value, headers: headers,
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
        copied.isTombstone = m.payload == nil
        return copied
    }

    // MARK: RDKafkaEventHandler (called on the poll thread)

    func delivered(_ messages: UnsafeBufferPointer<UnsafePointer<rd_kafka_message_t>?>) {}

    func clientError(_ error: rd_kafka_resp_err_t, reason: String) {
        logger.warning("kafka consumer error: \(reason)",
                       metadata: ["rdkafka.error": .string(String(cString: rd_kafka_err2name(error)))])
    }

    func rebalance(_ handle: OpaquePointer, _ error: rd_kafka_resp_err_t,
                   _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let partitions = RDKafkaTopicPartitionList.partitions(of: list).map(\.0).sorted()
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            var skipped: [KafkaLogStartSkip] = []
            if let handler = rebalanceHandler, !shouldStop {
                switch BlockingBridge.wait({ try await handler.partitionsAssigned(partitions) }) {
                case .success(let offsets):
                    let checked = pastEnd.checked(offsets, handle: handle, logger: logger)
                    RDKafkaTopicPartitionList.setOffsets(checked.offsets, on: list)
                    skipped = checked.belowLogStart
                case .failure(let failure):
                    logger.error("rebalance handler failed to choose offsets; stopping consumer: \(failure)")
                    handOver()
                    buffer.finish(error: KafkaError(code: .rebalance, message: "rebalance handler failed: \(failure)"))
                    closing.store(true, ordering: .releasing)
                    return
                }
            } else if !shouldStop {
                // Committed offsets: librdkafka would fall back to auto.offset.reset below the log start
                // without a word; the same check reports the skipped range.
                let checked = pastEnd.checked(PastEndOffsets.committed(partitions, handle: handle), handle: handle, logger: logger)
                RDKafkaTopicPartitionList.setOffsets(checked.offsets, on: list)
                skipped = checked.belowLogStart
            }
            let result = cooperative ? takeError(rd_kafka_incremental_assign(handle, list)) : rd_kafka_assign(handle, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.error("kafka assign failed: \(KafkaError(code: .rebalance, rdkafka: result))")
            }
            logger.info("kafka partitions assigned", metadata: ["partitions": .string(partitions.map(\.description).joined(separator: ","))])
            let assignedEvents: [KafkaConsumerEvent] = [.partitionsAssigned(partitions)] + (skipped.isEmpty ? [] : [.offsetsBelowLogStart(skipped)])
            emit(assignedEvents, assigned: partitions)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if let handler = rebalanceHandler {
                _ = BlockingBridge.wait({ await handler.partitionsRevoked(partitions) })
            }
            _ = cooperative ? takeError(rd_kafka_incremental_unassign(handle, list)) : rd_kafka_assign(handle, nil)
            logger.info("kafka partitions revoked", metadata: ["partitions": .string(partitions.map(\.description).joined(separator: ","))])
            emit([.partitionsRevoked(partitions)], revoked: partitions)
        default:
            logger.error("kafka rebalance error: \(KafkaError(code: .rebalance, rdkafka: error))")
            _ = rd_kafka_assign(handle, nil)
        }
    }

    private func takeError(_ error: OpaquePointer?) -> rd_kafka_resp_err_t {
        guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
        defer { rd_kafka_error_destroy(error) }
        return rd_kafka_error_code(error)
    }

    // MARK: Caller operations

    func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        let result: rd_kafka_resp_err_t = await withCheckedContinuation { continuation in
            blockingQueue.async { [client] in
                let list = RDKafkaTopicPartitionList(Array(offsets.keys), offsets: offsets)
                continuation.resume(returning: client.withHandle { rd_kafka_commit($0, list.pointer, 0) } ?? RD_KAFKA_RESP_ERR__DESTROY)
            }
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: .commit, rdkafka: result)
        }
    }

    func committed(_ partitions: [KafkaTopicPartition], timeout: Duration) async throws -> [KafkaTopicPartition: Int64?] {
        let milliseconds = timeout.rdkafkaMilliseconds
        let outcome: Result<[KafkaTopicPartition: Int64?], KafkaError> = await withCheckedContinuation { continuation in
            blockingQueue.async { [client] in
                let list = RDKafkaTopicPartitionList(partitions)
                let result = client.withHandle { rd_kafka_committed($0, list.pointer, milliseconds) } ?? RD_KAFKA_RESP_ERR__DESTROY
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    continuation.resume(returning: .failure(KafkaError(code: .commit, rdkafka: result)))
                    return
                }
                var offsets: [KafkaTopicPartition: Int64?] = [:]
                for (partition, offset, _) in RDKafkaTopicPartitionList.partitions(of: list.pointer) {
                    offsets[partition] = offset >= 0 ? offset : nil
                }
                continuation.resume(returning: .success(offsets))
            }
        }
        return try outcome.get()
    }

    func cachedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? {
        var low: Int64 = -1, high: Int64 = -1
        let result = client.withHandle { rd_kafka_get_watermark_offsets($0, partition.topic, partition.partition, &low, &high) }
        return result == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    func assignment() throws -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let result = client.withHandle { rd_kafka_assignment($0, &list) } ?? RD_KAFKA_RESP_ERR__DESTROY
        defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: .consume, rdkafka: result) }
        return RDKafkaTopicPartitionList.partitions(of: list).map(\.0).sorted()
    }

    func lag() -> [KafkaPartitionLag] {
        guard let partitions = try? assignment(), !partitions.isEmpty else { return [] }
        let list = RDKafkaTopicPartitionList(partitions)
        let result = client.withHandle { rd_kafka_position($0, list.pointer) } ?? RD_KAFKA_RESP_ERR__DESTROY
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { return [] }
        return RDKafkaTopicPartitionList.partitions(of: list.pointer).map { partition, offset, _ in
            KafkaPartitionLag(partition: partition, position: offset >= 0 ? offset : nil, highWatermark: cachedHighWatermark(partition))
        }
    }

    func pauseOrResume(_ partitions: [KafkaTopicPartition], pause: Bool) throws {
        let list = RDKafkaTopicPartitionList(partitions)
        let result = client.withHandle { pause ? rd_kafka_pause_partitions($0, list.pointer) : rd_kafka_resume_partitions($0, list.pointer) }
            ?? RD_KAFKA_RESP_ERR__DESTROY
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: .consume, rdkafka: result) }
    }

    func close() async {
        closing.store(true, ordering: .releasing)
        let polled = pollingStarted.exchange(true, ordering: .acquiringAndReleasing)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            blockingQueue.async { [self] in
                if !polled {
                    // Never ran: leave (nothing was joined) and destroy here, off the caller's thread.
                    _ = client.withHandle { rd_kafka_consumer_close($0) }
                    buffer.finish()
                    client.destroy()
                    closed.signal()
                    stopped.open(true)
                }
                closed.wait()
                closed.signal() // let a second close() through too
                continuation.resume()
            }
        }
    }
}
