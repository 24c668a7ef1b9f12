import CRdKafka
import Dispatch
import Logging
import Synchronization

/// What librdkafka's callbacks call into. Implemented by the producer and consumer internals.
/// Every method runs on the thread that polls the handle (never on Swift's cooperative pool).
protocol RDKafkaEventHandler: AnyObject, Sendable {
    /// One event's delivery reports (a producer's, served by ``RDKafkaClient/serveEvents(timeoutMilliseconds:maxEvents:)``):
    /// the messages of one produce response, valid only during the call.
    func delivered(_ messages: UnsafeBufferPointer<UnsafePointer<rd_kafka_message_t>?>)
    func rebalance(_ handle: OpaquePointer, _ error: rd_kafka_resp_err_t,
                   _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>)
    func clientError(_ error: rd_kafka_resp_err_t, reason: String)
}

/// The callback target reached through librdkafka's configuration opaque.
private final class RDKafkaCallbackBox {
    let logger: Logger
    weak var handler: (any RDKafkaEventHandler)?
    /// The newest statistics JSON (with `statistics.interval.ms` set), kept as librdkafka emits it.
    let statistics = Mutex<String?>(nil)
    init(logger: Logger) {
        self.logger = logger
    }

    /// A client-level error: to the handler, or logged when there is none.
    func clientError(_ code: rd_kafka_resp_err_t, reason: String) {
        if let handler {
            handler.clientError(code, reason: reason)
        } else {
            logger.warning("librdkafka error: \(reason)")
        }
    }
}

