import CoreMetrics
import Synchronization

/// Running totals for the aggregator's health heartbeat.
final class AggregatorCounters: Sendable {
    let ticks = Atomic<Int>(0)
    let rejects = Atomic<Int>(0)
    let flushes = Atomic<Int>(0)
    let flushFailures = Atomic<Int>(0)
    let rowsWritten = Atomic<Int>(0)
    let fenced = Atomic<Int>(0)
    let candlesPublished = Atomic<Int>(0)
    let lastFlushMicros = Atomic<Int>(0)
    let rowsDeleted = Atomic<Int>(0)

    var snapshot: [(String, Int)] {
        [("ticks", ticks.load(ordering: .relaxed)), ("rejects", rejects.load(ordering: .relaxed)),
         ("flushes", flushes.load(ordering: .relaxed)), ("flush_failures", flushFailures.load(ordering: .relaxed)),
         ("rows_written", rowsWritten.load(ordering: .relaxed)), ("fenced", fenced.load(ordering: .relaxed)),
         ("candles_published", candlesPublished.load(ordering: .relaxed)), ("rows_deleted", rowsDeleted.load(ordering: .relaxed))]
    }
}

/// The aggregator's Prometheus metrics: `fx_aggregator_ticks_total`, `fx_aggregator_rejects_total`,
/// `fx_aggregator_late_ticks_total` (ticks older than their partition's watermark: they still update the
/// database, as a new revision), `fx_aggregator_rows_written_total`, `fx_aggregator_flush_failures_total`,
/// `fx_aggregator_flush_seconds`.
struct AggregatorMetrics: Sendable {
    let ticks: Counter
    let rejects: Counter
    let lateTicks: Counter
    let rowsWritten: Counter
    let flushFailures: Counter
    let flushDuration: CoreMetrics.Timer

    init(factory: any MetricsFactory) {
        ticks = Counter(label: "fx_aggregator_ticks_total", factory: factory)
        rejects = Counter(label: "fx_aggregator_rejects_total", factory: factory)
        lateTicks = Counter(label: "fx_aggregator_late_ticks_total", factory: factory)
        rowsWritten = Counter(label: "fx_aggregator_rows_written_total", factory: factory)
        flushFailures = Counter(label: "fx_aggregator_flush_failures_total", factory: factory)
        flushDuration = CoreMetrics.Timer(label: "fx_aggregator_flush_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }
}
