import FXContracts

/// The hot layer as the monitor holds it: the newest `<prefix>latest` value per `source:symbol` (a
/// tombstone removes its key), bounded by `max_streams`. A value type behind the service's lock.
public struct QuoteBoard: Sendable {
    public private(set) var quotes: [String: LatestQuote] = [:]
    public let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    /// Applies one message of the latest topic: its key, and its value (nil: a tombstone). False when
    /// ignored (a new key beyond the limit, or a value whose key is not its `source:symbol`).
    @discardableResult
    public mutating func apply(key: String, value: LatestQuote?) -> Bool {
        guard let value else {
            quotes[key] = nil
            return true
        }
        guard value.key == key, quotes[key] != nil || quotes.count < limit else { return false }
        quotes[key] = value
        return true
    }

    /// Every quote, by key.
    public var snapshot: [LatestQuote] { quotes.keys.sorted().compactMap { quotes[$0] } }
}
