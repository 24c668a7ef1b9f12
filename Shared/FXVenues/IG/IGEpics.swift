import FXContracts
import FXCore

/// IG Markets' instruments over Lightstreamer: each epic streams as two subscriptions, its ticks
/// (`CHART:{epic}:TICK`, DISTINCT: `BID OFR LTP LTV TTV UTM`, `UTM` epoch milliseconds) and its market
/// state (`MARKET:{epic}`, MERGE: `MARKET_STATE UPDATE_TIME`). One IG session carries at most 40
/// subscriptions, so 20 epics; IG's terms forbid extra sessions to get around it, so an account streams
/// at most 20 epics and a larger list is refused with that number.
public enum IGEpics {
    public static let subscriptionsPerSession = 40
    public static let maxEpicsPerSession = subscriptionsPerSession / 2
    public static let tickFields = ["BID", "OFR", "LTP", "LTV", "TTV", "UTM"]
    public static let marketFields = ["MARKET_STATE", "UPDATE_TIME"]

    /// `CS.D.EURUSD.CFD.IP` -> `EUR/USD` (the third part, a six-letter currency pair); an explicit
    /// mapping (`overrides`, epic -> canonical) wins. Nil when neither says.
    public static func canonical(_ epic: String, overrides: [String: String] = [:]) -> String? {
        if let mapped = overrides[epic] { return mapped }
        let parts = epic.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[2].count == 6, parts[2].utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { return nil }
        return "\(parts[2].prefix(3))/\(parts[2].suffix(3))"
    }

    /// An epic as IG writes them: dot-separated parts of A-Z, 0-9 and `_` (it goes into item names).
    public static func isEpic(_ epic: String) -> Bool {
        let parts = epic.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && epic.utf8.count <= 64 && parts.allSatisfy { part in
            !part.isEmpty && part.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        }
    }

    /// The session's two subscriptions for `epics` (ticks: id 1, items in order; market state: id 2).
    public static func subscriptions(_ epics: [String]) throws(ProviderError) -> [TLCPSession.Subscription] {
        guard epics.count <= maxEpicsPerSession else {
            throw ProviderError(.tooManySymbols, provider: "ig",
                                "\(epics.count) epics need \(epics.count * 2) subscriptions; one IG session allows \(subscriptionsPerSession) " +
                                "(\(maxEpicsPerSession) epics), and IG's terms forbid extra sessions to get around it")
        }
        if let bad = epics.first(where: { !isEpic($0) }) {
            throw ProviderError(.invalidSymbol, provider: "ig", "'\(bad.prefix(64))' is not an IG epic such as CS.D.EURUSD.CFD.IP")
        }
        return [TLCPSession.Subscription(id: 1, mode: "DISTINCT", items: epics.map { "CHART:\($0):TICK" }, fields: tickFields, snapshot: false),
                TLCPSession.Subscription(id: 2, mode: "MERGE", items: epics.map { "MARKET:\($0)" }, fields: marketFields, snapshot: true)]
    }

    /// One decoded update (``TLCPSession/Action/update(subscription:item:values:)``) as normalized events:
    /// a tick item's `BID`/`OFR` become a quote (exact decimals as written; `UTM` the event time), its
    /// `LTP`/`LTV` a trade when both are present; a market item's `MARKET_STATE` says whether the market is
    /// open (`TRADEABLE`) or closed (anything else: `CLOSED`, `OFFLINE`, `SUSPENDED`, `EDITS_ONLY`, ...).
    public static func events(subscription: Int, item: Int, values: [String?], epics: [String], receivedAt: Int64,
                              overrides: [String: String] = [:]) -> [NormalizedEvent] {
        guard item >= 1, item <= epics.count else { return [.reject(.unsubscribedSymbol, detail: "item \(item) of \(epics.count)")] }
        let epic = epics[item - 1]
        guard let symbol = canonical(epic, overrides: overrides) else { return [.reject(.unmappedSymbol, detail: "epic '\(epic.prefix(64))'")] }
        switch subscription {
        case 1:
            guard values.count == tickFields.count else { return [.reject(.missingField, detail: "\(epic): \(values.count) tick fields")] }
            guard let utm = values[5], let milliseconds = Int64(utm), let ts = Timestamps.nanoseconds(milliseconds: milliseconds) else {
                return [.reject(.invalidTimestamp, detail: "\(epic): UTM missing or not epoch milliseconds")]
            }
            func decimal(_ index: Int) -> Result<DecimalText?, Never>? {
                guard let text = values[index], !text.isEmpty else { return .success(nil) }
                guard let value = DecimalText(text) else { return nil }
                return .success(value)
            }
            guard case .success(let bid)? = decimal(0), case .success(let ask)? = decimal(1),
                  case .success(let last)? = decimal(2), case .success(let volume)? = decimal(3) else {
                return [.reject(.invalidPrice, detail: "\(epic): a price or volume is not a decimal")]
            }
            var events: [NormalizedEvent] = []
            if bid != nil || ask != nil {
                if let bid, let ask, ask < bid { return [.reject(.invalidPrice, detail: "\(epic): crossed quote, offer \(ask) < bid \(bid)")] }
                if bid.map({ !$0.isPositive }) == true || ask.map({ !$0.isPositive }) == true {
                    return [.reject(.invalidPrice, detail: "\(epic): a price is not positive")]
                }
                events.append(.tick(Tick(source: "ig", symbol: symbol, venueSymbol: epic, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                                         payload: .quote(bid: bid, ask: ask, bidSize: nil, askSize: nil))))
            }
            if let last, let volume, last.isPositive, !volume.isNegative {
                events.append(.tick(Tick(source: "ig", symbol: symbol, venueSymbol: epic, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                                         payload: .trade(price: last, size: volume, side: nil, tradeID: nil))))
            }
            return events
        case 2:
            guard let state = values.first ?? nil else { return [] }
            return [.marketState(venueSymbol: epic, open: state == "TRADEABLE", reason: "\(state) (IG)", timestamp: receivedAt)]
        default:
            return [.reject(.unknownType, detail: "subscription \(subscription)")]
        }
    }
}
