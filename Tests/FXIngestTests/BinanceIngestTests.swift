import FXContracts
import FXCore
import FXIngest
import FXVenues
import FXTestSupport
import Testing

/// Binance spot end to end: the simulator's combined streams (trade, bookTicker, depth@100ms) and its REST
/// depth snapshots -> the ingestor -> ticks and the books topic on the real local broker. Books rebuilt from
/// the topic by ``BookBuilder`` are compared level by level with the venue's own book at a known update id.
@Suite("Ingestor on Binance spot: trades, quotes and order books synchronized with REST snapshots", .serialized, .tags(.integration))
struct BinanceIngestTests {
    static let symbols = ["BTCUSDT", "ETHUSDT"]

    static func feed(_ port: Int) -> FeedConfiguration {
        FeedConfiguration(provider: "binance", symbols: symbols, webSocketURL: "ws://127.0.0.1:\(port)/binance")
    }

    /// The venue's book of `symbol` now, and the book rebuilt from the topic up to the message that brought it
    /// to the same update id.
    static func compare(_ h: IngestHarness, _ symbol: String) async throws {
        let venue = try #require(h.market.binance.book(symbol))
        let key = "binance:\(try #require(SymbolMapper.binance(symbol)))"
        try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "\(symbol) at update \(venue.lastUpdateID)") { messages in
            messages.contains { (try? BookMessage(json: $0.value)).map { $0.key == key && ($0.lastUpdateID ?? 0) >= venue.lastUpdateID } == true }
        }
        var builder = BookBuilder()
        var reached = false
        for message in try h.books() where message.key == key {
            if message.kind == .delta, let last = message.lastUpdateID, last > venue.lastUpdateID { break }
            if message.kind == .snapshot, message.reason != .periodic, let last = message.lastUpdateID, last > venue.lastUpdateID { break }
            _ = builder.apply(message)
            if message.lastUpdateID == venue.lastUpdateID || (message.reason == .periodic && reached) { reached = true }
        }
        #expect(reached, "\(symbol): a message ends at the venue's update \(venue.lastUpdateID)")
        let book = try #require(builder.book(key), "\(symbol) is in sync on the topic")
        #expect(book.bids == venue.bids.map { BookLevel(price: $0.price, quantity: $0.qty) }, "\(symbol) bids equal the venue's, level by level")
        #expect(book.asks == venue.asks.map { BookLevel(price: $0.price, quantity: $0.qty) }, "\(symbol) asks equal the venue's, level by level")
    }

    static func bothBooks(_ h: IngestHarness) async throws {
        try await h.recorder.waitFor(h.topics.books, timeout: .seconds(60), "both books") { messages in
            Set(messages.compactMap { try? BookMessage(json: $0.value) }.filter { $0.kind == .delta }.map(\.venueSymbol)) == Set(Self.symbols)
        }
    }

    @Test("trades and quotes become ticks; each book starts from a REST snapshot aligned by update ids and equals the venue's")
    func booksEqualTheVenue() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            let ticks = try await h.waitForTicks("trades and quotes of both symbols") { ticks in
                Set(ticks.filter { $0["kind"]?.stringValue == "trade" }.compactMap { $0["symbol"]?.stringValue }) == ["BTC/USDT", "ETH/USDT"]
                    && Set(ticks.filter { $0["kind"]?.stringValue == "quote" }.compactMap { $0["symbol"]?.stringValue }) == ["BTC/USDT", "ETH/USDT"]
            }
            #expect(ticks.allSatisfy { $0["source"]?.stringValue == "binance" })
            try await Self.bothBooks(h)
            try await Task.sleep(for: .seconds(1))
            for symbol in Self.symbols { try await Self.compare(h, symbol) }
            let books = try h.books()
            #expect(books.allSatisfy { $0.epoch == 1 }, "no resync without a fault")
            for symbol in Self.symbols {
                let mine = books.filter { $0.venueSymbol == symbol }
                let snapshot = try #require(mine.first)
                #expect(snapshot.kind == .snapshot && snapshot.reason == .initial && snapshot.lastUpdateID != nil, "the REST snapshot opens the book")
                // Each delta continues the last: U == previous u + 1 (the first one straddles the snapshot's id).
                var last = try #require(snapshot.lastUpdateID)
                for delta in mine.dropFirst() where delta.kind == .delta {
                    let first = try #require(delta.firstUpdateID), final = try #require(delta.lastUpdateID)
                    #expect(first <= last + 1 && final > last, "\(symbol): U \(first) u \(final) after \(last)")
                    last = final
                }
            }
            #expect(try h.gaps().filter { $0.reason == .book }.isEmpty)
            let checked = try IngestorFleetTests.validate(["books": h.recorder.messages(h.topics.books), "ticks": h.recorder.messages(h.topics.ticks)])
            #expect(checked.status == 0, "every message keeps its schema: \(checked.output)")
        }
    }

    @Test("a skipped update id resyncs that symbol alone from a new snapshot, in a new epoch; the other symbol's stream is not held up while it waits")
    func skippedUpdateResyncsOneSymbol() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            // Snapshots answered 3 s late: BTCUSDT waits for its own while ETHUSDT keeps streaming.
            _ = h.market.binance.fault("late_snapshot", symbol: nil, count: 0, seconds: 3)
            let skippedAt = WallClock.nanoseconds()
            #expect(h.market.binance.fault("skip", symbol: "BTCUSDT", count: 1, seconds: 0) == 1)
            let gaps = try await h.waitForGaps("a book gap for BTC/USDT") { $0.contains { $0.reason == .book } }
            let gap = try #require(gaps.first { $0.reason == .book })
            #expect(gap.symbol == "BTC/USDT" && gap.venueSymbol == "BTCUSDT" && gap.detail.contains("never arrived"), "\(gap)")
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "BTCUSDT in epoch 2") { messages in
                messages.contains { (try? BookMessage(json: $0.value)).map { $0.venueSymbol == "BTCUSDT" && $0.epoch == 2 && $0.reason == .resync } == true }
            }
            let books = try h.books()
            let resync = try #require(books.first { $0.venueSymbol == "BTCUSDT" && $0.epoch == 2 })
            #expect(resync.recvTs - skippedAt >= 2_500_000_000, "the late snapshot opened epoch 2")
            let during = books.filter { $0.venueSymbol == "ETHUSDT" && $0.kind == .delta && $0.recvTs > skippedAt && $0.recvTs < resync.recvTs }
            #expect(during.count >= 10, "ETHUSDT streamed \(during.count) deltas while BTCUSDT waited for its snapshot")
            #expect(books.filter { $0.venueSymbol == "ETHUSDT" }.allSatisfy { $0.epoch == 1 }, "ETHUSDT was not resynced")
            #expect(gaps.filter { $0.reason == .book }.allSatisfy { $0.symbol == "BTC/USDT" })
            _ = h.market.binance.fault("late_snapshot", symbol: nil, count: 0, seconds: 0)
            try await Task.sleep(for: .seconds(1))
            for symbol in Self.symbols { try await Self.compare(h, symbol) }
        }
    }

    @Test("a symbol whose stream keeps skipping ids backs off between snapshots instead of looping, and recovers")
    func failingSymbolBacksOff() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            _ = h.market.binance.fault("skip", symbol: "ETHUSDT", count: -1, seconds: 0)
            try await Task.sleep(for: .seconds(9))
            let failures = try h.gaps().filter { $0.reason == .book && $0.symbol == "ETH/USDT" }
            // Failures at about 0, 1, 3 and 7 s: each new snapshot is followed by another hole.
            #expect((2...5).contains(failures.count), "\(failures.count) resyncs in 9 s")
            #expect(try h.gaps().filter { $0.reason == .book }.allSatisfy { $0.symbol == "ETH/USDT" })
            _ = h.market.binance.fault("skip", symbol: "ETHUSDT", count: 0, seconds: 0)
            let healed = WallClock.nanoseconds()
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(30), "ETHUSDT back in sync") { messages in
                messages.contains { (try? BookMessage(json: $0.value)).map { $0.venueSymbol == "ETHUSDT" && $0.kind == .delta && $0.recvTs > healed } == true }
            }
            try await Task.sleep(for: .seconds(1))
            try await Self.compare(h, "ETHUSDT")
        }
    }

    @Test("serverShutdown: the ingestor reconnects at once; the books start again from new snapshots in a new epoch")
    func serverShutdownReconnects() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            let announced = WallClock.nanoseconds()
            #expect(h.market.binance.fault("shutdown", symbol: nil, count: 0, seconds: 0) == 1)
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "both books in epoch 2") { messages in
                Set(messages.compactMap { try? BookMessage(json: $0.value) }.filter { $0.epoch == 2 && $0.kind == .delta }.map(\.venueSymbol)) == Set(Self.symbols)
            }
            let reopened = try #require(try h.books().filter { $0.epoch == 2 }.map(\.recvTs).min())
            #expect(reopened - announced < 5_000_000_000, "reconnected without waiting for the server to close: \((reopened - announced) / 1_000_000) ms")
            try await Task.sleep(for: .seconds(1))
            for symbol in Self.symbols { try await Self.compare(h, symbol) }
        }
    }
}
