import FXCore
/// The Kafka topics of the pipeline, derived from one prefix (`TOPIC_PREFIX`, default `fx.`).
///
/// | topic | written by | read by |
/// |---|---|---|
/// | `<prefix>ticks` | ingestor | aggregator, monitor, agents |
/// | `<prefix>books` | ingestor (venues with order books) | agents (``BookBuilder``), tests |
/// | `<prefix>latest` (compacted) | ingestor | monitor (`/api/quotes`), agents |
/// | `<prefix>gaps` | ingestor, aggregator (`retention` gaps) | backfiller, monitor |
/// | `<prefix>health` | ingestor, aggregator, backfiller | monitor |
/// | `<prefix>rejects` | ingestor, aggregator, backfiller | monitor (rates), people and their agents |
/// | `<prefix>candles` | aggregator, backfiller (repairs) | monitor (rates), downstream agents |
/// | `<prefix>alerts` | monitor | people, their agents, pagers |
/// | `<prefix>raw` | ingestor (feeds with `capture_raw`) | `fxadmin replay`, `fxadmin capture-export` |
public struct TopicNames: Sendable, Hashable {
    public static let defaultPrefix = "fx."

    public let prefix: String

    public init(prefix: String = TopicNames.defaultPrefix) {
        self.prefix = prefix
    }

    public var ticks: String { prefix + "ticks" }
    public var gaps: String { prefix + "gaps" }
    public var health: String { prefix + "health" }
    public var rejects: String { prefix + "rejects" }
    public var candles: String { prefix + "candles" }
    public var alerts: String { prefix + "alerts" }
    /// Order book snapshots and deltas, keyed `source:symbol` (never compacted).
    public var books: String { prefix + "books" }
    /// The hot layer: the latest quote and trade per symbol, keyed `source:symbol`, compacted.
    public var latest: String { prefix + "latest" }
    /// The raw capture: every frame of the feeds with `capture_raw`, verbatim (``RawRecord``).
    public var raw: String { prefix + "raw" }

    /// Topic configuration a topic needs when it is created: the hot layer is compacted (one value per
    /// key is kept) and never deleted by time; the others take the broker's defaults.
    public func configs(for topic: String) -> [String: String] {
        topic == latest ? ["cleanup.policy": "compact", "retention.ms": "-1"] : [:]
    }

    /// Every topic of the pipeline, in a stable order.
    public var all: [String] { [ticks, gaps, health, rejects, candles, alerts, books, latest, raw] }
}
