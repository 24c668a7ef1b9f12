import FXContracts
import FXCore
import FXKafka
import Logging
import Synchronization

/// Drains the ``PublishQueue`` into Kafka with several batches in flight (handed over in queue order, so
/// per-key order holds), then accounts for every delivery report:
/// - ticks that fail become `delivery` gap events: lost event times are merged per symbol and published
///   once Kafka acknowledges again (or every `deliveryGapFlush`), so an outage is one gap, not thousands;
/// - gap events that fail are re-queued up to `gapRetryLimit` times, then logged in full at `critical`;
/// - a producer that cannot go on (fatal error, fenced producer id) is replaced by a new one;
/// - frame-to-acknowledgement latency goes to `fx_ingest_frame_to_ack_seconds` and `latencyObserver`.
/// Each producer it creates runs (polls) in a child task of ``run()``; a replaced one is shut down.
/// A batch's reports are accounted for by the producer's poll thread when the last one is in (no task
/// wakes for them). Returns once the queue is finished and every report is in; the last producer is shut
/// down (flushed).
public final class KafkaPublisher: Sendable {
    public struct Settings: Sendable {
        public var maxBatch = 2_000
        public var gapRetryLimit = 5
        public var deliveryGapFlush: Duration = .seconds(5)
        /// After handing over a batch of at least ``lingerAfter`` items (items arrive much faster than the
        /// publisher wakes: the ingestor is busy), wait this long before taking the next, so that it is
        /// bigger: fewer wake-ups, hand-overs and report settlements per tick. Smaller batches (a feed at a
        /// moderate rate) are not followed by a wait: a timer's wake-up would cost more than it saves, and
        /// the latency. Zero: never wait.
        public var linger: Duration = .milliseconds(1)
        public var lingerAfter = 8
        public init() {}
    }

    private let makeProducer: @Sendable () throws -> KafkaProducer
    private let queue: PublishQueue
    private let topics: TopicNames
    private let instance: String
    private let metrics: IngestMetrics
    private let settings: Settings
    private let logger: Logger
    private let latencyObserver: (@Sendable (Duration) -> Void)?
    private let rateLimiter = LogRateLimiter(interval: .seconds(10))
    private let needsNewProducer = Atomic<Bool>(false)
    private let lostTicks = Mutex<[PublishItem]>([])
    /// What the accounting carries from one batch's reports to the next, and the batches not yet accounted for.
    private let settlement = Mutex(Settlement())

    private struct Settlement {
        var firstLoss: ContinuousClock.Instant?
        var lastError = ""
        var outstanding = 0
        /// Set when the queue is finished: resumed when the last outstanding batch is accounted for.
        var drained: CheckedContinuation<Void, Never>?
    }

    public init(makeProducer: @escaping @Sendable () throws -> KafkaProducer, queue: PublishQueue, topics: TopicNames, instance: String,
                metrics: IngestMetrics, settings: Settings = Settings(), logger: Logger,
                latencyObserver: (@Sendable (Duration) -> Void)? = nil) {
        self.makeProducer = makeProducer
        self.queue = queue
        self.topics = topics
        self.instance = instance
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        self.latencyObserver = latencyObserver
    }

    public func run() async throws {
        let first = try makeProducer()
        await withDiscardingTaskGroup { producers in
            // The producers outlive graceful shutdown: the last gaps and heartbeat go out after it.
            producers.addTask { await first.runUntilShutdown() }
            var producer = first
            await withDiscardingTaskGroup { group in
                while let batch = await queue.next(max: settings.maxBatch) {
                    if needsNewProducer.exchange(false, ordering: .acquiringAndReleasing) {
                        do {
                            let replacement = try makeProducer()
                            producers.addTask { await replacement.runUntilShutdown() }
                            // The old one's pending reports fail (they are accounted for); stop it off this loop.
                            group.addTask { [old = producer] in await old.shutdown(flushTimeout: .seconds(2)) }
                            producer = replacement
                            logger.warning("kafka producer replaced after a fatal or fencing error")
                        } catch {
                            logger.error("cannot create a new kafka producer: \(error)")
                        }
                    }
                    let pending = await producer.enqueue(contentsOf: batch.map(\.message))
                    settlement.withLock { $0.outstanding += 1 }
                    pending.onResults { results in self.settle(batch, results) }
                    metrics.queueDepth.set(Int64(queue.count))
                    if settings.linger != .zero, batch.count >= settings.lingerAfter, batch.count < settings.maxBatch {
                        try? await Task.sleep(for: settings.linger)
                    }
                }
                await withCheckedContinuation { (drained: CheckedContinuation<Void, Never>) in
                    let done = settlement.withLock { state -> Bool in
                        if state.outstanding == 0 { return true }
                        state.drained = drained
                        return false
                    }
                    if done { drained.resume() }
                }
                finalFlush()
            }
            await producer.shutdown()
        }
    }