/// A thin owner of one `rd_kafka_t` handle.
///
/// Lifetime: the handle is created in `init`. The owner's poll thread calls ``destroy()`` at the end of
/// its loop, so `rd_kafka_destroy` (which blocks until librdkafka's threads stop) runs there, never on a
/// caller's thread. A client that was never polled is destroyed from ``destroyQueue`` when its last
/// reference goes. Callers other than the poll thread reach the handle through ``withHandle(_:)``, which
/// answers nil once the handle is destroyed; ``destroy()`` waits for calls in progress. The callback
/// box is retained from `rd_kafka_new` until after the destroy, so no callback can reach freed memory.
/// Logs are queued (`log.queue=true`) and served by the owner's poll loop. A producer's delivery reports
/// come as events, a produce response's reports in one (``serveEvents(timeoutMilliseconds:maxEvents:)``,
/// which serves its errors, logs and statistics too); a consumer's are served by callbacks.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    /// Only for the poll thread (and for calls inside ``withHandle(_:)``).
    let handle: OpaquePointer
    let kind: Kind
    let logger: Logger
    private let box: Unmanaged<RDKafkaCallbackBox>
    /// A producer's main queue (its events), released before the handle is destroyed.
    private let mainQueue: UnsafeTransferPointer?

    /// librdkafka's newest statistics JSON (nil until `statistics.interval.ms` has passed once, or without it).
    var latestStatistics: String? { box.takeUnretainedValue().statistics.withLock { $0 } }
    /// Topic handles by name, created once and destroyed before the client.
    private let topics = Mutex(TopicHandles())
    private let usage = Mutex(Usage())
    /// Entered by every call in progress through ``withHandle(_:)``.
    private let callsInProgress = DispatchGroup()

    private struct TopicHandles: @unchecked Sendable {
        var byName: [String: OpaquePointer] = [:]
    }

    private struct Usage {
        var destroyed = false
    }

    /// Where clients that were never polled are destroyed (off the caller's thread).
    static let destroyQueue = DispatchQueue(label: "fxstream.kafka.destroy")

    /// - Parameter queueLogs: true when the owner polls the handle (logs are then served by its poll loop);
    ///   false for handles nobody polls (admin), whose logs come straight from librdkafka's threads.
    init(kind: Kind, properties: [String: String], queueLogs: Bool = true, logger: Logger) throws {
        var properties = properties
        if queueLogs { properties["log.queue"] = "true" }
        let conf = try RDKafkaConfig.make(properties)
        let box = Unmanaged.passRetained(RDKafkaCallbackBox(logger: logger))
        rd_kafka_conf_set_opaque(conf, box.toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdkafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdkafkaErrorCallback)
        if let interval = properties["statistics.interval.ms"], interval != "0" { rd_kafka_conf_set_stats_cb(conf, rdkafkaStatisticsCallback) }
        switch kind {
        // Delivery reports as events: one per produce response (a batch), not a callback per message.
        // Its SASL/OAUTHBEARER token refreshes would come as events too: they get a queue of their own,
        // served on librdkafka's background thread (below).
        case .producer:
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR))
            rd_kafka_conf_enable_sasl_queue(conf, 1)
        case .consumer: rd_kafka_conf_set_rebalance_cb(conf, rdkafkaRebalanceCallback)
        }

        var errorBuffer = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        // rd_kafka_new takes ownership of conf on success only.
        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(conf)
            box.release()
            throw KafkaError(code: .clientCreation, message: String(errorBuffer: errorBuffer))
        }
        if queueLogs { rd_kafka_set_log_queue(handle, nil) }
        if kind == .producer, let error = rd_kafka_sasl_background_callbacks_enable(handle) {
            // "Not configured": no SASL mechanism with callbacks (OAUTHBEARER). Anything else leaves token
            // refreshes unserved: said loudly, since the broker will refuse the client once its token expires.
            if rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR__NOT_CONFIGURED {
                logger.error("kafka SASL token refreshes cannot be served: \(String(cString: rd_kafka_error_string(error)))")
            }
            rd_kafka_error_destroy(error)
        }
        self.mainQueue = kind == .producer ? rd_kafka_queue_get_main(handle).map(UnsafeTransferPointer.init) : nil
        self.handle = handle
        self.kind = kind
        self.logger = logger
        self.box = box
    }

    /// Connects librdkafka's callbacks to their handler (held weakly). Call before the first poll.
    func attach(handler: any RDKafkaEventHandler) {
        box.takeUnretainedValue().handler = handler
    }

    /// The librdkafka handle of a topic, created on first use and kept for the client's lifetime.
    func topicHandle(_ name: String) -> OpaquePointer? {
        topics.withLock { topics -> UnsafeTransferPointer? in
            if let existing = topics.byName[name] { return UnsafeTransferPointer(existing) }
            guard let created = rd_kafka_topic_new(handle, name, nil) else { return nil }
            topics.byName[name] = created
            return UnsafeTransferPointer(created)
        }?.pointer
    }

    /// Runs `body` with the handle unless it is destroyed (then nil). ``destroy()`` waits for it.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R? {
        let usable = usage.withLock { usage -> Bool in
            guard !usage.destroyed else { return false }
            callsInProgress.enter()
            return true
        }
        guard usable else { return nil }
        defer { callsInProgress.leave() }
        return try body(handle)
    }

    var isDestroyed: Bool { usage.withLock { $0.destroyed } }

    /// Destroys the handle (first call only) once the calls in progress are done. Blocks: call it on the
    /// poll thread or a queue of the client's own.
    func destroy() {
        let first = usage.withLock { usage -> Bool in
            defer { usage.destroyed = true }
            return !usage.destroyed
        }
        guard first else { return }
        callsInProgress.wait()
        Self.release(handle: UnsafeTransferPointer(handle), queue: mainQueue, topics: takeTopics(), box: box)
    }

    private func takeTopics() -> [UnsafeTransferPointer] {
        topics.withLock { topics in
            defer { topics.byName = [:] }
            return topics.byName.values.map(UnsafeTransferPointer.init)
        }
    }

    private static func release(handle: UnsafeTransferPointer, queue: UnsafeTransferPointer?, topics: [UnsafeTransferPointer],
                                box: Unmanaged<RDKafkaCallbackBox>) {
        if let queue { rd_kafka_queue_destroy(queue.pointer) }
        for topic in topics { rd_kafka_topic_destroy(topic.pointer) }
        rd_kafka_destroy(handle.pointer)
        box.release()
    }

    deinit {
        guard !isDestroyed else { return }
        // Never polled: nobody destroyed it. No call can be in progress (no reference is left).
        let handle = UnsafeTransferPointer(handle)
        let queue = mainQueue
        let topics = takeTopics()
        let box = UnsafeTransferBox(box)
        Self.destroyQueue.async { Self.release(handle: handle, queue: queue, topics: topics, box: box.box) }
    }

    /// Serves a producer's main queue (call only from its poll thread): waits up to `timeoutMilliseconds`
    /// for an event, then takes those already there, up to `maxEvents` in all. Delivery reports go to the handler one event (produce response) at a time;
    /// errors, logs and statistics are served as the callbacks serve them. Returns how many were served.
    @discardableResult
    func serveEvents(timeoutMilliseconds: Int32, maxEvents: Int = 64) -> Int {
        guard let queue = mainQueue?.pointer else { return 0 }
        var served = 0
        var timeout = timeoutMilliseconds
        while served < maxEvents, let event = rd_kafka_queue_poll(queue, timeout) {
            served += 1
            timeout = 0
            serve(event)
            rd_kafka_event_destroy(event)
        }
        return served
    }

    private func serve(_ event: OpaquePointer) {
        let target = box.takeUnretainedValue()
        switch Int32(rd_kafka_event_type(event)) {
        case RD_KAFKA_EVENT_DR:
            let count = rd_kafka_event_message_count(event)
            guard count > 0, let handler = target.handler else { return }
            withUnsafeTemporaryAllocation(of: UnsafePointer<rd_kafka_message_t>?.self, capacity: count) { messages in
                let filled = rd_kafka_event_message_array(event, messages.baseAddress, count)
                handler.delivered(UnsafeBufferPointer(rebasing: messages[..<filled]))
            }
        case RD_KAFKA_EVENT_ERROR:
            // An event carries a fatal error's underlying code; the callback gets ERR__FATAL for it.
            let code = rd_kafka_event_error_is_fatal(event) != 0 ? RD_KAFKA_RESP_ERR__FATAL : rd_kafka_event_error(event)
            let reason = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            target.clientError(code, reason: reason)
        case RD_KAFKA_EVENT_LOG:
            var facility: UnsafePointer<CChar>?
            var message: UnsafePointer<CChar>?
            var level: Int32 = 0
            if rd_kafka_event_log(event, &facility, &message, &level) == 0 {
                RDKafkaLogging.log(target.logger, level: level, facility: facility, message: message)
            }
        case RD_KAFKA_EVENT_STATS:
            if let json = rd_kafka_event_stats(event) {
                let text = String(cString: json)
                target.statistics.withLock { $0 = text }
            }
        default:
            break
        }
    }

    /// The name librdkafka gave this client instance (e.g. `rdkafka#producer-1`).
    var name: String { String(cString: rd_kafka_name(handle)) }

    /// Messages and requests not yet acknowledged by the broker (0 once destroyed).
    var outQueueLength: Int32 { withHandle { rd_kafka_outq_len($0) } ?? 0 }

    /// librdkafka's fatal error, if the instance has raised one (idempotent producer guarantees broken).
    func fatalError() -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        guard let code = withHandle({ rd_kafka_fatal_error($0, &buffer, buffer.count) }) else { return nil }
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var error = KafkaError(code: .fatal, rdkafka: code)
        error.message = String(errorBuffer: buffer)
        error.isFatal = true
        return error
    }
}

