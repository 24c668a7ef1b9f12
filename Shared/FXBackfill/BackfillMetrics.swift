import CoreMetrics
import FXMetrics
import Synchronization

/// The backfiller's repair counters: one increment feeds `/metrics` and the health bodies.
/// `fx_backfill_requests_total{source,outcome}` (ok, malformed, refused, rate_limited, error),
/// `fx_backfill_gaps_total{outcome}` (filled, unfillable, failed), `fx_backfill_repaired_candles_total`
/// (1-minute candles written or changed), `fx_backfill_candles_published_total`, `fx_backfill_rejects_total`,
/// `fx_backfill_transaction_retries_total` (repair transactions run again after a deadlock).
public final class BackfillMetrics: Sendable {
    /// The help line of each metric the backfiller exports, the shared rate limiter's included (`/metrics`' `# HELP`).
    public static let help: [String: String] = [
        "fx_backfill_gap_events_total": "Gap events consumed, by outcome.",
        "fx_backfill_gaps_total": "Gaps finished by this instance, by outcome.",
        "fx_backfill_repaired_candles_total": "1-minute candles written or changed by repairs.",
        "fx_backfill_requests_total": "REST history requests, by source and outcome.",
        "fx_backfill_candles_published_total": "Repaired candles republished.",
        "fx_backfill_rejects_total": "Malformed REST history answers quarantined.",
        "fx_backfill_transaction_retries_total": "Repair transactions run again after a deadlock or serialization failure.",
        "fx_backfill_rate_requests_total": "Requests taken from a shared rate bucket.",
        "fx_backfill_rate_wait_seconds_total": "Time waited for rate-limit tokens and out of Retry-After blocks.",
        "fx_backfill_rate_limited_total": "HTTP 429 answers seen (the shared bucket backs off).",
    ]

    let factory: any MetricsFactory
    public let filled: EventCounter
    public let unfillable: EventCounter
    public let failed: EventCounter
    public let minutesRepaired: EventCounter
    public let candlesPublished: EventCounter
    public let rejects: EventCounter
    public let requests: EventCounter
    public let transactionRetries: EventCounter
    let perSource: Mutex<[String: EventCounter]>

    public init(factory: any MetricsFactory) {
        self.factory = factory
        func gaps(_ outcome: String) -> EventCounter {
            EventCounter(label: "fx_backfill_gaps_total", dimensions: [("outcome", outcome)], factory: factory)
        }
        filled = gaps("filled")
        unfillable = gaps("unfillable")
        failed = gaps("failed")
        minutesRepaired = EventCounter(label: "fx_backfill_repaired_candles_total", factory: factory)
        candlesPublished = EventCounter(label: "fx_backfill_candles_published_total", factory: factory)
        rejects = EventCounter(label: "fx_backfill_rejects_total", factory: factory)
        transactionRetries = EventCounter(label: "fx_backfill_transaction_retries_total", factory: factory)
        requests = EventCounter(label: "fx_backfill_history_requests", factory: NOOPMetricsHandler.instance)
        perSource = Mutex([:])
    }

    func request(_ source: String, outcome: String) {
        requests.increment()
        let counter = perSource.withLock { counters in
            if let counter = counters["\(source)|\(outcome)"] { return counter }
            let counter = EventCounter(label: "fx_backfill_requests_total", dimensions: [("source", source), ("outcome", outcome)], factory: factory)
            counters["\(source)|\(outcome)"] = counter
            return counter
        }
        counter.increment()
    }

    /// The totals for health bodies.
    public var counters: [(String, Int64)] {
        [("gaps_filled", filled.value), ("gaps_unfillable", unfillable.value), ("gaps_failed", failed.value),
         ("minutes_repaired", minutesRepaired.value), ("history_requests", requests.value),
         ("candles_published", candlesPublished.value), ("history_rejects", rejects.value),
         ("transaction_retries", transactionRetries.value)]
    }
}
