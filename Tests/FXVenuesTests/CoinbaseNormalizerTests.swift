import FXContracts
import FXCore
import FXVenues
import Testing

@Suite("Coinbase frames to normalized ticks")
struct CoinbaseNormalizerTests {
    let normalizer = CoinbaseNormalizer()
    let received: Int64 = 1_700_000_000_000_000_000

    private func events(_ text: String) -> [NormalizedEvent] {
        normalizer.normalize(Array(text.utf8), receivedAt: received)
    }

    @Test("a match becomes an exact trade tick with the taker's side")
    func match() throws {
        let result = events(#"{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"a","taker_order_id":"b","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}"#)
        #expect(result == [.tick(Tick(source: "coinbase", symbol: "BTC/USD", venueSymbol: "BTC-USD", timestamp: 1_415_348_367_028_459_000,
                                      receivedAt: received, sequence: 50,
                                      payload: .trade(price: DecimalText("400.23")!, size: DecimalText("5.23512")!, side: .buy, tradeID: "10")))])
    }

    @Test("last_match is a replayed trade (published, not used for gap tracking); maker buy means taker sell")
    func lastMatch() throws {
        let result = events(#"{"type":"last_match","trade_id":11,"sequence":51,"time":"2014-11-07T08:19:28Z","product_id":"ETH-EUR","size":"1","price":"2000.10","side":"buy"}"#)
        guard case .replayedTick(let tick)? = result.first, case .trade(_, _, let side, let id) = tick.payload else {
            Issue.record("expected a trade, got \(result)"); return
        }
        #expect(side == .sell)
        #expect(id == "11")
        #expect(tick.symbol == "ETH/EUR")
    }

    @Test("a ticker becomes a quote with best bid/ask and sizes")
    func ticker() {
        let result = events(#"{"type":"ticker","sequence":52,"product_id":"BTC-USD","price":"400.25","best_bid":"400.20","best_bid_size":"0.5","best_ask":"400.30","best_ask_size":"1.25","time":"2014-11-07T08:19:29Z"}"#)
        guard case .tick(let tick)? = result.first else { Issue.record("expected a quote, got \(result)"); return }
        #expect(tick.payload == .quote(bid: DecimalText("400.2"), ask: DecimalText("400.3"), bidSize: DecimalText("0.5"), askSize: DecimalText("1.25")))
        #expect(tick.sequence == 52)
    }

    @Test("heartbeats carry sequence and last trade id; subscriptions and errors are recognised")
    func protocolMessages() {
        #expect(events(#"{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}"#)
                == [.heartbeat(venueSymbol: "BTC-USD", sequence: 90, lastTradeID: "20", timestamp: 1_415_348_368_464_459_000)])
        #expect(events(#"{"type":"subscriptions","channels":[]}"#) == [.control("subscriptions")])
        #expect(events(#"{"type":"error","message":"Failed to subscribe","reason":"BAD-X is not a valid product"}"#)
                == [.providerError("Failed to subscribe: BAD-X is not a valid product")])
    }

    @Test("bad input is rejected with a reason, never published as a tick", arguments: [
        (#"{"type":"match","product_id":"BTC-USD","time":"2014-11-07T08:19:27Z","size":"1","price":"0","side":"buy"}"#, RejectReason.invalidPrice),
        (#"{"type":"match","product_id":"BTC-USD","time":"2014-11-07T08:19:27Z","size":"1","price":"-5","side":"buy"}"#, .invalidPrice),
        (#"{"type":"match","product_id":"BTC-USD","time":"2014-11-07T08:19:27Z","size":"1","price":"NaN","side":"buy"}"#, .invalidPrice),
        (#"{"type":"match","product_id":"BTC-USD","time":"2014-11-07T08:19:27Z","size":"1","price":"Infinity","side":"buy"}"#, .invalidPrice),
        (#"{"type":"match","product_id":"BTC-USD","time":"2014-11-07T08:19:27Z","size":"0","price":"1","side":"buy"}"#, .invalidSize),
        (#"{"type":"match","product_id":"BTC-USD","time":"yesterday","size":"1","price":"1","side":"buy"}"#, .invalidTimestamp),
        (#"{"type":"match","product_id":"BTCUSD","time":"2014-11-07T08:19:27Z","size":"1","price":"1"}"#, .unmappedSymbol),
        (#"{"type":"match","time":"2014-11-07T08:19:27Z","size":"1","price":"1"}"#, .missingField),
        (#"{"type":"ticker","product_id":"BTC-USD","time":"2014-11-07T08:19:27Z"}"#, .missingField),
        (#"{"type":"l2update","product_id":"BTC-USD"}"#, .missingField),
        (#"{"type":"level3","product_id":"BTC-USD"}"#, .unknownType),
        (#"{"price":"1"}"#, .missingField),
        (#"{"type":"match""#, .malformedJSON),
        ("not json", .malformedJSON),
    ])
    func rejects(text: String, reason: RejectReason) {
        let result = events(text)
        #expect(result.count == 1)
        guard case .reject(let got, _)? = result.first else { Issue.record("expected a reject, got \(result)"); return }
        #expect(got == reason)
    }

    @Test("invalid UTF-8 and oversized frames are rejected")
    func bytesLevel() {
        let invalid: [UInt8] = Array(#"{"type":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        guard case .reject(.invalidUTF8, _)? = normalizer.normalize(invalid, receivedAt: 0).first else {
            Issue.record("invalid UTF-8 not rejected"); return
        }
        let small = CoinbaseNormalizer(maxFrameBytes: 64)
        let big = Array((#"{"type":"heartbeat","product_id":""# + String(repeating: "x", count: 100) + #""}"#).utf8)
        guard case .reject(.tooLarge, _)? = small.normalize(big, receivedAt: 0).first else {
            Issue.record("oversized frame not rejected"); return
        }
    }

    @Test("level2_batch: a snapshot is the whole book, an l2update its changed levels by side (absolute sizes, '0' deletes), text kept")
    func level2() throws {
        let normalizer = CoinbaseNormalizer()
        let snapshot = normalizer.normalize(Array(#"{"type":"snapshot","product_id":"BTC-USD","bids":[["10101.10","0.45054140"]],"asks":[["10102.55","0.57753524"],["10103.00","1"]]}"#.utf8), receivedAt: 1)
        guard case .book(let book) = try #require(snapshot.first) else { Issue.record("\(snapshot)"); return }
        #expect(book.kind == .snapshot && book.venueSymbol == "BTC-USD" && book.timestamp == nil && book.checksum == nil)
        #expect(book.bids == [BookLevel(price: "10101.10", quantity: "0.45054140")])
        #expect(book.asks == [BookLevel(price: "10102.55", quantity: "0.57753524"), BookLevel(price: "10103.00", quantity: "1")])
        let update = normalizer.normalize(Array(#"{"type":"l2update","product_id":"BTC-USD","changes":[["buy","10101.80000000","0.162567"],["sell","10102.55","0"]],"time":"2019-08-14T20:42:27.265Z"}"#.utf8), receivedAt: 1)
        guard case .book(let changes) = try #require(update.first) else { Issue.record("\(update)"); return }
        #expect(changes.kind == .update && changes.timestamp == Timestamps.nanoseconds(rfc3339: "2019-08-14T20:42:27.265Z"))
        #expect(changes.bids == [BookLevel(price: "10101.80000000", quantity: "0.162567")] && changes.asks == [BookLevel(price: "10102.55", quantity: "0")])
        let badSide = normalizer.normalize(Array(#"{"type":"l2update","product_id":"BTC-USD","changes":[["hold","1","1"]],"time":"2019-08-14T20:42:27.265Z"}"#.utf8), receivedAt: 1)
        guard case .reject(.invalidPrice, _) = try #require(badSide.first) else { Issue.record("\(badSide)"); return }
        let noBids = normalizer.normalize(Array(#"{"type":"snapshot","product_id":"BTC-USD","asks":[]}"#.utf8), receivedAt: 1)
        guard case .reject(.missingField, _) = try #require(noBids.first) else { Issue.record("\(noBids)"); return }
    }
}
