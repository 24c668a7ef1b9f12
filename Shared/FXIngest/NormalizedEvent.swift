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
    /// Subscription acknowledgements, pings and other protocol traffic that carries no market data.
    case control(String)
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
}
