import CoreMetrics
import Prometheus

/// The process's swift-metrics factory: swift-prometheus' registry, with each metric's `# HELP` line from
/// ``MetricHelp`` (Prometheus' linter, `promtool check metrics`, requires one; the registry requires the
/// same help for every series of a name, which one table guarantees).
struct DocumentedMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricHelp.text(for: label))
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions,
                                           buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000])
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ])
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}

/// One help line per metric the services export.
public enum MetricHelp {
    static let texts: [String: String] = [
        "fx_dependency_up": "Whether a dependency check passes (1) or fails (0).",
        "fx_ingest_frames_total": "WebSocket frames received from a provider.",
        "fx_ingest_ticks_total": "Normalized ticks published, by kind.",
        "fx_ingest_heartbeats_total": "Provider heartbeats received.",
        "fx_ingest_rejects_total": "Provider messages rejected, by reason.",
        "fx_ingest_gaps_total": "Gap events detected, by reason.",
        "fx_ingest_reconnects_total": "WebSocket reconnections.",
        "fx_ingest_provider_errors_total": "Errors reported by a provider.",
        "fx_ingest_dropped_total": "Ticks dropped because the publish queue stayed full (each covered by a delivery gap).",
        "fx_ingest_delivered_total": "Messages acknowledged by Kafka, by kind of topic.",
        "fx_ingest_delivery_failures_total": "Messages Kafka did not acknowledge, by kind of topic.",
        "fx_ingest_gaps_lost_total": "Gap events that could not be delivered after retries.",
        "fx_ingest_queue_depth": "Items waiting in the publish queue.",
        "fx_ingest_frame_to_ack_seconds": "Time from a frame's arrival to the broker's acknowledgement of its ticks.",
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
        "fx_monitor_events_total": "Messages read from the watched topics.",
        "fx_monitor_ignored_total": "Messages or parts of them the monitor ignored (outside the topic contracts or its bounds), by reason.",
        "fx_monitor_alerts_dropped_total": "Alert events dropped because a destination's queue was full.",
        "fx_monitor_transitions_total": "Stream state changes.",
        "fx_monitor_streams": "Streams per state.",
        "fx_monitor_stream_state": "A stream's state: 0 live, 1 quiet, 2 stale, 3 down.",
        "fx_monitor_instance_up": "Whether a service instance sends heartbeats (1) or is missing (0).",
        "fx_monitor_latency_p99_seconds": "Exchange-to-receive latency, 99th percentile.",
        "fx_monitor_gaps_total": "Gap events seen per stream.",
        "fx_monitor_stage_latency_p99_seconds": "Pipeline stage latency (receive_to_ack, tick_to_candle), 99th percentile over the latency window.",
        "fx_monitor_consumer_lag": "Messages a consumer instance is behind on a partition, from its heartbeat.",
        "fx_monitor_backfill_queued_gaps": "Gaps open, filling or failed in the backfill ledger.",
        "fx_monitor_backfill_oldest_gap_age_seconds": "Age of the start of the oldest gap not yet filled.",
        "fx_monitor_alerts_total": "Alert events, by status.",
        "fx_monitor_webhook_deliveries_total": "Alert webhook deliveries, by outcome.",
        "fx_monitor_webhook_retries_total": "Alert webhook attempts retried.",
    ]

    /// The help text of `label` (a generic one for a metric not in the table).
    public static func text(for label: String) -> String {
        texts[label] ?? "FXStream metric \(label)."
    }
}
