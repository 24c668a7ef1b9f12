import FXContracts
import FXCore
import FXVenues
import FuzzSupport

// REST history answers -> the providers' readers (CoinbaseHistory / FinnhubHistory `readHistory`, the
// shared `readRefusal`), plus `historyRequest` for a fuzzed venue symbol.
//
// Input: byte 0 = provider (bit 0), answer kind (bit 1: 200 body / refusal with status), window (bits
// 2-3), Finnhub forex or crypto venue (bit 4); byte 1 = refusal status index; the rest is the body.
// Invariants for `.candles`: oldest first, every start a requested minute, every candle sound
// (`defect == nil`), decimals within ContractLimits, forex volume 0; no reader traps on any body.

private let coinbase = CoinbaseProvider()
private let finnhub = FinnhubProvider()
private let credential = ProviderCredential(key: "fuzzkey123")
/// Minute-aligned windows (seconds): 2026-11-23 11:00 ... 11:59, one minute, 300 minutes, a day.
private let windows: [(Int64, Int64)] = [
    (1_795_431_600, 1_795_435_140), (1_795_435_200, 1_795_435_200), (1_795_417_200, 1_795_435_140), (1_795_348_800, 1_795_435_140),
]
private let statuses = [400, 401, 403, 404, 429, 500, 502, 503]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard bytes.count >= 2 else { return 0 }
    let selector = bytes[0]
    let body = Array(bytes.dropFirst(2))
    let history: any MarketHistory = selector & 1 == 0 ? coinbase : finnhub
    let (first, last) = windows[Int((selector >> 2) & 3)]
    let venue = selector & 1 == 0 ? "BTC-USD" : (selector & 16 == 0 ? "OANDA:EUR_USD" : "BINANCE:BTCUSDT")
    guard let request = try? history.historyRequest(base: "https://example.test/api", venueSymbol: venue, first: first, last: last,
                                                    credential: credential) else {
        require(false, "no request for \(venue)")
        return 0
    }
    require(!request.redactedURL.contains(credential.key), "credential in the redacted URL: \(request.redactedURL)")
    // A fuzzed venue symbol (the body's first line) must give a request or a ProviderError, and never leak the key.
    let line = body.prefix { $0 != 0x0A }
    if let fuzzedVenue = String(validating: line, as: UTF8.self),
       let fuzzed = try? history.historyRequest(base: "https://example.test/api", venueSymbol: fuzzedVenue, first: first, last: last, credential: credential) {
        require(!fuzzed.redactedURL.contains(credential.key) || fuzzedVenue.contains(credential.key), "credential in the redacted URL: \(fuzzed.redactedURL)")
    }

    let answer: HistoryAnswer
    if selector & 2 != 0 {
        answer = history.readRefusal(status: statuses[Int(bytes[1]) % statuses.count], body: body)
        if case .candles = answer { require(false, "a refusal read as candles") }
        return 0
    }
    do { answer = try history.readHistory(body, request: request) } catch { return 0 }
    guard case .candles(let candles) = answer else { return 0 }
    let forex = request.redactedURL.contains("/forex/candle?")
    var previous: Int64?
    for candle in candles {
        require(candle.defect == nil, "unsound candle \(candle)")
        require(candle.start % 60_000_000_000 == 0 && candle.start >= first * 1_000_000_000 && candle.start <= last * 1_000_000_000,
                "candle start \(candle.start) outside \(first)...\(last)")
        if let previous { require(previous <= candle.start, "candles out of order") }
        previous = candle.start
        if forex { require(candle.volume.isZero, "forex volume \(candle.volume)") }
        require(ContractLimits.isPlausibleEventTime(candle.start), "candle time \(candle.start)")
        // ContractLimits: decimals are checked where data enters, REST history readers included.
        for (name, value) in [("open", candle.open), ("high", candle.high), ("low", candle.low), ("close", candle.close), ("volume", candle.volume)] {
            do throws(ContractLimits.Violation) { try ContractLimits.checkDecimal(value, field: name) } catch {
                require(false, "history candle outside the contract's decimal limits: \(error)")
            }
        }
    }
    return 0
}
