import FXCore

/// What a venue promises about its stream, and so how the ingestor watches it: how long the connection
/// and one symbol may stay silent while the market is open, and how missed messages show in the
/// venue's numbering. Each venue gives its defaults (``ProviderDefaults/tracker``); a feed may override them.
public struct FeedExpectations: Sendable, Equatable {
    public var connectionStaleAfter: Duration
    public var symbolStaleAfter: Duration
    public var sequenceCheck: SequenceCheck

    public init(connectionStaleAfter: Duration = .seconds(30), symbolStaleAfter: Duration = .seconds(120),
                sequenceCheck: SequenceCheck = .off) {
        self.connectionStaleAfter = connectionStaleAfter
        self.symbolStaleAfter = symbolStaleAfter
        self.sequenceCheck = sequenceCheck
    }

    public init(connectionStaleAfter: Duration = .seconds(30), symbolStaleAfter: Duration = .seconds(120), tracksSequence: Bool) {
        self.init(connectionStaleAfter: connectionStaleAfter, symbolStaleAfter: symbolStaleAfter,
                  sequenceCheck: tracksSequence ? .contiguous : .off)
    }
}

extension FeedExpectations {
    /// How missed messages are detected from the provider's numbering.
    public enum SequenceCheck: String, Sendable, Equatable, CaseIterable {
        /// No numbering (Finnhub).
        case off
        /// `seq` rises by exactly one per product over the subscribed messages (the ticks contract;
        /// what `fxsim` sends).
        case contiguous
        /// Trade ids rise by one per product, and a heartbeat's `last_trade_id` ahead of the last trade
        /// seen means trades were missed. Real Coinbase numbers *all* of a product's messages (order book
        /// included), so `seq` on matches/ticker/heartbeat jumps by design; trade ids do not.
        case tradeID = "trade_id"
    }
}