/// Carries the callback box to the destroy queue.
private struct UnsafeTransferBox: @unchecked Sendable {
    let box: Unmanaged<RDKafkaCallbackBox>
    init(_ box: Unmanaged<RDKafkaCallbackBox>) { self.box = box }
}

/// Carries a C handle across a lock boundary.
struct UnsafeTransferPointer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

private func box(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbackBox? {
    opaque.map { Unmanaged<RDKafkaCallbackBox>.fromOpaque($0).takeUnretainedValue() }
}

private let rdkafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    guard let handle, let target = box(rd_kafka_opaque(handle)) else { return }
    RDKafkaLogging.log(target.logger, level: level, facility: facility, message: message)
}

private let rdkafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, error, reason, opaque in
    guard let target = box(opaque) else { return }
    target.clientError(rd_kafka_resp_err_t(rawValue: error), reason: reason.map { String(cString: $0) } ?? "")
}

private let rdkafkaStatisticsCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, json, length, opaque in
    guard let json, let target = box(opaque) else { return 0 }
    let text = String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self)
    target.statistics.withLock { $0 = text }
    return 0   // librdkafka frees the JSON
}

private let rdkafkaRebalanceCallback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = {
    handle, error, partitions, opaque in
    guard let handle, let partitions else { return }
    guard let target = box(opaque), let handler = target.handler else {
        // Nobody to ask for offsets: fall back to plain (un)assignment so the group keeps working.
        _ = error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? rd_kafka_assign(handle, partitions) : rd_kafka_assign(handle, nil)
        return
    }
    handler.rebalance(handle, error, partitions)
}
