import CoreMetrics
import FXCore
import Synchronization

/// The monitor's per-subject metrics, for Prometheus rules equivalent to its own
/// (`deploy/prometheus-alerts.yml`): `fx_monitor_stream_state{source,symbol}` (0 live, 1 quiet, 2 stale,
/// 3 down), `fx_monitor_instance_up{service,instance}` (1 alive, 0 missing),
/// `fx_monitor_latency_p99_seconds{source}` (exchange -> receive), `fx_monitor_gaps_total{source,symbol}`,
/// `fx_monitor_book_resyncs_total{source,symbol}`;
/// and for dashboards `fx_monitor_stage_latency_p99_seconds{measure}` (`receive_to_ack`, `tick_to_candle`),
/// `fx_monitor_consumer_lag{service,topic,partition}`, `fx_monitor_backfill_queued_gaps` and
/// `fx_monitor_backfill_oldest_gap_age_seconds`.
///
/// Each family holds exactly the label sets of the latest update: a series whose subject is gone (a
/// stopped or forgotten instance, a forgotten stream, a partition no longer reported) is destroyed
/// through the metrics factory, so `/metrics` stays as bounded as the monitor's state.
public final class MonitorMetrics: Sendable {
    /// The help line of each metric the monitor exports (`/metrics`' `# HELP`).
    public static let help: [String: String] = [
        "fx_monitor_events_total": "Messages read from the watched topics.",
        "fx_monitor_ignored_total": "Messages or parts of them the monitor ignored (outside the topic contracts or its bounds), by reason.",
        "fx_monitor_alerts_dropped_total": "Alert events dropped because a destination's queue was full.",
        "fx_monitor_transitions_total": "Stream state changes.",
        "fx_monitor_streams": "Streams per state.",
        "fx_monitor_stream_state": "A stream's state: 0 live, 1 quiet, 2 stale, 3 down.",
        "fx_monitor_instance_up": "Whether a service instance sends heartbeats (1) or is missing (0).",
        "fx_monitor_latency_p99_seconds": "Exchange-to-receive latency, 99th percentile.",
        "fx_monitor_gaps_total": "Gap events seen per stream.",
        "fx_monitor_book_resyncs_total": "Order book resyncs (book gap events) seen per stream.",
        "fx_monitor_stage_latency_p99_seconds": "Pipeline stage latency (receive_to_ack, tick_to_candle), 99th percentile over the latency window.",
        "fx_monitor_consumer_lag": "Messages a consumer instance is behind on a partition, from its heartbeat.",
        "fx_monitor_backfill_queued_gaps": "Gaps open, filling or failed in the backfill ledger.",
        "fx_monitor_backfill_oldest_gap_age_seconds": "Age of the start of the oldest gap not yet filled.",
        "fx_monitor_alerts_total": "Alert events, by status.",
        "fx_monitor_webhook_deliveries_total": "Alert webhook deliveries, by outcome.",
        "fx_monitor_webhook_retries_total": "Alert webhook attempts retried.",
    ]

    let factory: any MetricsFactory
    /// Family -> label-set key -> gauge.
    private let gauges = Mutex<[String: [String: Gauge]]>([:])
    private let counters = Mutex<[String: Counter]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    static func code(_ state: StreamState) -> Double {
        switch state {
        case .live: return 0
        case .quiet: return 1
        case .stale: return 2
        case .down: return 3
        }
    }

    /// Series currently exported, over all per-subject families (for tests and benchmarks).
    var seriesCount: Int {
        gauges.withLock { $0.values.reduce(0) { $0 + $1.count } } + counters.withLock { $0.count }
    }

    /// Sets `label`'s family to exactly `values` (label sets -> value), destroying the series not among them.
    private func sync(_ label: String, _ values: [([(String, String)], Double)]) {
        var keep: [String: Gauge] = [:]
        let stale: [Gauge] = gauges.withLock { gauges in
            var family = gauges[label] ?? [:]
            for (dimensions, _) in values {
                let key = dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: "|")
                keep[key] = family.removeValue(forKey: key) ?? keep[key] ?? Gauge(label: label, dimensions: dimensions, factory: factory)
            }
            gauges[label] = keep
            return Array(family.values)
        }
        for gauge in stale { gauge.destroy() }
        for (dimensions, value) in values {
            keep[dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: "|")]?.record(value)
        }
    }

    /// `fx_monitor_fleet_unowned_shards{fleet}` and `fx_monitor_fleet_owners{fleet,shard}` (live instances streaming it).
    func update(fleets: [FleetStatus]) {
        sync("fx_monitor_fleet_unowned_shards", fleets.map { ([("fleet", $0.group)], Double($0.unowned)) })
        sync("fx_monitor_fleet_owners", fleets.flatMap { fleet in
            fleet.owners.map { ([("fleet", fleet.group), ("shard", $0.key)], Double($0.value.count)) }
        })
    }

    func update(streams: [StreamStatus], instances: [InstanceStatus], p99: [String: Int64]) {
        sync("fx_monitor_stream_state", streams.map { ([("source", $0.source), ("symbol", $0.symbol)], Self.code($0.state)) })
        sync("fx_monitor_instance_up", instances.map { ([("service", $0.service), ("instance", $0.instance)], $0.alive ? 1 : 0) })
        sync("fx_monitor_latency_p99_seconds", p99.map { ([("source", $0.key)], Double($0.value) / 1_000) })
        let known = Set(streams.map { "\($0.source)|\($0.symbol)" })
        let gone: [Counter] = counters.withLock { counters in
            let keys = counters.keys.filter { !known.contains(String($0.split(separator: "#", maxSplits: 1).last ?? "")) }
            return keys.compactMap { counters.removeValue(forKey: $0) }
        }
        for counter in gone { counter.destroy() }
    }

    /// `stageP99`: microseconds per measure (`receive_to_ack`, `tick_to_candle`).
    func update(stageP99: [String: UInt64], lags: [PipelineBook.PartitionLag], backfill: PipelineBook.BackfillQueue?, now: Int64) {
        sync("fx_monitor_stage_latency_p99_seconds", stageP99.map { ([("measure", $0.key)], Double($0.value) / 1_000_000) })
        sync("fx_monitor_consumer_lag", lags.compactMap { partition in
            partition.lag.map { ([("service", partition.service), ("topic", partition.topic), ("partition", String(partition.partition))], Double($0)) }
        })
        if let backfill {
            let age = backfill.oldestUnfilledFrom.map { max(0, now.subtractingClamped($0)) } ?? 0
            sync("fx_monitor_backfill_queued_gaps", [([], Double(backfill.queued))])
            sync("fx_monitor_backfill_oldest_gap_age_seconds", [([], Double(age / 1_000_000) / 1_000)])
        }
    }

    /// Counts a gap event (or, with `family` `fx_monitor_book_resyncs_total`, an order book resync) of a
    /// stream the board knows (its series goes when the stream is forgotten).
    func gap(source: String, symbol: String, family: String = "fx_monitor_gaps_total") {
        let key = "\(family)#\(source)|\(symbol)"
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: family, dimensions: [("source", source), ("symbol", symbol)], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }
}
