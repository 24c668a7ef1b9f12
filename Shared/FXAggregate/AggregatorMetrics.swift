import CoreMetrics
import FXMetrics

/// The aggregator's metrics, each counted once: `/metrics` (Prometheus) and the health heartbeat's
/// `counters` read the same ``EventCounter``s.
///
/// | heartbeat counter | Prometheus metric |
/// |---|---|
/// | `ticks` | `fx_aggregator_ticks_total` |
/// | `rejects` | `fx_aggregator_rejects_total` |
/// | `late_ticks` | `fx_aggregator_late_ticks_total` (older than their partition's watermark: a new revision) |
/// | `flushes` | `fx_aggregator_flushes_total` |
/// | `flush_failures` | `fx_aggregator_flush_failures_total` |
/// | `rows_written` | `fx_aggregator_rows_written_total` |
/// | `fenced` | `fx_aggregator_fenced_total` |
/// | `candles_published` | `fx_aggregator_candles_published_total` |
/// | `rows_deleted` | `fx_aggregator_rows_deleted_total` |
/// | `quarantined` | `fx_aggregator_quarantined_total` (ticks the database refused, set aside to the rejects topic) |
/// | `retention_skipped` | `fx_aggregator_retention_skipped_total` (messages Kafka retention deleted before they were read) |
///
/// Also `fx_aggregator_flush_seconds` (a timer) and `fx_aggregator_last_flush_seconds` (a gauge: the last flush's duration).
public struct AggregatorMetrics: Sendable {
    /// The help line of each metric the aggregator exports (`/metrics`' `# HELP`).
    public static let help: [String: String] = [
        "fx_aggregator_ticks_total": "Ticks consumed.",
        "fx_aggregator_rejects_total": "Ticks rejected (invalid, or beyond the compression horizon).",
        "fx_aggregator_late_ticks_total": "Ticks that changed an already closed candle.",
        "fx_aggregator_flushes_total": "Flush transactions committed.",
        "fx_aggregator_flush_failures_total": "Flush transactions that failed (retried).",
        "fx_aggregator_rows_written_total": "Candle rows inserted or updated.",
        "fx_aggregator_fenced_total": "Flushes refused because a newer consumer owns the partition.",
        "fx_aggregator_candles_published_total": "Candle messages published.",
        "fx_aggregator_rows_deleted_total": "Candle rows deleted by retention.",
        "fx_aggregator_quarantined_total": "Ticks the database refused for their data, set aside to the rejects topic.",
        "fx_aggregator_retention_skipped_total": "Ticks Kafka retention deleted before the aggregator read them (reported as retention gaps).",
        "fx_aggregator_flush_seconds": "Duration of flush transactions.",
        "fx_aggregator_last_flush_seconds": "Duration of the last flush transaction.",
    ]

    let ticks: EventCounter
    let rejects: EventCounter
    let lateTicks: EventCounter
    let flushes: EventCounter
    let flushFailures: EventCounter
    let rowsWritten: EventCounter
    let fenced: EventCounter
    let candlesPublished: EventCounter
    let rowsDeleted: EventCounter
    let quarantined: EventCounter
    let retentionSkipped: EventCounter
    let flushDuration: CoreMetrics.Timer
    /// Local only (the heartbeat's `last_flush_ms`); Prometheus gets ``lastFlushSeconds`` (base unit).
    let lastFlushMicros: EventGauge
    let lastFlushSeconds: Gauge

    init(factory: any MetricsFactory) {
        func counter(_ name: String) -> EventCounter { EventCounter(label: "fx_aggregator_\(name)_total", factory: factory) }
        ticks = counter("ticks")
        rejects = counter("rejects")
        lateTicks = counter("late_ticks")
        flushes = counter("flushes")
        flushFailures = counter("flush_failures")
        rowsWritten = counter("rows_written")
        fenced = counter("fenced")
        candlesPublished = counter("candles_published")
        rowsDeleted = counter("rows_deleted")
        quarantined = counter("quarantined")
        retentionSkipped = counter("retention_skipped")
        flushDuration = CoreMetrics.Timer(label: "fx_aggregator_flush_seconds", preferredDisplayUnit: .seconds, factory: factory)
        lastFlushMicros = EventGauge(label: "fx_aggregator_last_flush_microseconds", factory: NOOPMetricsHandler.instance)
        lastFlushSeconds = Gauge(label: "fx_aggregator_last_flush_seconds", factory: factory)
    }

    /// The heartbeat's `counters`, in a stable order.
    var heartbeatCounters: [(String, Int64)] {
        [("ticks", ticks.value), ("rejects", rejects.value), ("late_ticks", lateTicks.value), ("flushes", flushes.value),
         ("flush_failures", flushFailures.value), ("rows_written", rowsWritten.value), ("fenced", fenced.value),
         ("candles_published", candlesPublished.value), ("rows_deleted", rowsDeleted.value), ("quarantined", quarantined.value),
         ("retention_skipped", retentionSkipped.value)]
    }
}
