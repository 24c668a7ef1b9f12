import FXContracts
import FXVenues
import CoreMetrics
import FXCore
import FXMetrics
import Synchronization

/// The ingestor's metrics, each event counted once (``EventCounter``): `/metrics` exports them and the
/// health heartbeat's `counters` are their totals (``totals``), so the two always agree.
///
/// | Prometheus metric | heartbeat counter (sum over labels) |
/// |---|---|
/// | `fx_ingest_frames_total{source}` | `frames` |
/// | `fx_ingest_ticks_total{source,kind}` | `ticks` |
/// | `fx_ingest_heartbeats_total{source}` (provider heartbeats) | `heartbeats` |
/// | `fx_ingest_rejects_total{source,reason}` | `rejects` |
/// | `fx_ingest_gaps_total{source,reason}` | `gaps` |
/// | `fx_ingest_delivered_total{topic_kind}` | `delivered` |
/// | `fx_ingest_delivery_failures_total{topic_kind}` | `delivery_failures` |
/// | `fx_ingest_dropped_total{source}` (queue full; each drop is covered by a `delivery` gap) | `dropped` |
/// | `fx_ingest_provider_errors_total{source}` | `provider_errors` |
/// | `fx_ingest_gaps_lost_total` (gap events not delivered after retries; logged in full) | `gaps_lost` |
/// | `fx_ingest_book_messages_total{source}` (books topic messages queued) | `book_messages` |
/// | `fx_ingest_books_lost_total` (books topic messages Kafka did not acknowledge) | `books_lost` |
///
/// Also `fx_ingest_reconnects_total{source}`, `fx_ingest_queue_depth` and
/// `fx_ingest_frame_to_ack_seconds` (timer: frame received -> broker acknowledgement).
public final class IngestMetrics: Sendable {
    /// The help line of each metric the ingestor exports (`/metrics`' `# HELP`).
    public static let help: [String: String] = [
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
        "fx_ingest_book_messages_total": "Order book messages (snapshot chunks and deltas) queued for the books topic.",
        "fx_ingest_books_lost_total": "Order book messages Kafka did not acknowledge (consumers see a seq hole until the next snapshot).",
        "fx_ingest_queue_depth": "Items waiting in the publish queue.",
        "fx_ingest_frame_to_ack_seconds": "Time from a frame's arrival to the broker's acknowledgement of its ticks.",
    ]

    public let factory: any MetricsFactory
    private let sources = Mutex<[String: Source]>([:])
    let deliveredTicks: EventCounter
    let deliveredControl: EventCounter
    let failedTicks: EventCounter
    let failedControl: EventCounter
    let gapsLost: EventCounter
    let booksLost: EventCounter
    let queueDepth: EventGauge
    let frameToAck: CoreMetrics.Timer

