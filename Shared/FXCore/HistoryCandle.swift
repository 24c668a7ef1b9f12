/// One candle of a provider's REST history (the venue's own aggregation of every trade in the bucket),
/// exact decimals as the provider wrote them.
public struct HistoryCandle: Sendable, Equatable {
    /// Bucket start, ns since the epoch (UTC).
    public var start: Int64
    public var open: DecimalText
    public var high: DecimalText
    public var low: DecimalText
    public var close: DecimalText
    public var volume: DecimalText
    /// Which prices: `trade` (the default: a venue's trade candles), or `mid`, `bid`, `ask` (a quote
    /// venue's candles, e.g. OANDA's bid/ask history; mid candles carry volume 0, as streamed mids do).
    public var priceType: String

    public init(start: Int64, open: DecimalText, high: DecimalText, low: DecimalText, close: DecimalText, volume: DecimalText,
                priceType: String = "trade") {
        self.priceType = priceType
        self.start = start
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    /// Why this candle cannot be stored (prices not positive, open/close outside low...high, negative
    /// volume), or nil when it is sound.
    public var defect: String? {
        guard open.isPositive, high.isPositive, low.isPositive, close.isPositive else { return "prices must be positive" }
        guard low <= open, open <= high, low <= close, close <= high else { return "open/close outside low...high" }
        guard !volume.isNegative else { return "negative volume" }
        return nil
    }
}
