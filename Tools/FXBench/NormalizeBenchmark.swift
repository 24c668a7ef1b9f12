import ArgumentParser
import Foundation
import FXContracts
import FXCore
import FXVenues

/// Normalization messages per second on one core: the project's normalizers (parse, validate, exact
/// decimals, build ticks) vs Foundation's `JSONDecoder` merely decoding the same payloads into Codable
/// structs (prices as String for Coinbase, Decimal for Finnhub) — the baseline does less work.
struct NormalizeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "normalize")
    @OptionGroup var options: BenchOptions
    @Option(help: "Messages per round and payload.") var messages: Int = 200_000

    static let coinbaseMatch = Array(#"{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}"#.utf8)
    static let finnhubTrade = Array(#"{"data":[{"c":null,"p":1.08765,"s":"OANDA:EUR_USD","t":1575526691134,"v":0}],"type":"trade"}"#.utf8)

    struct CoinbaseMatch: Decodable {
        let type: String, trade_id: Int, sequence: Int, maker_order_id: String, taker_order_id: String
        let time: String, product_id: String, size: String, price: String, side: String
    }

    struct FinnhubItem: Decodable { let p: Decimal, s: String, t: Int64, v: Decimal }
    struct FinnhubTrade: Decodable { let data: [FinnhubItem], type: String }

    func run() async throws {
        let coinbase = CoinbaseNormalizer()
        let finnhub = FinnhubNormalizer()
        let decoder = JSONDecoder()
        var coinbaseReport = RatioReport(name: "normalize Coinbase match vs JSONDecoder", unit: "msg/s")
        var finnhubReport = RatioReport(name: "normalize Finnhub trade vs JSONDecoder", unit: "msg/s")
        // What the ingestor does per frame since the contract limits: normalize, then check each event.
        var checkedReport = RatioReport(name: "normalize + contract check vs normalize (Coinbase match)", unit: "msg/s")
        // The tick's message for the ticks topic: written into one array sized in advance vs with JSONWriter.
        var encodeReport = RatioReport(name: "encode a tick: sized buffer vs JSONWriter", unit: "msg/s")
        let now: Int64 = 1_800_000_000_000_000_000
        let subscribed: Set<String> = ["BTC-USD"]
        for _ in 0..<options.rounds {
            let baseC = try time { for _ in 0..<messages { _ = try decoder.decode(CoinbaseMatch.self, from: Data(Self.coinbaseMatch)) } }
            let ours = try time {
                for _ in 0..<messages {
                    guard case .tick = coinbase.normalize(Self.coinbaseMatch, receivedAt: 0).first else { throw ValidationError("not a tick") }
                }
            }
            coinbaseReport.add(baseline: Double(messages) / baseC, bridge: Double(messages) / ours)
            let checked = try time {
                for _ in 0..<messages {
                    let events = coinbase.normalize(Self.coinbaseMatch, receivedAt: 0)
                    guard case .tick? = events.first, events[0].contractReplacement(now: now, isSubscribed: { subscribed.contains($0) }) == nil
                    else { throw ValidationError("not a tick") }
                }
            }
            checkedReport.add(baseline: Double(messages) / ours, bridge: Double(messages) / checked)
            let baseF = try time { for _ in 0..<messages { _ = try decoder.decode(FinnhubTrade.self, from: Data(Self.finnhubTrade)) } }
            let oursF = try time {
                for _ in 0..<messages {
                    guard case .tick = finnhub.normalize(Self.finnhubTrade, receivedAt: 0).first else { throw ValidationError("not a tick") }
                }
            }
            finnhubReport.add(baseline: Double(messages) / baseF, bridge: Double(messages) / oursF)
            guard case .tick(let tick)? = coinbase.normalize(Self.coinbaseMatch, receivedAt: now).first else { throw ValidationError("not a tick") }
            var written = 0
            let withWriter = time { for _ in 0..<messages { written &+= tick.jsonBytesWithWriter().count } }
            let sized = time { for _ in 0..<messages { written &+= tick.jsonBytes().count } }
            encodeReport.add(baseline: Double(messages) / withWriter, bridge: Double(messages) / sized)
            if written == 0 { throw ValidationError("nothing encoded") }
        }
        coinbaseReport.printSummary(goal: 5)
        finnhubReport.printSummary(goal: 5)
        checkedReport.printSummary(goal: nil)
        encodeReport.printSummary(goal: nil)
    }

    private func time(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return seconds(ContinuousClock.now - start)
    }
}
