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
/// Returns once the queue is finished and every report is in; the last producer is shut down (flushed).
public final class KafkaPublisher: Sendable {
    public struct Settings: Sendable {
        public var maxBatch = 2_000
        public var gapRetryLimit = 5
        public var deliveryGapFlush: Duration = .seconds(5)
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
        let (reports, continuation) = AsyncStream.makeStream(of: InFlight.self)
        await withDiscardingTaskGroup { producers in
            // The producers outlive graceful shutdown: the last gaps and heartbeat go out after it.
            producers.addTask { await first.runUntilShutdown() }
            var producer = first
            await withDiscardingTaskGroup { group in
                group.addTask { await self.settle(reports) }
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
                    continuation.yield(InFlight(items: batch, pending: pending))
                    metrics.queueDepth.set(Int64(queue.count))
                }
                continuation.finish()
            }
            await producer.shutdown()
        }
    }

    struct InFlight: Sendable {
        var items: [PublishItem]
        var pending: KafkaPendingBatch
    }

    private func settle(_ reports: AsyncStream<InFlight>) async {
        let timer = metrics.frameToAck
        let deliveredTicks = metrics.deliveredTicks, failedTicks = metrics.failedTicks
        let deliveredOther = metrics.deliveredControl, failedOther = metrics.failedControl
        var firstLoss: ContinuousClock.Instant?
        var lastError = ""
        for await inFlight in reports {
            let results = await inFlight.pending.results()
            let now = ContinuousClock.now
            var retryGaps: [PublishItem] = []
            var firstError: KafkaError?
            var delivered = 0, lost = 0
            for (item, result) in zip(inFlight.items, results) {
                switch result {
                case .success:
                    delivered += 1
                    if case .tick = item.kind {
                        deliveredTicks.increment()
                        if let receivedAt = item.receivedAt {
                            let latency = now - receivedAt
                            timer.recordNanoseconds(latency.nanosecondsClamped)
                            latencyObserver?(latency)
                        }
                    } else {
                        deliveredOther.increment()
                    }
                case .failure(let error):
                    firstError = firstError ?? error
                    if error.requiresNewProducer { needsNewProducer.store(true, ordering: .releasing) }
                    switch item.kind {
                    case .tick:
                        failedTicks.increment()
                        lostTicks.withLock { $0.append(item) }
                        lost += 1
                    case .gap(let gap):
                        failedOther.increment()
                        var retry = item
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
                        failedOther.increment()
                        metrics.booksLost.increment()
                        if rateLimiter.allow() {
                            logger.error("book message not delivered: consumers see a hole in seq until the next snapshot",
                                         metadata: ["source": .string(source), "symbol": .string(symbol)])
                        }
                    case .reject, .health, .control, .latest:
                        failedOther.increment()
                    }
                }
            }
            if let firstError {
                lastError = firstError.description
                if lost > 0 { firstLoss = firstLoss ?? now }
                if rateLimiter.allow() {
                    logger.error("kafka delivery failed", metadata: ["error": .string(firstError.description),
                                                                      "failed_ticks": .stringConvertible(lost)])
                }
            }
            // Kafka acknowledges again, or the outage has lasted a while: publish the merged windows.
            if let since = firstLoss, (firstError == nil && delivered > 0) || now - since >= settings.deliveryGapFlush {
                retryGaps += flushDeliveryGaps(detail: lastError)
                firstLoss = nil
            }
            if !retryGaps.isEmpty { queue.pushUrgent(retryGaps) }
        }
        // The queue is finished: what is still pending can only be logged.
        for gap in flushDeliveryGaps(detail: lastError) {
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
