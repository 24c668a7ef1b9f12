import CoreMetrics
import Synchronization

/// The monitor's per-subject metrics, for Prometheus rules equivalent to its own
/// (`deploy/prometheus-alerts.yml`): `fx_monitor_stream_state{source,symbol}` (0 live, 1 quiet, 2 stale,
/// 3 down), `fx_monitor_instance_up{service,instance}` (1 alive, 0 missing),
/// `fx_monitor_latency_p99_seconds{source}` (exchange -> receive), `fx_monitor_gaps_total{source,symbol}`.
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
