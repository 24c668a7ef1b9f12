import FXCore

/// One venue's own order book of a pair, in integer units (prices at ``priceScale`` decimals, quantities at
/// ``qtyScale``), stepped by small random changes near the top: the truth the simulated book feeds
/// (Kraken, Binance, Coinbase) publish from and that specs compare the ingestor's books with.
struct SimBook: Sendable {
    static let priceScale = 2
    static let qtyScale = 8

    enum Side: Sendable { case bid, ask }

    /// A trade one step produced: at the best level of the side it took, `buy` = the taker bought.
    struct Trade: Sendable {
        var id: Int64
        var price: Int64
        var qty: Int64
        var buy: Bool
    }

    var bids: [Int64: Int64] = [:]
    var asks: [Int64: Int64] = [:]
    var mid: Int64
    var tradeID: Int64
    var random: SplitMix64
    /// The time of the latest change (ns).
    var ts: Int64
    /// Counts every level change (Binance's update ids).
    var updateID: Int64

    /// A book 40 levels deep per side around a mid chosen from the pair's name and `seed`.
    init(venue: String, symbol: String, seed: UInt64, now: Int64) {
        var random = SplitMix64(seed: seed ^ FNV1a.hash64(venue + ":" + symbol))
        let upper = symbol.uppercased()
        mid = upper.hasPrefix("BTC") || upper.hasPrefix("XBT") ? 5_000_000 : upper.hasPrefix("ETH") ? 300_000 : Int64(1_000 + random.next() % 600_000)
        tradeID = Int64(random.next() % 1_000_000)
        updateID = Int64(1_000 + random.next() % 1_000_000)
        ts = now
        for offset in 1...40 {
            // Some levels end in a zero (…10, …20): their text must survive to a checksum.
            bids[mid - Int64(offset)] = Int64(1 + random.next() % 500_000_000)
            asks[mid + Int64(offset)] = Int64(1 + random.next() % 500_000_000)
        }
        self.random = random
    }

    func top(_ side: Side, _ count: Int) -> [(Int64, Int64)] {
        switch side {
        case .bid: return bids.sorted { $0.key > $1.key }.prefix(count).map { ($0.key, $0.value) }
        case .ask: return asks.sorted { $0.key < $1.key }.prefix(count).map { ($0.key, $0.value) }
        }
    }

    /// One step: 1-3 level changes near the top (sets, inserts, deletes; each one update id), levels added
    /// at the far end to keep 20 per side, sometimes a trade. Returns the changed levels (quantity 0: deleted).
    mutating func step(now: Int64) -> (bids: [(Int64, Int64)], asks: [(Int64, Int64)], trade: Trade?) {
        ts = max(now, ts + 1)
        var changedBids: [Int64: Int64] = [:], changedAsks: [Int64: Int64] = [:]
        let changes = 1 + Int(random.next() % 3)
        for _ in 0..<changes {
            let side: Side = random.next() & 1 == 0 ? .bid : .ask
            let distance = Int64(1 + random.next() % 15)
            let price = side == .bid ? mid - distance : mid + distance
            let quantity: Int64? = random.next() % 4 == 0 ? nil : Int64(1 + random.next() % 500_000_000)
            switch side {
            case .bid: bids[price] = quantity; changedBids[price] = quantity ?? 0
            case .ask: asks[price] = quantity; changedAsks[price] = quantity ?? 0
            }
            updateID += 1
        }
        while bids.count < 20 {
            let price = (bids.keys.min() ?? mid) - 1
            bids[price] = 100_000_000; changedBids[price] = 100_000_000; updateID += 1
        }
        while asks.count < 20 {
            let price = (asks.keys.max() ?? mid) + 1
            asks[price] = 100_000_000; changedAsks[price] = 100_000_000; updateID += 1
        }
        var trade: Trade?
        if random.next() % 3 == 0, let bid = bids.keys.max(), let ask = asks.keys.min() {
            tradeID += 1
            let buy = random.next() & 1 == 0
            trade = Trade(id: tradeID, price: buy ? ask : bid, qty: Int64(1 + random.next() % 100_000_000), buy: buy)
        }
        return (changedBids.sorted { $0.key > $1.key }.map { ($0.key, $0.value) },
                changedAsks.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, trade)
    }

    static func text(_ units: Int64, _ scale: Int) -> String { SimInstrument.decimal(units, scale: scale) }
    static func price(_ units: Int64) -> String { text(units, priceScale) }
    static func qty(_ units: Int64) -> String { text(units, qtyScale) }
}
