import FXContracts
import FXVenues

/// One connection's hot layer: the latest quote, last trade and market state of each of its symbols, and
/// which changed since they were last published to `<prefix>latest` (a value type; the connection keeps
/// it behind a lock and the ingestor publishes what ``take()`` returns, at most once per interval per
/// symbol: the values are conflated, the ticks topic has every tick).
public struct LatestBoard: Sendable {
    private var entries: [String: LatestQuote] = [:]
    private var changed: Set<String> = []
    private let source: String
    private let instance: String
    private let canonical: [String: String]

    /// - Parameter symbols: venue symbol -> canonical symbol of the connection.
    public init(source: String, instance: String, symbols: [String: String]) {
        self.source = source
        self.instance = instance
        self.canonical = symbols
    }

    public mutating func apply(_ tick: Tick) {
        guard var entry = entry(tick.venueSymbol) else { return }
        entry.apply(tick)
        entries[tick.venueSymbol] = entry
        changed.insert(tick.venueSymbol)
    }

    /// The venue said the symbol's market opened or closed.
    public mutating func market(venueSymbol: String, open: Bool, reason: String) {
        guard var entry = entry(venueSymbol), entry.marketOpen != open || (open ? nil : reason) != entry.marketReason else { return }
        entry.marketOpen = open
        entry.marketReason = open ? nil : reason
        entries[venueSymbol] = entry
        changed.insert(venueSymbol)
    }

    /// The values changed since the last call, in symbol order.
    public mutating func take() -> [LatestQuote] {
        guard !changed.isEmpty else { return [] }
        defer { changed.removeAll(keepingCapacity: true) }
        return changed.sorted().compactMap { entries[$0] }
    }

    private func entry(_ venueSymbol: String) -> LatestQuote? {
        if let existing = entries[venueSymbol] { return existing }
        guard let symbol = canonical[venueSymbol] else { return nil }
        return LatestQuote(source: source, symbol: symbol, venueSymbol: venueSymbol, instance: instance)
    }
}
