import CoreMetrics
import FXCore

/// The ingestor's Prometheus metrics, created from an injected factory:
/// - `fx_ingest_frames_total{source}`, `fx_ingest_ticks_total{source,kind}`,
///   `fx_ingest_rejects_total{source,reason}`, `fx_ingest_gaps_total{source,reason}`,
///   `fx_ingest_provider_errors_total{source}`, `fx_ingest_reconnects_total{source}`;
/// - `fx_ingest_delivered_total{topic_kind}`, `fx_ingest_delivery_failures_total{topic_kind}`,
///   `fx_ingest_dropped_total{source}` (queue full; each drop is covered by a `delivery` gap),
///   `fx_ingest_queue_depth`;
/// - `fx_ingest_frame_to_ack_seconds` (timer: frame received -> broker acknowledgement).
public struct IngestMetrics: Sendable {
    public let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Per-source metrics, created once per connection.
    public struct Source: Sendable {
        public let frames: Counter
        public let trades: Counter
        public let quotes: Counter
        public let providerErrors: Counter
        public let reconnects: Counter
        public let dropped: Counter
        let rejects: [String: Counter]
        let gaps: [GapEvent.Reason: Counter]

        public func reject(_ reason: String) {
            rejects[reason]?.increment()
        }

        public func gap(_ reason: GapEvent.Reason) {
            gaps[reason]?.increment()
        }
    }

    public func source(_ source: String) -> Source {
        let dimensions = [("source", source)]
        var rejects: [String: Counter] = [:]
        for reason in RejectReason.allCases.map(\.rawValue) + [ConnectionRejectReason.oversizedFrame] {
            rejects[reason] = Counter(label: "fx_ingest_rejects_total", dimensions: dimensions + [("reason", reason)], factory: factory)
        }
        var gaps: [GapEvent.Reason: Counter] = [:]
        for reason in GapEvent.Reason.allCases {
            gaps[reason] = Counter(label: "fx_ingest_gaps_total", dimensions: dimensions + [("reason", reason.rawValue)], factory: factory)
        }
        return Source(
            frames: Counter(label: "fx_ingest_frames_total", dimensions: dimensions, factory: factory),
            trades: Counter(label: "fx_ingest_ticks_total", dimensions: dimensions + [("kind", "trade")], factory: factory),
            quotes: Counter(label: "fx_ingest_ticks_total", dimensions: dimensions + [("kind", "quote")], factory: factory),
            providerErrors: Counter(label: "fx_ingest_provider_errors_total", dimensions: dimensions, factory: factory),
            reconnects: Counter(label: "fx_ingest_reconnects_total", dimensions: dimensions, factory: factory),
            dropped: Counter(label: "fx_ingest_dropped_total", dimensions: dimensions, factory: factory),
            rejects: rejects, gaps: gaps)
    }

    func delivered(_ kind: String) -> Counter {
        Counter(label: "fx_ingest_delivered_total", dimensions: [("topic_kind", kind)], factory: factory)
    }

    func deliveryFailures(_ kind: String) -> Counter {
        Counter(label: "fx_ingest_delivery_failures_total", dimensions: [("topic_kind", kind)], factory: factory)
    }

    var queueDepth: Gauge { Gauge(label: "fx_ingest_queue_depth", factory: factory) }
    var frameToAck: CoreMetrics.Timer {
        CoreMetrics.Timer(label: "fx_ingest_frame_to_ack_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }
}

/// Reject reasons found by the connection itself, before any normalizer sees the frame.
public enum ConnectionRejectReason {
    /// A message larger than the frame cap: its first bytes are kept in the reject, the rest discarded.
    public static let oversizedFrame = "oversized_frame"
}
