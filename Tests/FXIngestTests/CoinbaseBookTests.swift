import FXContracts
import FXCore
import FXIngest
import FXVenues
import FXTestSupport
import Testing

/// Coinbase `level2_batch` end to end: the simulator's snapshots and l2updates (no sequence numbers) -> the
/// ingestor -> the books topic; books rebuilt from the topic equal the venue's whole book level by level; a
/// crossed book resyncs that product alone by resubscribing, and a new connection starts a new epoch.
@Suite("Ingestor on Coinbase level2_batch: whole books, crossed-book resyncs, connection continuity", .serialized, .tags(.integration))
struct CoinbaseBookTests {
    static let products = ["BTC-USD", "ETH-USD"]

    static func feed(_ port: Int) -> FeedConfiguration {
        FeedConfiguration(provider: "coinbase", symbols: products, webSocketURL: "ws://127.0.0.1:\(port)/coinbase")
    }

    /// The venue's book of `product` now, and the book rebuilt from the topic as it stood after the venue's
    /// last change at or before that instant.
    static func compare(_ h: IngestHarness, _ product: String) async throws {
        let venue = try #require(h.market.coinbaseBooks.book(product))
        let instant = venue.ts / 1_000 * 1_000
        let key = "coinbase:\(try #require(SymbolMapper.coinbase(product)))"
        try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "\(product) past the venue's instant") { messages in
            messages.contains { (try? BookMessage(json: $0.value)).map { $0.key == key && $0.kind == .delta && $0.ts > instant } == true }
        }
        var builder = BookBuilder()
        for message in try h.books() where message.key == key {
            if message.reason != .periodic && message.ts > instant { break }
            _ = builder.apply(message)
        }
        let book = try #require(builder.book(key), "\(product) is in sync on the topic")
        #expect(book.bids == venue.bids.map { BookLevel(price: $0.price, quantity: $0.qty) }, "\(product) bids equal the venue's, level by level")
        #expect(book.asks == venue.asks.map { BookLevel(price: $0.price, quantity: $0.qty) }, "\(product) asks equal the venue's, level by level")
    }

    static func bothBooks(_ h: IngestHarness, epoch: Int64 = 1) async throws {
        try await h.recorder.waitFor(h.topics.books, timeout: .seconds(60), "both books in epoch \(epoch)") { messages in
            Set(messages.compactMap { try? BookMessage(json: $0.value) }.filter { $0.kind == .delta && $0.epoch == epoch }.map(\.venueSymbol)) == Set(Self.products)
        }
    }

    @Test("the snapshot opens each book and the l2updates keep it equal to the venue's whole book; no checksum, no venue ids")
    func booksEqualTheVenue() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            try await Task.sleep(for: .seconds(1))
            for product in Self.products { try await Self.compare(h, product) }
            let books = try h.books()
            #expect(books.allSatisfy { $0.epoch == 1 && $0.checksum == nil && $0.depth == nil && $0.firstUpdateID == nil })
            #expect(books.filter { $0.kind == .snapshot && $0.reason == .initial }.count == 2)
            #expect(try h.gaps().filter { $0.reason == .book }.isEmpty)
            #expect(try h.ticks().contains { $0["source"]?.stringValue == "coinbase" }, "trades and quotes still flow beside the books")
            let checked = try IngestorFleetTests.validate(["books": h.recorder.messages(h.topics.books)])
            #expect(checked.status == 0, "\(checked.output)")
        }
    }

    @Test("a crossed book resyncs that product alone: a 'book' gap, a resubscription whose snapshot replaces the book in a new epoch")
    func crossedBookResyncs() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            #expect(h.market.coinbaseBooks.fault("cross", symbol: "BTC-USD", count: 1, seconds: 0) == 1)
            let gaps = try await h.waitForGaps("a book gap for BTC/USD") { $0.contains { $0.reason == .book } }
            let gap = try #require(gaps.first { $0.reason == .book })
            #expect(gap.symbol == "BTC/USD" && gap.detail.contains("crossed book"), "\(gap)")
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "BTC-USD in epoch 2") { messages in
                messages.contains { (try? BookMessage(json: $0.value)).map { $0.venueSymbol == "BTC-USD" && $0.epoch == 2 && $0.reason == .resync } == true }
            }
            let books = try h.books()
            #expect(books.filter { $0.venueSymbol == "ETH-USD" }.allSatisfy { $0.epoch == 1 }, "ETH-USD was not resubscribed")
            try await Task.sleep(for: .seconds(1))
            // The resync snapshot replaced the book: the phantom bid is gone (no ghost level).
            for product in Self.products { try await Self.compare(h, product) }
        }
    }

    @Test("an error message naming a product resyncs that product's book alone; the other book stays in its epoch")
    func errorResyncs() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            #expect(h.market.coinbaseBooks.fault("error", symbol: "ETH-USD", count: 1, seconds: 0) == 1)
            let gaps = try await h.waitForGaps("a book gap for ETH/USD") { $0.contains { $0.reason == .book } }
            #expect(gaps.filter { $0.reason == .book }.allSatisfy { $0.symbol == "ETH/USD" && $0.detail.contains("error") }, "\(gaps)")
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "ETH-USD in epoch 2") { messages in
                messages.contains { (try? BookMessage(json: $0.value)).map { $0.venueSymbol == "ETH-USD" && $0.epoch == 2 && $0.reason == .resync } == true }
            }
            #expect(try h.books().filter { $0.venueSymbol == "BTC-USD" }.allSatisfy { $0.epoch == 1 })
            try await Task.sleep(for: .seconds(1))
            for product in Self.products { try await Self.compare(h, product) }
        }
    }

    @Test("a product that keeps crossing backs off between resubscriptions, and recovers")
    func crossingProductBacksOff() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            _ = h.market.coinbaseBooks.fault("cross", symbol: "ETH-USD", count: -1, seconds: 0)
            try await Task.sleep(for: .seconds(9))
            let failures = try h.gaps().filter { $0.reason == .book && $0.symbol == "ETH/USD" }
            #expect((2...5).contains(failures.count), "\(failures.count) resyncs in 9 s")
            _ = h.market.coinbaseBooks.fault("cross", symbol: "ETH-USD", count: 0, seconds: 0)
            let healed = WallClock.nanoseconds()
            // Back in sync: a resync snapshot after the healing, then a delta of its epoch (a crossed update
            // already on its way when the fault ended does not count).
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(60), "ETH-USD back in sync") { messages in
                let books = messages.compactMap { try? BookMessage(json: $0.value) }.filter { $0.venueSymbol == "ETH-USD" }
                guard let reopened = books.last(where: { $0.kind == .snapshot && $0.reason == .resync && $0.recvTs > healed }) else { return false }
                return books.contains { $0.kind == .delta && $0.epoch == reopened.epoch }
            }
            try await Task.sleep(for: .seconds(1))
            try await Self.compare(h, "ETH-USD")
        }
    }

    @Test("a lost connection ends every book's epoch (no sequence says what was missed); the new connection's snapshots open the next")
    func reconnectStartsANewEpoch() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await Self.bothBooks(h)
            #expect(h.market.dropConnections("coinbase") >= 1)
            try await Self.bothBooks(h, epoch: 2)
            let reopened = try h.books().filter { $0.epoch == 2 && $0.kind == .snapshot }
            #expect(reopened.count == 2 && reopened.allSatisfy { $0.reason == .resync })
            try await Task.sleep(for: .seconds(1))
            for product in Self.products { try await Self.compare(h, product) }
        }
    }
}
