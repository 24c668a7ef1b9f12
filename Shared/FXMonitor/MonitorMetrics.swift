import CoreMetrics
import Synchronization

/// The monitor's per-subject metrics, for Prometheus rules equivalent to its own
/// (`deploy/prometheus-alerts.yml`): `fx_monitor_stream_state{source,symbol}` (0 live, 1 quiet, 2 stale,
/// 3 down), `fx_monitor_instance_up{service,instance}` (1 alive, 0 missing),
/// `fx_monitor_latency_p99_seconds{source}` (exchange -> receive), `fx_monitor_gaps_total{source,symbol}`;
/// and for dashboards `fx_monitor_stage_latency_p99_seconds{measure}` (`receive_to_ack`, `tick_to_candle`),
/// `fx_monitor_consumer_lag{service,topic,partition}`, `fx_monitor_backfill_queued_gaps` and
/// `fx_monitor_backfill_oldest_gap_age_seconds`.
final class MonitorMetrics: Sendable {
    let factory: any MetricsFactory
    private let gauges = Mutex<[String: Gauge]>([:])
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

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return gauges.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: dimensions, factory: factory)
            gauges[key] = gauge
            return gauge
        }
    }

    func update(streams: [StreamStatus], instances: [InstanceStatus], p99: [String: Int64]) {
        for stream in streams {
            gauge("fx_monitor_stream_state", [("source", stream.source), ("symbol", stream.symbol)]).record(Self.code(stream.state))
        }
        for instance in instances {
            gauge("fx_monitor_instance_up", [("service", instance.service), ("instance", instance.instance)]).record(instance.alive ? 1 : 0)
        }
        for (source, milliseconds) in p99 {
            gauge("fx_monitor_latency_p99_seconds", [("source", source)]).record(Double(milliseconds) / 1_000)
        }
    }

    /// `stageP99`: microseconds per measure (`receive_to_ack`, `tick_to_candle`).
    func update(stageP99: [String: UInt64], lags: [PipelineBook.PartitionLag], backfill: PipelineBook.BackfillQueue?, now: Int64) {
        for (measure, micros) in stageP99 {
            gauge("fx_monitor_stage_latency_p99_seconds", [("measure", measure)]).record(Double(micros) / 1_000_000)
        }
        for partition in lags {
            guard let lag = partition.lag else { continue }
            gauge("fx_monitor_consumer_lag", [("service", partition.service), ("topic", partition.topic), ("partition", String(partition.partition))])
                .record(Double(lag))
        }
        if let backfill {
            gauge("fx_monitor_backfill_queued_gaps", []).record(Double(backfill.queued))
            let age = backfill.oldestUnfilledFrom.map { max(0, now - $0) } ?? 0
            gauge("fx_monitor_backfill_oldest_gap_age_seconds", []).record(Double(age / 1_000_000) / 1_000)
        }
    }

    func gap(source: String, symbol: String) {
        let key = "\(source)|\(symbol)"
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "fx_monitor_gaps_total", dimensions: [("source", source), ("symbol", symbol)], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }
}
