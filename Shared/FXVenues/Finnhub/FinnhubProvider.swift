import FXCore

/// Finnhub: `?token=KEY` on the URL, one subscribe message per symbol, one connection per API key and
/// 50 symbols per connection on the free plan. No sequences and no per-symbol heartbeats, so silence is
/// judged per symbol against its market hours (forex venues close for the weekend, crypto venues never).
public struct FinnhubProvider: MarketDataProvider {
    public let id = "finnhub"
    public init() {}

    public var defaults: ProviderDefaults {
        ProviderDefaults(webSocketURL: "wss://ws.finnhub.io", restURL: "https://finnhub.io/api/v1",
                         maxSymbolsPerConnection: 50, connectionsPerCredential: 1, requiresCredential: true,
                         tracker: .init(connectionStaleAfter: .seconds(60), symbolStaleAfter: .seconds(180), sequenceCheck: .off))
    }

    /// Exchange prefixes of Finnhub's crypto venues (trade around the clock).
    static let cryptoExchanges: Set<String> = ["BINANCE", "COINBASE", "KRAKEN", "BITFINEX", "BITSTAMP", "GEMINI", "HUOBI",
                                               "KUCOIN", "OKEX", "POLONIEX", "BITTREX", "HITBTC", "BYBIT", "GATEIO"]

    public func makeNormalizer(maxFrameBytes: Int) -> (any FrameNormalizer)? {
        FinnhubNormalizer(maxFrameBytes: maxFrameBytes)
    }

    public func webSocketURL(base: String, credential: ProviderCredential?) throws(ProviderError) -> String {
        guard let credential, !credential.key.isEmpty else {
            throw ProviderError(.missingCredential, provider: id, "an API key is required (FINNHUB_API_KEY or FINNHUB_API_KEY_FILE)")
        }
        guard credential.key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw ProviderError(.invalidCredential, provider: id, "the API key has characters a URL cannot carry as is")
        }
        return base + (base.contains("?") ? "&" : "?") + "token=" + credential.key
    }

    public func subscribeMessages(symbols: [String], credential: ProviderCredential?, now: Int64) throws(ProviderError) -> [String] {
        symbols.map { symbol in
            var writer = JSONWriter(capacity: 64)
            writer.beginObject()
            writer.key("type"); writer.string("subscribe")
            writer.key("symbol"); writer.string(symbol)
            writer.endObject()
            return String(decoding: writer.bytes, as: UTF8.self)
        }
    }

    public func canonicalSymbol(_ venueSymbol: String) -> String? { SymbolMapper.finnhub(venueSymbol) }

    public func marketHours(for venueSymbol: String) -> MarketHours {
        let exchange = venueSymbol.split(separator: ":", maxSplits: 1).first.map { $0.uppercased() } ?? ""
        return Self.cryptoExchanges.contains(exchange) ? .continuous : .forex
    }
}
