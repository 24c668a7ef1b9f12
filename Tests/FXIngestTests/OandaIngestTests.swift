import FXContracts
import FXCore
import FXIngest
import FXVenues
import FXTestSupport
import Testing

/// OANDA v20 end to end: the simulator's chunked pricing stream -> the ingestor -> normalized quotes,
/// gaps, rejects and heartbeats on the real local broker, under the stream's faults.
@Suite("Ingestor on OANDA's HTTP pricing stream", .serialized, .tags(.integration))
struct OandaIngestTests {
    static func feed(_ port: Int, symbols: [String] = ["EUR_USD", "USD_JPY"], symbolStale: Duration? = nil) -> FeedConfiguration {
        FeedConfiguration(provider: "oanda", symbols: symbols, webSocketURL: "http://127.0.0.1:\(port)/oanda",
                          credentials: [ProviderCredential(key: "practice-token", account: "101-004-1234567-001")],
                          symbolStaleAfter: symbolStale)
    }

    @Test("prices become exact quote ticks per instrument; a dropped stream is a disconnect gap closed by the first price after reconnecting")
    func quotesAndReconnect() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            let ticks = try await h.waitForTicks("quotes of both instruments") { ticks in
                Set(ticks.compactMap { $0["symbol"]?.stringValue }) == ["EUR/USD", "USD/JPY"]
            }
            for tick in ticks {
                #expect(tick["source"]?.stringValue == "oanda" && tick["kind"]?.stringValue == "quote")
                let bid = try #require(tick["bid"]?.stringValue), ask = try #require(tick["ask"]?.stringValue)
                let decimals = tick["symbol"]?.stringValue == "USD/JPY" ? 3 : 5
                #expect(bid.split(separator: ".").last.map { $0.count <= decimals } == true && ask.split(separator: ".").last.map { $0.count <= decimals } == true,
                        "exact decimals of the wire's strings: \(bid) / \(ask)")
                #expect(DecimalText(bid)! < DecimalText(ask)!)
                #expect(tick["bid_size"]?.stringValue == "10000000")
            }
            let droppedAt = WallClock.nanoseconds()
            #expect(h.market.dropConnections("oanda") == 1)
            let gaps = try await h.waitForGaps("a disconnect gap per instrument") { gaps in
                Set(gaps.filter { $0.reason == .disconnect }.map(\.symbol)) == ["EUR/USD", "USD/JPY"]
            }
            for gap in gaps where gap.reason == .disconnect {
                #expect(gap.from <= droppedAt && gap.to >= droppedAt, "the window covers the drop: \(gap)")
                #expect(gap.source == "oanda")
            }
        }
    }

    @Test("a stream cut inside a line: the half line is rejected as truncated_line, never parsed, and the stream comes back")
    func halfLine() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0, symbols: ["EUR_USD"])] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            _ = try h.market.sendMalformed("oanda", kind: "half_line", size: 0, now: WallClock.nanoseconds())
            let rejects = try await h.recorder.waitFor(h.topics.rejects, timeout: .seconds(20), "the truncated line") { messages in
                messages.contains { (try? JSONParser().parse($0.value))?["reason"]?.stringValue == "truncated_line" }
            }
            #expect(rejects.count == 1)
            let cutAt = WallClock.nanoseconds()
            try await h.waitForTicks("quotes after the reconnect") { $0.contains { ($0["recv_ts"]?.int64Value ?? 0) > cutAt } }
            #expect(try h.gaps().contains { $0.reason == .disconnect }, "the cut is a disconnect gap")
        }
    }

    @Test("a refused token (401) is shown on the connection and retried with backoff until the stream opens again")
    func expiredToken() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0, symbols: ["EUR_USD"])] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            h.market.expireOandaToken(count: 3)
            _ = h.market.dropConnections("oanda")
            try await h.recorder.waitFor(h.topics.health, timeout: .seconds(20), "the 401 on the connection") { messages in
                messages.contains { message in
                    let health = try? JSONParser().parse(message.value)
                    return health?["connections"]?.arrayValue?.first?["last_error"]?.stringValue?.contains("HTTP 401") == true
                }
            }
            let refusedAt = WallClock.nanoseconds()
            try await h.waitForTicks("quotes once the token is accepted again") { $0.contains { ($0["recv_ts"]?.int64Value ?? 0) > refusedAt } }
            let health = try h.health().map { $0["connections"]?.arrayValue?.first?["last_error"]?.stringValue ?? "" }
            #expect(!health.contains { $0.contains("practice-token") }, "the token never reaches a heartbeat")
        }
    }

    @Test("a closed market (tradeable:false) is quiet: no quotes, no stale gap past the stale limit, heartbeats keep the stream; it resumes on reopening")
    func closedMarket() async throws {
        try await IngestHarness.run(simulator: { $0.oandaHeartbeatInterval = .milliseconds(500) },
                                    feeds: { [Self.feed($0, symbols: ["EUR_USD"], symbolStale: .seconds(2))] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            let closedAt = WallClock.nanoseconds()
            try h.market.setMarket(venue: "oanda", symbol: "EUR_USD", open: false, now: closedAt)
            try await Task.sleep(for: .seconds(1))
            let closedCount = try h.ticks().count
            try await Task.sleep(for: .seconds(5))
            #expect(try h.ticks().count == closedCount, "no quotes from a closed market")
            // A stale gap opened before the close (quotes seconds apart on a loaded machine) ends at the close;
            // none may start while the market is closed.
            let gaps = try h.gaps().filter { $0.from >= closedAt }
            #expect(gaps.isEmpty, "closed is not stale, and the stream stayed up: \(gaps)")
            let closedNow = try h.health().last?["connections"]?.arrayValue?.first?["market_closed"]?["EUR/USD"]?.stringValue
            #expect(closedNow?.contains("not tradeable") == true, "the heartbeat says the market is closed, and why")
            let reopenedAt = WallClock.nanoseconds()
            try h.market.setMarket(venue: "oanda", symbol: "EUR_USD", open: true, now: reopenedAt)
            try await h.waitForTicks("quotes after the reopening") { $0.contains { ($0["ts"]?.int64Value ?? 0) > reopenedAt } }
        }
    }

    @Test("a stream that goes silent with TCP open (no price, no heartbeat) is dropped after the stale limit and reopened; the silence is a stale gap")
    func silentStream() async throws {
        try await IngestHarness.run(simulator: { $0.oandaHeartbeatInterval = .milliseconds(500) },
                                    feeds: { [Self.feed($0, symbols: ["EUR_USD"])] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            let silencedAt = WallClock.nanoseconds()
            #expect(h.market.silence("oanda", seconds: 30, now: silencedAt) == 1)
            let gaps = try await h.waitForGaps("a stale gap closed after the reconnect", timeout: .seconds(30)) { gaps in
                gaps.contains { $0.reason == .stale && $0.symbol == "EUR/USD" }
            }
            let stale = try #require(gaps.first { $0.reason == .stale })
            #expect(stale.to - silencedAt >= 9_000_000_000, "not before OANDA's 10 s of silence: \(stale)")
            #expect(stale.detail.contains("silent"), "\(stale.detail)")
        }
    }
}
