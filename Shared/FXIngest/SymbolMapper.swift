/// Maps provider symbols to the canonical upper-case `BASE/QUOTE` form.
public enum SymbolMapper {
    /// Quote currencies recognised at the end of concatenated symbols (`BTCUSDT`), longest first.
    static let knownQuotes = ["USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "EUR", "GBP", "JPY", "CHF", "AUD",
                              "CAD", "NZD", "BTC", "ETH", "BNB", "TRY", "BRL"]

    /// `BTC-USD` -> `BTC/USD`.
    public static func coinbase(_ productID: String) -> String? {
        pair(productID.split(separator: "-", omittingEmptySubsequences: false))
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
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }) else {
            return nil
        }
        return "\(parts[0].uppercased())/\(parts[1].uppercased())"
    }
}
