import FXContracts
import FXCore

/// What one provider frame turns into. A frame may carry several events (Finnhub batches trades),
/// and a bad item becomes a ``reject`` without losing its good neighbours.
public enum NormalizedEvent: Sendable, Equatable {
    case tick(Tick)
    /// A historical event the provider resends on subscribe (Coinbase `last_match`): published like a
    /// tick, but its old time and sequence must not close gaps or count as a sequence jump.
    case replayedTick(Tick)
    /// Proof of life for a product, with the provider's sequence when it has one.
    case heartbeat(venueSymbol: String, sequence: Int64?, lastTradeID: String?, timestamp: Int64?)
    /// The venue says whether a symbol's market is open (OANDA's `tradeable`, IG's `MARKET_STATE`): a
    /// closed market is quiet, not stale. `timestamp` is the venue's time of the statement.
    case marketState(venueSymbol: String, open: Bool, reason: String, timestamp: Int64)
    /// A message about one symbol's order book (snapshot or changed levels), for the ingestor's book keeper.
    case book(BookUpdate)
    /// Subscription acknowledgements, pings and other protocol traffic that carries no market data.
    case control(String)
    /// The venue asks the client to reconnect now (Binance's `serverShutdown`): the connection is replaced at
    /// once, without waiting for a backoff.
    case reconnect(String)
    /// The provider reported an error (e.g. "Subscribing to too many symbols").
    case providerError(String)
    /// Input that failed validation: never published as a tick, sent to `<prefix>rejects`.
    case reject(RejectReason, detail: String)
}

/// Why input was rejected: a stable code for metrics and the rejects topic.
public enum RejectReason: String, Sendable, CaseIterable {
    case malformedJSON = "malformed_json"
    case invalidUTF8 = "invalid_utf8"
    case tooLarge = "too_large"
    case unknownType = "unknown_type"
    case missingField = "missing_field"
    case invalidPrice = "invalid_price"
    case invalidSize = "invalid_size"
    case invalidTimestamp = "invalid_timestamp"
    case unmappedSymbol = "unmapped_symbol"
    case invalidSequence = "invalid_sequence"
    case invalidSource = "invalid_source"
    case invalidSymbol = "invalid_symbol"
    case invalidTradeID = "invalid_trade_id"
    case invalidDecimal = "invalid_decimal"
    /// A tick for a product this connection never subscribed to: not published.
    case unsubscribedSymbol = "unsubscribed_symbol"
}

extension NormalizedEvent {
    /// The event if it keeps the contract's limits (``ContractLimits``) at `now` (ns since the epoch), else
    /// a reject that says which limit it broke. Ticks: event time within 2000-01-01 ... now + 1 day, `seq`
    /// within 0 ... 2^62, names, trade id and decimals bounded, and the product subscribed on this
    /// connection. Heartbeats: sequence, numeric trade id and time bounded. Applied to every provider's
    /// output, so a normalizer cannot let an out-of-range value through.
    public func checkedAgainstContract(now: Int64, isSubscribed: (String) -> Bool) -> NormalizedEvent {
        contractReplacement(now: now, isSubscribed: isSubscribed) ?? self
    }

    /// What replaces the event when it breaks the contract's limits (see
    /// ``checkedAgainstContract(now:isSubscribed:)``); nil when it keeps them (the common case: nothing
    /// is copied).
    public func contractReplacement(now: Int64, isSubscribed: (String) -> Bool) -> NormalizedEvent? {
        do throws(ContractLimits.Violation) {
            switch self {
            case .tick(let tick), .replayedTick(let tick):
                guard isSubscribed(tick.venueSymbol) else {
                    return .reject(.unsubscribedSymbol, detail: "product \(ContractLimits.preview(tick.venueSymbol)) was not subscribed on this connection")
                }
                try ContractLimits.checkSource(tick.source)
                try ContractLimits.checkSymbol(tick.symbol)
                try ContractLimits.checkVenueSymbol(tick.venueSymbol)
                try ContractLimits.checkEventTime(tick.timestamp, now: now)
                try ContractLimits.checkSequence(tick.sequence)
                switch tick.payload {
                case .trade(let price, let size, _, let tradeID):
                    try ContractLimits.checkTradeID(tradeID)
                    try ContractLimits.checkDecimal(price, field: "price")
                    try ContractLimits.checkDecimal(size, field: "size")
                case .quote(let bid, let ask, let bidSize, let askSize):
                    if let bid { try ContractLimits.checkDecimal(bid, field: "bid") }
                    if let ask { try ContractLimits.checkDecimal(ask, field: "ask") }
                    if let bidSize { try ContractLimits.checkDecimal(bidSize, field: "bid_size") }
                    if let askSize { try ContractLimits.checkDecimal(askSize, field: "ask_size") }
                }
            case .heartbeat(let venue, let sequence, let lastTradeID, let timestamp):
                guard isSubscribed(venue) else { return .control("heartbeat for an unsubscribed product") }
                try ContractLimits.checkSequence(sequence, field: "sequence")
                if let lastTradeID, let number = Int64(lastTradeID) { try ContractLimits.checkSequence(number, field: "last_trade_id") }
                if let timestamp { try ContractLimits.checkEventTime(timestamp, field: "time", now: now) }
            case .marketState(let venue, _, _, let timestamp):
                guard isSubscribed(venue) else { return .control("market state of an unsubscribed product") }
                try ContractLimits.checkEventTime(timestamp, field: "time", now: now)
            case .book(let update):
                guard isSubscribed(update.venueSymbol) else {
                    return .reject(.unsubscribedSymbol, detail: "book of product \(ContractLimits.preview(update.venueSymbol)) was not subscribed on this connection")
                }
                if let timestamp = update.timestamp { try ContractLimits.checkEventTime(timestamp, now: now) }
                try ContractLimits.checkSequence(update.firstUpdateID, field: "first_update_id")
                try ContractLimits.checkSequence(update.lastUpdateID, field: "last_update_id")
            case .control, .providerError, .reject, .reconnect:
                break
            }
        } catch {
            return .reject(RejectReason(rawValue: error.reason) ?? .invalidTimestamp, detail: error.detail)
        }
        return nil
    }
}
