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
    // Stored, not computed: per-message paths (a tick's topic, the monitor's dispatch by topic) read them,
    // and joining the prefix on every read cost a string append each time.
    public let ticks: String
    public let gaps: String
    public let health: String
    public let rejects: String
    public let candles: String
    public let alerts: String
    /// Order book snapshots and deltas, keyed `source:symbol` (never compacted).
    public let books: String
    /// The hot layer: the latest quote and trade per symbol, keyed `source:symbol`, compacted.
    public let latest: String
    /// The raw capture: every frame of the feeds with `capture_raw`, verbatim (``RawRecord``).
    public let raw: String

    public init(prefix: String = TopicNames.defaultPrefix) {
        self.prefix = prefix
        ticks = prefix + "ticks"
        gaps = prefix + "gaps"
        health = prefix + "health"
        rejects = prefix + "rejects"
        candles = prefix + "candles"
        alerts = prefix + "alerts"
        books = prefix + "books"
        latest = prefix + "latest"
        raw = prefix + "raw"
    }

    /// Topic configuration a topic needs when it is created: the hot layer is compacted (one value per
    /// key is kept) and never deleted by time; the others take the broker's defaults.
    public func configs(for topic: String) -> [String: String] {
        topic == latest ? ["cleanup.policy": "compact", "retention.ms": "-1"] : [:]
    }

    /// Every topic of the pipeline, in a stable order.
    public var all: [String] { [ticks, gaps, health, rejects, candles, alerts, books, latest, raw] }
}
