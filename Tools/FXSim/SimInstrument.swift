import FXCore

/// One simulated instrument: an exact-decimal random walk (integer units at a fixed scale, so prices
/// never pass through binary floating point), its provider sequence and trade ids.
struct SimInstrument: Sendable {
    enum Venue: String, Sendable { case coinbase, finnhub, oanda, ig }

    let venue: Venue
    let symbol: String
    /// Digits after the decimal point of the price.
    let priceScale: Int
    let sizeScale = 8
    /// Finnhub forex venues publish price updates with volume 0.
    let zeroVolume: Bool
    private(set) var priceUnits: Int64
    private(set) var sequence: Int64
    private(set) var lastTradeID: Int64 = 0
    /// The last trade as streamed (for Coinbase's `last_match` on subscribe), with its sequence and time.
    private(set) var lastTrade: (trade: SimTrade, sequence: Int64, time: Int64)?
    private var random: SplitMix64

    init(venue: Venue, symbol: String, seed: UInt64) {
        self.venue = venue
        self.symbol = symbol
        var random = SplitMix64(seed: seed ^ FNV1a.hash64(venue.rawValue + ":" + symbol))
        let upper = symbol.uppercased()
        switch venue {
        case .coinbase:
            priceScale = 2
            zeroVolume = false
            // 10.00 ... 60,000.00, BTC and ETH near their usual levels.
            priceUnits = upper.hasPrefix("BTC-") ? 5_000_000 : upper.hasPrefix("ETH-") ? 300_000 : Int64(1_000 + random.next() % 6_000_000)
        case .oanda, .ig:
            // Quotes only: the walk is the mid, one unit inside the spread either side.
            zeroVolume = true
            priceScale = upper.contains("JPY") ? 3 : 5
            priceUnits = upper.contains("JPY") ? 150_000 + Int64(random.next() % 5_000) : 100_000 + Int64(random.next() % 40_000)
        case .finnhub:
            let isForex = !upper.hasPrefix("BINANCE:") && !upper.hasPrefix("COINBASE:") && !upper.hasPrefix("KRAKEN:")
            zeroVolume = isForex
            if !isForex {
                priceScale = 2
                priceUnits = upper.contains("BTC") ? 5_000_000 : upper.contains("ETH") ? 300_000 : Int64(1_000 + random.next() % 600_000)
            } else if upper.contains("JPY") {
                priceScale = 3
                priceUnits = 150_000 + Int64(random.next() % 5_000)
            } else {
                priceScale = 5
                priceUnits = 100_000 + Int64(random.next() % 40_000)
            }
        }
        sequence = Int64(1_000 + random.next() % 1_000_000)
        lastTradeID = Int64(random.next() % 1_000_000)
        self.random = random
    }

    /// A trade, if this step has one: the walk moves by -3...+3 units (never below 1 unit).
    mutating func step(tradeProbability: Double) -> SimTrade? {
        let draw = Double(random.next() >> 11) / Double(1 << 53)
        guard draw < tradeProbability else { return nil }
        let delta = Int64(random.next() % 7) - 3
        priceUnits = max(1, priceUnits + delta)
        let sizeUnits: Int64 = zeroVolume ? 0 : Int64(1 + random.next() % 200_000_000)
        lastTradeID += 1
        let makerSell = random.next() & 1 == 0
        return SimTrade(priceUnits: priceUnits, sizeUnits: sizeUnits, tradeID: lastTradeID, makerSideSell: makerSell)
    }

    mutating func recordLast(_ trade: SimTrade, sequence: Int64, time: Int64) {
        lastTrade = (trade, sequence, time)
    }

    /// The next provider sequence number (one per message for this product).
    mutating func nextSequence() -> Int64 {
        sequence += 1
        return sequence
    }

    func price(_ units: Int64) -> String { Self.decimal(units, scale: priceScale) }
    func size(_ units: Int64) -> String { Self.decimal(units, scale: sizeScale) }
    /// Best bid/ask around the last trade, one and two units away.
    func quote() -> (bid: String, ask: String) { (price(max(1, priceUnits - 1)), price(priceUnits + 1)) }

    /// `units / 10^scale` as plain decimal text, e.g. (5000012, 2) -> "50000.12".
    static func decimal(_ units: Int64, scale: Int) -> String {
        guard scale > 0 else { return String(units) }
        let negative = units < 0
        var digits = String(units.magnitude)
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let point = digits.index(digits.endIndex, offsetBy: -scale)
        return (negative ? "-" : "") + digits[..<point] + "." + digits[point...]
    }
}

struct SimTrade: Sendable {
    var priceUnits: Int64
    var sizeUnits: Int64
    var tradeID: Int64
    var makerSideSell: Bool
}
