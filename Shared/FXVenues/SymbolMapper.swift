import Synchronization

/// Maps provider symbols to the canonical upper-case `BASE/QUOTE` form.
public enum SymbolMapper {
    /// Quote currencies recognised at the end of concatenated symbols (`BTCUSDT`), longest first.
    static let knownQuotes = ["USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "EUR", "GBP", "JPY", "CHF", "AUD",
                              "CAD", "NZD", "BTC", "ETH", "BNB", "TRY", "BRL"]

    /// `BTC-USD` -> `BTC/USD`.
    public static func coinbase(_ productID: String) -> String? {
        pair(productID.split(separator: "-", omittingEmptySubsequences: false))
    }

    /// Kraken v2 names pairs `BTC/USD` already: checked and upper-cased.
    public static func kraken(_ symbol: String) -> String? {
        pair(symbol.split(separator: "/", omittingEmptySubsequences: false))
    }

    /// Binance names pairs by concatenation (`BTCUSDT`, any case): split before a known quote currency.
    public static func binance(_ symbol: String) -> String? {
        let upper = symbol.uppercased()
        for quote in knownQuotes where upper.hasSuffix(quote) && upper.count > quote.count {
            return pair([Substring(upper.dropLast(quote.count)), Substring(quote)])
        }
        return nil
    }

    /// `OANDA:EUR_USD` -> `EUR/USD`; `BINANCE:BTCUSDT` -> `BTC/USDT`; `FXCM:EUR/USD` -> `EUR/USD`.
    public static func finnhub(_ symbol: String) -> String? {
        let parts = symbol.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return nil }
        let instrument = parts[1]
        for separator in ["_", "/", "-"] where instrument.contains(separator) {
            return pair(instrument.split(separator: Character(separator), omittingEmptySubsequences: false))
        }
        let upper = instrument.uppercased()
        for quote in knownQuotes where upper.hasSuffix(quote) && upper.count > quote.count {
            return pair([Substring(upper.dropLast(quote.count)), Substring(quote)])
        }
        return nil
    }

    private static func pair(_ parts: [Substring]) -> String? {
        // Byte-level ASCII check: Character.isLetter consults Unicode tables and dominated the profile.
        guard parts.count == 2, parts.allSatisfy({ part in
            !part.isEmpty && part.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            }
        }) else {
            return nil
        }
        return "\(parts[0].uppercased())/\(parts[1].uppercased())"
    }
}

/// Remembers venue symbol -> canonical symbol for one normalizer (a feed repeats a few symbols millions of
/// times). Bounded: past `limit` entries new symbols are mapped without being remembered.
final class SymbolCache: Sendable {
    private let entries = Mutex<[String: String]>([:])
    private let limit: Int
    private let map: @Sendable (String) -> String?

    init(limit: Int = 10_000, map: @escaping @Sendable (String) -> String?) {
        self.limit = limit
        self.map = map
    }

    func canonical(_ venue: String) -> String? {
        if let hit = entries.withLock({ $0[venue] }) { return hit }
        guard let mapped = map(venue) else { return nil }
        entries.withLock { if $0.count < limit { $0[venue] = mapped } }
        return mapped
    }
}
