import ArgumentParser
import Foundation
import FXCore
import FXVenues

/// The forex brokers' stream decoding on one core, each against a baseline measured in the same round:
/// - OANDA: a chunked pricing stream (1,400-byte chunks) through ``LineReader`` and ``OandaNormalizer``
///   (lines, validation, exact decimals, quote ticks) vs splitting the same bytes on newlines and
///   `JSONDecoder` decoding each line into Codable structs (prices as String): the baseline does less.
/// - TLCP: `U` update values through ``TLCPItemState`` (unchanged fields, `#`/`$`/`^N`, percent-decoding,
///   per-item state) vs a bare `split(separator: "|")` of the same values into Strings.
struct QuoteStreamBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quote-streams")
    @OptionGroup var options: BenchOptions
    @Option(help: "Messages per round and payload.") var messages: Int = 100_000

    static let price = #"{"type":"PRICE","time":"2026-12-04T10:00:00.123456789Z","bids":[{"price":"1.09177","liquidity":10000000},{"price":"1.09176","liquidity":5000000}],"asks":[{"price":"1.09189","liquidity":10000000},{"price":"1.09191","liquidity":5000000}],"closeoutBid":"1.09162","closeoutAsk":"1.09204","status":"tradeable","tradeable":true,"instrument":"EUR_USD"}"#

    struct Level: Decodable { let price: String, liquidity: Int64 }
    struct Price: Decodable {
        let type: String, time: String, bids: [Level], asks: [Level], closeoutBid: String, closeoutAsk: String
        let status: String, tradeable: Bool, instrument: String
    }

    /// TLCP updates of a CHART:...:TICK item (BID OFR LTP LTV TTV UTM): a full one, then mostly deltas.
    static let updates = ["1.09177|1.09189|#|#|#|1733400000123", "1.09178||||^1|1733400000223", "|1.09190|^3|1733400000323",
                          "1.09176|1.09188|$|#|^1|1733400000423"]

    func run() async throws {
        let stream = Array(String(repeating: Self.price + "\n", count: messages).utf8)
        let chunks = stride(from: 0, to: stream.count, by: 1_400).map { Array(stream[$0..<min($0 + 1_400, stream.count)]) }
        var oanda = RatioReport(name: "OANDA stream: LineReader + normalize vs newline split + JSONDecoder", unit: "msg/s")
        var tlcp = RatioReport(name: "TLCP update values: TLCPItemState vs split on |", unit: "msg/s")
        let decoder = JSONDecoder()
        let normalizer = OandaNormalizer()
        for _ in 0..<options.rounds {
            let base = try time {
                var count = 0
                var pending: [UInt8] = []
                for chunk in chunks {
                    pending += chunk
                    var start = pending.startIndex
                    while let end = pending[start...].firstIndex(of: 0x0A) {
                        _ = try decoder.decode(Price.self, from: Data(pending[start..<end]))
                        start = end + 1
                        count += 1
                    }
                    pending.removeSubrange(..<start)
                }
                guard count == messages else { throw ValidationError("baseline read \(count) lines") }
            }
            let ours = try time {
                var reader = LineReader(maxLineBytes: 64 * 1024)
                var count = 0
                for chunk in chunks {
                    for case .line(let line) in reader.append(chunk) {
                        guard case .tick? = normalizer.normalize(line, receivedAt: 0).last else { throw ValidationError("not a quote") }
                        count += 1
                    }
                }
                guard count == messages else { throw ValidationError("read \(count) lines") }
            }
            oanda.add(baseline: Double(messages) / base, bridge: Double(messages) / ours)
            let updates = Self.updates.map { Substring($0) }
            let baseT = time {
                var fields = 0
                for index in 0..<messages { fields += updates[index & 3].split(separator: "|", omittingEmptySubsequences: false).map(String.init).count }
                precondition(fields > 0)
            }
            let oursT = try time {
                var state = TLCPItemState(fieldCount: 6)
                for index in 0..<messages { _ = try state.apply(item: 1, encoded: updates[index & 3]) }
            }
            tlcp.add(baseline: Double(messages) / baseT, bridge: Double(messages) / oursT)
        }
        oanda.printSummary(goal: nil)
        tlcp.printSummary(goal: nil)
    }

    private func time(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return seconds(ContinuousClock.now - start)
    }
}
