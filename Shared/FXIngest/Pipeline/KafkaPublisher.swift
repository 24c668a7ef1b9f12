import FXCore
import FXKafka
import Logging

/// Drains the ``PublishQueue`` into Kafka with several batches in flight (handed over in queue order, so
/// per-key order holds), then accounts for every delivery report:
/// - ticks that fail become `delivery` gap events (one per symbol, covering the lost event times);
/// - gap events that fail are re-queued up to `gapRetryLimit` times, then logged in full at `critical`;
/// - frame-to-acknowledgement latency goes to `fx_ingest_frame_to_ack_seconds` and `latencyObserver`.
/// Returns once the queue is finished and every report is in.
public final class KafkaPublisher: Sendable {
    public struct Settings: Sendable {
        public var maxBatch = 2_000
        public var gapRetryLimit = 5
        public init() {}
    }

    private let producer: KafkaProducer
    private let queue: PublishQueue
    private let topics: TopicNames
    private let instance: String
    private let counters: IngestCounters
    private let metrics: IngestMetrics
    private let settings: Settings
    private let logger: Logger
    private let latencyObserver: (@Sendable (Duration) -> Void)?
    private let rateLimiter = LogRateLimiter(interval: .seconds(10))

    public init(producer: KafkaProducer, queue: PublishQueue, topics: TopicNames, instance: String, counters: IngestCounters,
                metrics: IngestMetrics, settings: Settings = Settings(), logger: Logger,
                latencyObserver: (@Sendable (Duration) -> Void)? = nil) {
        self.producer = producer
        self.queue = queue
        self.topics = topics
        self.instance = instance
        self.counters = counters
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        self.latencyObserver = latencyObserver
    }

    public func run() async {
        let (reports, continuation) = AsyncStream.makeStream(of: InFlight.self)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.settle(reports) }
            let depth = metrics.queueDepth
            while let batch = await queue.next(max: settings.maxBatch) {
                let pending = await producer.enqueue(contentsOf: batch.map(\.message))
                continuation.yield(InFlight(items: batch, pending: pending))
                depth.record(queue.count)
            }
            continuation.finish()
        }
    }

    struct InFlight: Sendable {
        var items: [PublishItem]
        var pending: KafkaPendingBatch
    }

    private func settle(_ reports: AsyncStream<InFlight>) async {
        let timer = metrics.frameToAck
        let deliveredTicks = metrics.delivered("ticks"), failedTicks = metrics.deliveryFailures("ticks")
        let deliveredOther = metrics.delivered("control"), failedOther = metrics.deliveryFailures("control")
        for await inFlight in reports {
            let results = await inFlight.pending.results()
            let now = ContinuousClock.now
            var lostTicks: [PublishItem] = []
            var retryGaps: [PublishItem] = []
            var firstError: KafkaError?
            var delivered = 0
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
                    counters.deliveryFailures.add(1, ordering: .relaxed)
                    switch item.kind {
                    case .tick:
                        failedTicks.increment()
                        lostTicks.append(item)
                    case .gap(let gap):
                        failedOther.increment()
                        var retry = item
                        retry.attempts += 1
                        if retry.attempts <= settings.gapRetryLimit {
                            retryGaps.append(retry)
                        } else {
                            counters.gapsLost.add(1, ordering: .relaxed)
                            logger.critical("gap event could not be delivered; recorded here only",
                                            metadata: ["gap": .string(String(decoding: gap.jsonBytes(), as: UTF8.self)),
                                                       "error": .string(error.description)])
                        }
                    case .reject, .health:
                        failedOther.increment()
                    }
                }
            }
            counters.delivered.add(delivered, ordering: .relaxed)
            if let firstError {
                if rateLimiter.allow() {
                    logger.error("kafka delivery failed", metadata: ["error": .string(firstError.description),
                                                                      "failed_ticks": .stringConvertible(lostTicks.count)])
                }
            }
            if !lostTicks.isEmpty {
                let gaps = DeliveryGaps.make(lost: lostTicks, detail: firstError?.description ?? "delivery failed",
                                             instance: instance, now: WallClock.nanoseconds())
                counters.gaps.add(gaps.count, ordering: .relaxed)
                retryGaps += gaps.map { PublishItem.gap($0, topics: topics) }
            }
            if !retryGaps.isEmpty { queue.pushUrgent(retryGaps) }
        }
    }
}