    /// Accounts for one batch's delivery reports (on the producer's poll thread: quick, never blocks).
    private func settle(_ items: [PublishItem], _ results: [Result<KafkaDeliveryReport, KafkaError>]) {
        let timer = metrics.frameToAck
        let now = ContinuousClock.now
        var retryGaps: [PublishItem] = []
        var firstError: KafkaError?
        var delivered = 0, lost = 0, deliveredTicks = 0, deliveredOther = 0
        // Read in place by index: an item is copied only when it is kept (a lost tick, a gap to retry).
        for index in 0..<min(items.count, results.count) {
            guard case .failure(let error) = results[index] else {
                delivered += 1
                if case .tick = items[index].kind {
                    deliveredTicks += 1
                    if let receivedAt = items[index].receivedAt {
                        let latency = now - receivedAt
                        timer.recordNanoseconds(latency.nanosecondsClamped)
                        latencyObserver?(latency)
                    }
                } else {
                    deliveredOther += 1
                }
                continue
            }
            firstError = firstError ?? error
            if error.requiresNewProducer { needsNewProducer.store(true, ordering: .releasing) }
            switch items[index].kind {
            case .tick:
                metrics.failedTicks.increment()
                lostTicks.withLock { $0.append(items[index]) }
                lost += 1
            case .gap(let gap):
                metrics.failedControl.increment()
                var retry = items[index]
                retry.attempts += 1
                if retry.attempts <= settings.gapRetryLimit {
                    retryGaps.append(retry)
                } else {
                    metrics.gapsLost.increment()
                    logger.critical("gap event could not be delivered; recorded here only",
                                    metadata: ["gap": .string(String(decoding: gap.jsonBytes(), as: UTF8.self)),
                                               "error": .string(error.description)])
                }
            case .book(let source, let symbol):
                metrics.failedControl.increment()
                metrics.booksLost.increment()
                if rateLimiter.allow() {
                    logger.error("book message not delivered: consumers see a hole in seq until the next snapshot",
                                 metadata: ["source": .string(source), "symbol": .string(symbol)])
                }
            case .reject, .health, .control, .latest:
                metrics.failedControl.increment()
            }
        }
        if deliveredTicks > 0 { metrics.deliveredTicks.increment(by: deliveredTicks) }
        if deliveredOther > 0 { metrics.deliveredControl.increment(by: deliveredOther) }
        if let firstError, rateLimiter.allow() {
            logger.error("kafka delivery failed", metadata: ["error": .string(firstError.description),
                                                              "failed_ticks": .stringConvertible(lost)])
        }
        // Kafka acknowledges again, or the outage has lasted a while: publish the merged windows.
        let (flush, detail, drained) = settlement.withLock { state in
            if let firstError {
                state.lastError = firstError.description
                if lost > 0 { state.firstLoss = state.firstLoss ?? now }
            }
            var flush = false
            if let since = state.firstLoss, (firstError == nil && delivered > 0) || now - since >= settings.deliveryGapFlush {
                flush = true
                state.firstLoss = nil
            }
            state.outstanding -= 1
            var drained: CheckedContinuation<Void, Never>?
            if state.outstanding == 0 { drained = state.drained; state.drained = nil }
            return (flush, state.lastError, drained)
        }
        if flush { retryGaps += flushDeliveryGaps(detail: detail) }
        if !retryGaps.isEmpty { queue.pushUrgent(retryGaps) }
        drained?.resume()
    }

    /// The queue is finished and every report is in: what is still pending can only be logged.
    private func finalFlush() {
        let detail = settlement.withLock { $0.lastError }
        for gap in flushDeliveryGaps(detail: detail) {
            metrics.gapsLost.increment()
            if case .gap(let event) = gap.kind {
                logger.critical("delivery gap at shutdown could not be published; recorded here only",
                                metadata: ["gap": .string(String(decoding: event.jsonBytes(), as: UTF8.self))])
            }
        }
    }

    private func flushDeliveryGaps(detail: String) -> [PublishItem] {
        let lost = lostTicks.withLock { lost -> [PublishItem] in
            defer { lost = [] }
            return lost
        }
        let gaps = DeliveryGaps.make(lost: lost, detail: detail.isEmpty ? "delivery failed" : detail, instance: instance,
                                     now: WallClock.nanoseconds())
        for gap in gaps { metrics.source(gap.source).gap(gap.reason) }
        return gaps.map { PublishItem.gap($0, topics: topics) }
    }
}
