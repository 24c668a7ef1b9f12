import FXCore

/// A price-level order book kept exactly: levels keyed by their numeric price, quantities absolute, text
/// as the venue sent it. Bids are kept best (highest) first, asks best (lowest) first.
///
/// Rules that the venues' books need and that are easy to get wrong:
/// - a snapshot **replaces** the book (``replace(bids:asks:)``): no level of the old book survives;
/// - an update sets a level's absolute quantity; a zero quantity deletes it (deleting an absent level is
///   not an error: venues send them);
/// - with a ``depth``, each side is cut to that many levels after every message (``truncate()``): Kraken
///   sends no deletes for levels pushed out of the subscribed depth.
public struct OrderBook: Sendable, Equatable {
    public enum Side: String, Sendable, CaseIterable {
        case bid, ask
    }

    struct Entry: Sendable, Equatable {
        var key: DecimalText
        var level: BookLevel
    }

    private var bidEntries: [Entry] = []
    private var askEntries: [Entry] = []
    /// Levels kept per side after each message; nil keeps every level.
    public var depth: Int?

    public init(depth: Int? = nil) {
        self.depth = depth
    }

    /// Bids, best (highest price) first.
    public var bids: [BookLevel] { bidEntries.map(\.level) }
    /// Asks, best (lowest price) first.
    public var asks: [BookLevel] { askEntries.map(\.level) }
    public var bestBid: BookLevel? { bidEntries.first?.level }
    public var bestAsk: BookLevel? { askEntries.first?.level }
    public var isEmpty: Bool { bidEntries.isEmpty && askEntries.isEmpty }
    public func count(_ side: Side) -> Int { side == .bid ? bidEntries.count : askEntries.count }

    /// The level at `index` from the best price of `side`.
    public func level(_ side: Side, at index: Int) -> BookLevel {
        side == .bid ? bidEntries[index].level : askEntries[index].level
    }

    /// True when the best bid is at or above the best ask: a book no venue can be in, so a sign of a
    /// missed update.
    public var isCrossed: Bool {
        guard let bid = bidEntries.first?.key, let ask = askEntries.first?.key else { return false }
        return !(bid < ask)
    }

    /// Replaces the whole book with a snapshot (zero quantities in it are skipped; a price given twice
    /// keeps the later quantity), then truncates to ``depth``.
    public mutating func replace(bids: [BookLevel], asks: [BookLevel]) throws(BookError) {
        var fresh = OrderBook(depth: depth)
        for level in bids { try fresh.apply(.bid, level) }
        for level in asks { try fresh.apply(.ask, level) }
        fresh.truncate()
        self = fresh
    }

    /// Sets one level's absolute quantity (zero deletes it). Does not truncate: call ``truncate()`` after
    /// the message's last level, as the venues specify.
    public mutating func apply(_ side: Side, _ level: BookLevel) throws(BookError) {
        let checked = try BookLevel.validated(price: level.price, quantity: level.quantity)
        apply(side, key: checked.key, level: level, isDeletion: checked.isDeletion)
    }

    /// ``apply(_:_:)`` for a level already validated.
    public mutating func apply(_ side: Side, key: DecimalText, level: BookLevel, isDeletion: Bool) {
        switch side {
        case .bid: Self.set(&bidEntries, key: key, level: level, delete: isDeletion, descending: true)
        case .ask: Self.set(&askEntries, key: key, level: level, delete: isDeletion, descending: false)
        }
    }

    /// Cuts each side to ``depth`` levels (no-op without a depth).
    public mutating func truncate() {
        guard let depth, depth >= 0 else { return }
        if bidEntries.count > depth { bidEntries.removeLast(bidEntries.count - depth) }
        if askEntries.count > depth { askEntries.removeLast(askEntries.count - depth) }
    }

    /// The numeric prices of a side, best first (for comparing books whose venues wrote prices differently).
    public func prices(_ side: Side) -> [DecimalText] { (side == .bid ? bidEntries : askEntries).map(\.key) }

    private static func set(_ entries: inout [Entry], key: DecimalText, level: BookLevel, delete: Bool, descending: Bool) {
        // Binary search for the first entry not better than `key`.
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let other = entries[middle].key
            let otherIsBetter = descending ? key < other : other < key
            if otherIsBetter { low = middle + 1 } else { high = middle }
        }
        let found = low < entries.count && entries[low].key == key
        switch (found, delete) {
        case (true, true): entries.remove(at: low)
        case (true, false): entries[low].level = level
        case (false, false): entries.insert(Entry(key: key, level: level), at: low)
        case (false, true): break
        }
    }
}
