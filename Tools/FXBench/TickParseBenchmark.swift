import FXCandles
import ArgumentParser
import FXAggregate
import FXCore

/// The aggregator's consume path per message: `TickRecord(json:)` (validate, materialize the contract's
/// fields, compute identity and order key) vs the baseline of only scanning the same messages with
/// ``JSONScanner`` (every byte validated, nothing materialized). Also reported: a `JSONParser` tree of
/// each message alone, the first step of the aggregator's earlier parser (so a lower bound of its cost),
/// and the contract-limit checks alone over the parsed records (their share of `TickRecord(json:)`).
struct TickParseBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tick-parse")
    @Option(help: "Rounds.") var rounds: Int = 5
    @Option(help: "Messages per round.") var messages: Int = 200_000
    @Flag(help: "Quotes instead of trades.") var quotes = false

    func run() throws {
        let payloads = (0..<messages).map { index -> [UInt8] in
            let ts = 1_795_300_000_000_000_000 + Int64(index) * 10_000_000
            let body = quotes
                ? #""bid":"\#(100 + index % 97).\#(index % 100)","ask":"\#(101 + index % 97).\#(index % 100)","bid_size":"0.5","ask_size":"1.25""#
                : #""price":"\#(100 + index % 97).\#(index % 100)","size":"0.\#(1 + index % 9999)","side":"buy","trade_id":"\#(index)""#
            let json = #"{"v":1,"kind":"\#(quotes ? "quote" : "trade")","source":"coinbase","symbol":"S\#(index % 20)/USD","venue_symbol":"S\#(index % 20)-USD","ts":\#(ts),"recv_ts":\#(ts),"seq":\#(index),\#(body)}"#
            return Array(json.utf8)
        }
        var report = RatioReport(name: "TickRecord(json:) (\(quotes ? "quotes" : "trades")) vs JSONScanner scan only", unit: "msg/s")
        var trees: [Double] = []
        var checkShares: [Double] = []
        let parsed = try payloads.map { try TickRecord(json: $0) }
        for _ in 0..<rounds {
            var members = 0
            var start = ContinuousClock.now
            for payload in payloads {
                try JSONScanner(payload, maxDepth: 4).forEachMember { (_: Range<Int>, _: JSONScanner.Token) throws(JSONParser.Error) in members += 1 }
            }
            let scan = seconds(ContinuousClock.now - start)
            var keys = 0
            start = ContinuousClock.now
            for payload in payloads { keys &+= try TickRecord(json: payload).identity.utf8.count }
            let records = seconds(ContinuousClock.now - start)
            var values = 0
            start = ContinuousClock.now
            for payload in payloads {
                if case .object(let object) = try JSONParser(maxDepth: 4, maxBytes: 64 * 1024).parse(payload) { values += object.count }
            }
            trees.append(Double(messages) / seconds(ContinuousClock.now - start))
            start = ContinuousClock.now
            for record in parsed { try Self.checkLimits(record) }
            checkShares.append(seconds(ContinuousClock.now - start) / records)
            precondition(members == values && keys > 0)
            report.add(baseline: Double(messages) / scan, bridge: Double(messages) / records)
        }
        report.printSummary(goal: nil)
        print(String(format: "JSONParser tree alone: median %.0f msg/s", trees.sorted()[trees.count / 2]))
        print(String(format: "contract-limit checks alone: median %.1f%% of TickRecord(json:)'s time", 100 * checkShares.sorted()[checkShares.count / 2]))
    }

    /// The checks `TickRecord(json:)` makes against ``ContractLimits`` (names, time, sequence, trade id, decimals).
    static func checkLimits(_ record: TickRecord) throws(ContractLimits.Violation) {
        try ContractLimits.checkSource(record.source)
        try ContractLimits.checkSymbol(record.symbol)
        try ContractLimits.checkEventTime(record.ts)
        try ContractLimits.checkSequence(record.seq)
        try ContractLimits.checkTradeID(record.tradeID)
        for value in [record.price, record.size, record.bid, record.ask, record.bidSize, record.askSize] {
            if let value { try ContractLimits.checkDecimal(value, field: "price") }
        }
    }
}