    public init(factory: any MetricsFactory) {
        self.factory = factory
        func kind(_ label: String, _ kind: String) -> EventCounter {
            EventCounter(label: label, dimensions: [("topic_kind", kind)], factory: factory)
        }
        deliveredTicks = kind("fx_ingest_delivered_total", "ticks")
        deliveredControl = kind("fx_ingest_delivered_total", "control")
        failedTicks = kind("fx_ingest_delivery_failures_total", "ticks")
        failedControl = kind("fx_ingest_delivery_failures_total", "control")
        gapsLost = EventCounter(label: "fx_ingest_gaps_lost_total", factory: factory)
        booksLost = EventCounter(label: "fx_ingest_books_lost_total", factory: factory)
        queueDepth = EventGauge(label: "fx_ingest_queue_depth", factory: factory)
        frameToAck = CoreMetrics.Timer(label: "fx_ingest_frame_to_ack_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    /// One source's metrics, shared by every connection of that source.
    public struct Source: Sendable {
        public let frames: EventCounter
        public let trades: EventCounter
        public let quotes: EventCounter
        public let heartbeats: EventCounter
        public let providerErrors: EventCounter
        public let reconnects: EventCounter
        public let dropped: EventCounter
        public let bookMessages: EventCounter
        let rejects: [String: EventCounter]
        let gaps: [GapEvent.Reason: EventCounter]

        public func reject(_ reason: String) {
            rejects[reason]?.increment()
        }

        public func gap(_ reason: GapEvent.Reason) {
            gaps[reason]?.increment()
        }
    }

    public func source(_ source: String) -> Source {
        sources.withLock { sources in
            if let existing = sources[source] { return existing }
            let created = makeSource(source)
            sources[source] = created
            return created
        }
    }

    private func makeSource(_ source: String) -> Source {
        let dimensions = [("source", source)]
        func counter(_ label: String, _ extra: [(String, String)] = []) -> EventCounter {
            EventCounter(label: label, dimensions: dimensions + extra, factory: factory)
        }
        var rejects: [String: EventCounter] = [:]
        for reason in RejectReason.allCases.map(\.rawValue) + [ConnectionRejectReason.oversizedFrame, ConnectionRejectReason.truncatedLine,
                                                                 ConnectionRejectReason.protocolError] {
            rejects[reason] = counter("fx_ingest_rejects_total", [("reason", reason)])
        }
        var gaps: [GapEvent.Reason: EventCounter] = [:]
        for reason in GapEvent.Reason.allCases where reason != .bootstrap {  // a stream's start is not a gap
            gaps[reason] = counter("fx_ingest_gaps_total", [("reason", reason.rawValue)])
        }
        return Source(frames: counter("fx_ingest_frames_total"),
                      trades: counter("fx_ingest_ticks_total", [("kind", "trade")]),
                      quotes: counter("fx_ingest_ticks_total", [("kind", "quote")]),
                      heartbeats: counter("fx_ingest_heartbeats_total"),
                      providerErrors: counter("fx_ingest_provider_errors_total"),
                      reconnects: counter("fx_ingest_reconnects_total"),
                      dropped: counter("fx_ingest_dropped_total"),
                      bookMessages: counter("fx_ingest_book_messages_total"),
                      rejects: rejects, gaps: gaps)
    }

    /// The heartbeat's counters: sums of the metrics above.
    public var totals: IngestTotals {
        let all = sources.withLock { Array($0.values) }
        func sum(_ value: (Source) -> Int64) -> Int { Int(all.reduce(0) { $0 + value($1) }) }
        return IngestTotals(
            frames: sum { $0.frames.value },
            ticks: sum { $0.trades.value + $0.quotes.value },
            heartbeats: sum { $0.heartbeats.value },
            rejects: sum { $0.rejects.values.reduce(0) { $0 + $1.value } },
            gaps: sum { $0.gaps.values.reduce(0) { $0 + $1.value } },
            delivered: Int(deliveredTicks.value + deliveredControl.value),
            deliveryFailures: Int(failedTicks.value + failedControl.value),
            dropped: sum { $0.dropped.value },
            providerErrors: sum { $0.providerErrors.value },
            gapsLost: Int(gapsLost.value),
            bookMessages: sum { $0.bookMessages.value },
            booksLost: Int(booksLost.value))
    }
}

/// The ingestor's running totals, as its health heartbeat reports them.
public struct IngestTotals: Sendable, Equatable {
    public var frames, ticks, heartbeats, rejects, gaps, delivered, deliveryFailures, dropped, providerErrors, gapsLost: Int
    public var bookMessages = 0, booksLost = 0

    public var snapshot: [(String, Int)] {
        [("frames", frames), ("ticks", ticks), ("heartbeats", heartbeats), ("rejects", rejects), ("gaps", gaps),
         ("delivered", delivered), ("delivery_failures", deliveryFailures), ("dropped", dropped),
         ("provider_errors", providerErrors), ("gaps_lost", gapsLost), ("book_messages", bookMessages), ("books_lost", booksLost)]
    }
}

/// Reject reasons found by the connection itself, before any normalizer sees the frame.
public enum ConnectionRejectReason {
    /// A message larger than the frame cap: its first bytes are kept in the reject, the rest discarded.
    public static let oversizedFrame = "oversized_frame"
    /// An HTTP line stream ended inside a line: its bytes are kept in the reject, never parsed.
    public static let truncatedLine = "truncated_line"
    /// A Lightstreamer line the session could not read (an update that does not decode, an unknown
    /// notification, a refused subscription): kept whole, the stream goes on.
    public static let protocolError = "protocol_error"
}
