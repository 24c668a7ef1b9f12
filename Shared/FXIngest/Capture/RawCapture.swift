import CoreMetrics
import FXConfiguration
import FXContracts
import FXCore
import FXKafka
import FXMetrics
import Logging
import Synchronization

/// The raw capture of the feeds with `capture_raw`: every frame they receive, verbatim, with control
/// records of their connections' lives, on `<prefix>raw` (``RawRecord``).
///
/// It never blocks or slows live publishing: it has its own bounded queue (``RawCaptureQueue``: a full
/// queue drops from the capture only, counted and recorded as a `capture` gap in the connection's own
/// records) and its own producer (compressed, a longer linger than the ticks'), so a slow raw topic
/// cannot hold up ticks. Records Kafka does not acknowledge after librdkafka's retries are counted
/// (`fx_ingest_capture_undelivered_total`) and logged; a replay sees them as holes in `seq`.
public final class RawCapture: Sendable {
    public struct Settings: Sendable {
        /// librdkafka's `compression.type` for the raw topic: `zstd`, `lz4`, `gzip`, `snappy` or `none`.
        public var compression = "zstd"
        /// Frame bytes the capture queue holds before it drops.
        public var queueBytes = ByteSize(bytes: 64 << 20)
        /// Records the capture queue holds before it drops.
        public var queueMessages = 200_000
        /// librdkafka's `linger.ms` for the raw topic (bigger batches compress better).
        public var lingerMilliseconds = 100
        /// The largest frame kept whole (librdkafka's and Kafka's default message limit is 1,000,000 bytes,
        /// headers and framing included); a larger one keeps its first 4 KiB, marked `cut`.
        public var maxRecordBytes = 990_000
        /// How long the capture lets frames gather in its queue after draining it.
        public var gatherInterval: Duration = .milliseconds(10)

        public init() {}
    }

    /// The capture's counters (`/metrics`).
    struct Metrics: Sendable {
        let records: EventCounter
        let dropped: EventCounter
        let undelivered: EventCounter

        init(factory: any MetricsFactory) {
            records = EventCounter(label: "fx_ingest_capture_records_total", factory: factory)
            dropped = EventCounter(label: "fx_ingest_capture_dropped_total", factory: factory)
            undelivered = EventCounter(label: "fx_ingest_capture_undelivered_total", factory: factory)
        }
    }

    public static let help: [String: String] = [
        "fx_ingest_capture_records_total": "Raw capture records (frames and control records) queued for the raw topic.",
        "fx_ingest_capture_dropped_total": "Raw capture records dropped because the capture queue was full (live publishing is never held up).",
        "fx_ingest_capture_undelivered_total": "Raw capture records Kafka did not acknowledge.",
    ]

    public let settings: Settings
    let topics: TopicNames
    let instance: String
    let queue: RawCaptureQueue
    let metrics: Metrics
    private let logger: Logger
    private let producer = Mutex<KafkaProducer?>(nil)

    /// The raw producer's newest librdkafka statistics (with `statistics.interval.ms` in the Kafka properties).
    public var producerStatistics: String? { producer.withLock { $0?.statistics } }

    public init(settings: Settings = Settings(), topics: TopicNames, instance: String, metricsFactory: any MetricsFactory, logger: Logger) {
        self.settings = settings
        self.topics = topics
        self.instance = instance
        self.queue = RawCaptureQueue(capacityBytes: settings.queueBytes.bytes, capacityMessages: settings.queueMessages)
        self.metrics = Metrics(factory: metricsFactory)
        self.logger = logger
    }

    /// Records captured, dropped (queue full) and not acknowledged so far.
    public var totals: (records: Int64, dropped: Int64, undelivered: Int64) {
        (metrics.records.value, metrics.dropped.value, metrics.undelivered.value)
    }

    /// The entry of one connection (`source`, connection id).
    public func tap(source: String, connection: String) -> CaptureTap {
        CaptureTap(source: source, connection: connection, instance: instance, topic: topics.raw, queue: queue, metrics: metrics,
                   maxRecordBytes: settings.maxRecordBytes)
    }

    /// The raw topic's producer properties: the service's, with compression and a longer linger.
    public func producerConfiguration(_ kafka: KafkaConfiguration) -> KafkaConfiguration {
        var configuration = kafka
        configuration["compression.type"] = settings.compression
        configuration["linger.ms"] = String(settings.lingerMilliseconds)
        if configuration["batch.size"] == nil { configuration["batch.size"] = String(1 << 20) }
        return configuration
    }

    /// Sends the queue's records until ``finish()`` and the queue is drained, then flushes its producer.
    public func run(kafka: KafkaConfiguration) async throws {
        let producer = try KafkaProducer(configuration: producerConfiguration(kafka), logger: logger)
        self.producer.withLock { $0 = producer }
        let limiter = LogRateLimiter(interval: .seconds(10))
        await withDiscardingTaskGroup { producers in
            producers.addTask { await producer.runUntilShutdown() }
            let (reports, continuation) = AsyncStream.makeStream(of: KafkaPendingBatch.self)
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await pending in reports {
                        let failures = await pending.results().compactMap { result -> KafkaError? in
                            if case .failure(let error) = result { return error }
                            return nil
                        }
                        guard let first = failures.first else { continue }
                        self.metrics.undelivered.increment(by: failures.count)
                        if limiter.allow() {
                            self.logger.error("raw capture: records not delivered (replays see holes in seq)",
                                              metadata: ["count": .stringConvertible(failures.count), "error": .string(first.description)])
                        }
                    }
                }
                while let batch = await queue.next(max: 5_000) {
                    continuation.yield(await producer.enqueue(contentsOf: batch))
                    // Drained: let frames gather for a while instead of waking for each one (the producer
                    // lingers longer anyway, and a batch per wake-up costs a fraction of one per frame).
                    if batch.count < 5_000 { try? await Task.sleep(for: settings.gatherInterval) }
                }
                continuation.finish()
            }
            await producer.shutdown()
        }
    }

    /// No more records: ``run(kafka:)`` sends what is queued and returns.
    public func finish() {
        queue.finish()
    }
}
