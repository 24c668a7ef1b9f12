import FXContracts
import FXVenues

/// One connection's hot layer: the latest quote, last trade and market state of each of its symbols, and
/// which changed since they were last published to `<prefix>latest` (a value type; the connection keeps
/// it behind a lock and the ingestor publishes what ``take()`` returns, at most once per interval per
/// symbol: the values are conflated, the ticks topic has every tick).
public struct LatestBoard: Sendable {
    /// Venue symbol -> its slot; slots are in venue-symbol order (the order ``take()`` returns them in).
    private let slots: [String: Int]
    /// Per slot: the symbol's values (nil until its first tick or market state), and whether they changed
    /// since the last ``take()``. Updated in place: one lookup per tick, no copy of the entry.
    private var entries: [LatestQuote?]
    private var changed: [Bool]
    private var changes = 0
    private let venueSymbols: [String]
    private let canonical: [String]
    private let source: String
    private let instance: String

    /// - Parameter symbols: venue symbol -> canonical symbol of the connection.
    public init(source: String, instance: String, symbols: [String: String]) {
        self.source = source
        self.instance = instance
        let ordered = symbols.keys.sorted()
        self.venueSymbols = ordered
        self.canonical = ordered.map { symbols[$0]! }
        self.slots = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
        self.entries = Array(repeating: nil, count: ordered.count)
        self.changed = Array(repeating: false, count: ordered.count)
    }

    public mutating func apply(_ tick: Tick) {
        guard let slot = slots[tick.venueSymbol] else { return }
        // A pattern match, not `== nil`: LatestQuote is Equatable, and that comparison copied the entry.
        if case .none = entries[slot] { entries[slot] = newEntry(slot) }
        entries[slot]!.apply(tick)
        markChanged(slot)
    }

    /// The venue said the symbol's market opened or closed.
    public mutating func market(venueSymbol: String, open: Bool, reason: String) {
        guard let slot = slots[venueSymbol] else { return }
        let entry = entries[slot] ?? newEntry(slot)
        guard entry.marketOpen != open || (open ? nil : reason) != entry.marketReason else { return }
        if case .none = entries[slot] { entries[slot] = entry }
        entries[slot]!.marketOpen = open
        entries[slot]!.marketReason = open ? nil : reason
        markChanged(slot)
    }

    /// The values changed since the last call, in symbol order.
    public mutating func take() -> [LatestQuote] {
        guard changes > 0 else { return [] }
        var values: [LatestQuote] = []
        values.reserveCapacity(changes)
        for slot in changed.indices where changed[slot] {
            changed[slot] = false
            if let entry = entries[slot] { values.append(entry) }
        }
        changes = 0
        return values
    }

    private mutating func markChanged(_ slot: Int) {
        guard !changed[slot] else { return }
        changed[slot] = true
        changes += 1
    }

    private func newEntry(_ slot: Int) -> LatestQuote {
        LatestQuote(source: source, symbol: canonical[slot], venueSymbol: venueSymbols[slot], instance: instance)
    }
}
