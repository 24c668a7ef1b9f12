import FXContracts
import FXCore
import FXIngest
import FXVenues
import FXTestSupport
import Testing

/// Kraken v2 end to end: the simulator's trade, ticker and book channels -> the ingestor -> ticks and the
/// books topic on the real local broker; the books rebuilt from the topic by ``BookBuilder`` are compared
/// level by level (text included) with the venue's own book.
@Suite("Ingestor on Kraken's WebSocket v2: trades, quotes and order books", .serialized, .tags(.integration))
struct KrakenIngestTests {
    static let pairs = ["BTC/USD", "ETH/USD"]

    static func feed(_ port: Int) -> FeedConfiguration {
        FeedConfiguration(provider: "kraken", symbols: pairs, webSocketURL: "ws://127.0.0.1:\(port)/kraken/v2")
    }

    /// The venue's top 10 of `pair` now, and the book rebuilt from the topic as it stood after the venue's
    /// last change at or before that instant (periodic snapshots, stamped with the ingestor's clock, are
    /// applied where they fall).
    static func compare(_ h: IngestHarness, _ pair: String) async throws {
        let venue = try JSONParser().parse(Array(try #require(h.market.kraken.bookJSON(pair, depth: 10)).utf8))
        let instant = try #require(venue["ts"]?.int64Value)
        func levels(_ side: String) -> [BookLevel] {
            (venue[side]?.arrayValue ?? []).map { BookLevel(price: $0["price"]?.stringValue ?? "", quantity: $0["qty"]?.stringValue ?? "") }
        }
        let key = "kraken:\(pair)"
        try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "\(pair) past the venue's instant") { messages in
            messages.contains { (try? BookMessage(json: $0.value)).map { $0.key == key && $0.kind == .delta && $0.ts > instant } == true }
        }
        var builder = BookBuilder()
        for message in try h.books() where message.key == key {
            if message.reason != .periodic && message.ts > instant { break }
            _ = builder.apply(message)
        }
        let book = try #require(builder.book(key), "\(pair) is in sync on the topic")
        #expect(book.bids == levels("bids"), "\(pair) bids equal the venue's, level by level")
        #expect(book.asks == levels("asks"), "\(pair) asks equal the venue's, level by level")
        #expect(book.bids.count == 10 && book.asks.count == 10, "cut to the subscribed depth")
    }

    @Test("trades and quotes become ticks; each pair's book on the topic equals the venue's, trailing zeros and all; checksums verify")
    func booksEqualTheVenue() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            let ticks = try await h.waitForTicks("trades and quotes of both pairs") { ticks in
                Set(ticks.filter { $0["kind"]?.stringValue == "trade" }.compactMap { $0["symbol"]?.stringValue }) == Set(Self.pairs)
                    && Set(ticks.filter { $0["kind"]?.stringValue == "quote" }.compactMap { $0["symbol"]?.stringValue }) == Set(Self.pairs)
            }
            #expect(ticks.allSatisfy { $0["source"]?.stringValue == "kraken" })
            try await Task.sleep(for: .seconds(2))
            for pair in Self.pairs { try await Self.compare(h, pair) }
            let books = try h.books()
            #expect(books.allSatisfy { $0.epoch == 1 }, "no resync without a fault")
            let deltas = books.filter { $0.kind == .delta }
            #expect(!deltas.isEmpty && deltas.allSatisfy { $0.checksum?.kind == .krakenCRC32 && $0.checksum?.verified == true })
            #expect(books.contains { $0.bids.contains { $0.price.hasSuffix("0") } || $0.asks.contains { $0.price.hasSuffix("0") } },
                    "prices ending in zero keep it (the simulator prices to the cent)")
            #expect(try h.gaps().filter { $0.reason == .book }.isEmpty)
            let checked = try IngestorFleetTests.validate(["books": h.recorder.messages(h.topics.books), "ticks": h.recorder.messages(h.topics.ticks),
                                                           "health": h.recorder.messages(h.topics.health)])
            #expect(checked.status == 0, "every message keeps its schema: \(checked.output)")
        }
    }

    @Test("a wrong checksum resyncs that pair alone: a 'book' gap, a new epoch opened by a resync snapshot, the other pair untouched")
    func badChecksumResyncsOnePair() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(30), "both books") { messages in
                Set(messages.compactMap { try? BookMessage(json: $0.value) }.map(\.symbol)) == Set(Self.pairs)
            }
            #expect(h.market.kraken.fault("checksum", symbol: "BTC/USD", count: 1, seconds: 0) == 1)
            let gaps = try await h.waitForGaps("a book gap for BTC/USD") { $0.contains { $0.reason == .book } }
            let gap = try #require(gaps.first { $0.reason == .book })
            #expect(gap.symbol == "BTC/USD" && gap.detail.contains("checksum mismatch"), "\(gap)")
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "BTC/USD in epoch 2") { messages in
                messages.contains { (try? BookMessage(json: $0.value)).map { $0.symbol == "BTC/USD" && $0.epoch == 2 && $0.reason == .resync } == true }
            }
            let books = try h.books()
            #expect(books.contains { $0.symbol == "BTC/USD" && $0.epoch == 1 && $0.checksum?.verified == false }, "the failed message says so")
            #expect(books.filter { $0.symbol == "ETH/USD" }.allSatisfy { $0.epoch == 1 }, "ETH/USD was not resubscribed")
            #expect(gaps.filter { $0.reason == .book }.allSatisfy { $0.symbol == "BTC/USD" })
            let checked = try IngestorFleetTests.validate(["books": h.recorder.messages(h.topics.books), "gaps": h.recorder.messages(h.topics.gaps)])
            #expect(checked.status == 0, "\(checked.output)")
            try await Task.sleep(for: .seconds(1))
            for pair in Self.pairs { try await Self.compare(h, pair) }
        }
    }

    @Test("a pair that keeps failing backs off (1 s, 2 s, 4 s ...) instead of looping, and recovers once the venue's book is right again")
    func failingPairBacksOff() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(30), "both books") { messages in
                Set(messages.compactMap { try? BookMessage(json: $0.value) }.map(\.symbol)) == Set(Self.pairs)
            }
            _ = h.market.kraken.fault("checksum", symbol: "ETH/USD", count: -1, seconds: 0)
            try await Task.sleep(for: .seconds(9))
            let failures = try h.gaps().filter { $0.reason == .book && $0.symbol == "ETH/USD" }
            // Failures at about 0, 1, 3 and 7 s (the snapshot of each resubscription fails again).
            #expect((2...5).contains(failures.count), "\(failures.count) resyncs in 9 s")
            #expect(try h.gaps().filter { $0.reason == .book }.allSatisfy { $0.symbol == "ETH/USD" })
            _ = h.market.kraken.fault("checksum", symbol: "ETH/USD", count: 0, seconds: 0)
            let healed = WallClock.nanoseconds()
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(30), "ETH/USD back in sync") { messages in
                messages.contains { (try? BookMessage(json: $0.value)).map { $0.symbol == "ETH/USD" && $0.kind == .delta && $0.recvTs > healed && $0.checksum?.verified == true } == true }
            }
            try await Self.compare(h, "ETH/USD")
            let beat = try #require(try h.health().last?["connections"]?.arrayValue?.first?["books"]?.arrayValue)
            #expect(beat.count == 2 && beat.contains { $0["symbol"]?.stringValue == "ETH/USD" && ($0["resyncs"]?.int64Value ?? 0) >= 2 })
        }
    }

    @Test("the Python example agent rebuilds each book from the topic, across a resync, equal to the venue's level by level")
    func pythonAgent() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(30), "both books") { messages in
                Set(messages.compactMap { try? BookMessage(json: $0.value) }.map(\.symbol)) == Set(Self.pairs)
            }
            _ = h.market.kraken.fault("checksum", symbol: "BTC/USD", count: 1, seconds: 0)
            try await h.recorder.waitFor(h.topics.books, timeout: .seconds(20), "BTC/USD in epoch 2") { messages in
                messages.contains { (try? BookMessage(json: $0.value)).map { $0.symbol == "BTC/USD" && $0.epoch == 2 } == true }
            }
            var venue: [String: JSONValue] = [:]
            for pair in Self.pairs { venue[pair] = try JSONParser().parse(Array(try #require(h.market.kraken.bookJSON(pair, depth: 10)).utf8)) }
            let until = Self.pairs.map { "kraken:\($0)=\(venue[$0]?["ts"]?.int64Value ?? 0)" }.joined(separator: ",")
            let run = try Subprocess.output("/usr/bin/env", ["python3", IngestorFleetTests.root.appendingPathComponent("examples/book_agent.py").path,
                                                             "--brokers", TestEnvironment.brokers, "--prefix", h.topics.prefix, "--from-beginning",
                                                             "--until", until, "--duration", "60"])
            #expect(run.status == 0, "the agent finished: \(run.output.suffix(2000))")
            let books = run.output.split(separator: "\n").compactMap { try? JSONParser().parse(Array($0.utf8)) }
            for pair in Self.pairs {
                let book = try #require(books.first { $0["key"]?.stringValue == "kraken:\(pair)" }, "\(run.output.suffix(2000))")
                #expect(book["in_sync"]?.boolValue == true)
                for side in ["bids", "asks"] {
                    let rebuilt = (book[side]?.arrayValue ?? []).map { $0.arrayValue?.compactMap(\.stringValue) ?? [] }
                    let expected = (venue[pair]?[side]?.arrayValue ?? []).map { [$0["price"]?.stringValue ?? "", $0["qty"]?.stringValue ?? ""] }
                    #expect(rebuilt == expected, "\(pair) \(side): the agent's book equals the venue's")
                }
            }
            #expect(books.first { $0["key"]?.stringValue == "kraken:BTC/USD" }?["epoch"]?.int64Value == 2)
            #expect(run.output.contains("new epoch 2"), "the agent saw the resync")
        }
    }
}
