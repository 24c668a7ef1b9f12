import FXContracts
import FXCore
import FXIngest
import FXVenues
import FXTestSupport
import Testing

/// IG Markets end to end: the simulator's REST login and Lightstreamer server (TLCP over a WebSocket) ->
/// the ingestor -> normalized quotes, gaps, rejects and heartbeats on the real local broker, under the
/// session's faults: a lost or stalled socket is recovered without a loss, a session that cannot be
/// recovered is a gap.
@Suite("Ingestor on IG's Lightstreamer stream", .serialized, .tags(.integration))
struct IGIngestTests {
    static let epics = ["CS.D.EURUSD.CFD.IP", "CS.D.USDJPY.CFD.IP"]

    static func feed(_ port: Int, epics: [String] = epics, symbolStale: Duration? = nil) -> FeedConfiguration {
        FeedConfiguration(provider: "ig", symbols: epics, webSocketURL: "http://127.0.0.1:\(port)/ig",
                          credentials: [ProviderCredential(key: "demo-api-key", secret: "demo-password", account: "demo-user")],
                          symbolStaleAfter: symbolStale)
    }

    static func after(_ ticks: [JSONValue], _ time: Int64, symbol: String) -> [JSONValue] {
        ticks.filter { ($0["ts"]?.int64Value ?? 0) > time && $0["symbol"]?.stringValue == symbol }
    }

    @Test("epic ticks become exact quotes per epic; a dropped socket is recovered: no gap, the same session, quotes go on")
    func quotesAndRecovery() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            let ticks = try await h.waitForTicks("quotes of both epics") { ticks in
                Set(ticks.compactMap { $0["symbol"]?.stringValue }) == ["EUR/USD", "USD/JPY"]
            }
            for tick in ticks {
                #expect(tick["source"]?.stringValue == "ig" && tick["kind"]?.stringValue == "quote")
                #expect(Self.epics.contains(tick["venue_symbol"]?.stringValue ?? ""))
                let bid = try #require(tick["bid"]?.stringValue), ask = try #require(tick["ask"]?.stringValue)
                let decimals = tick["symbol"]?.stringValue == "USD/JPY" ? 3 : 5
                #expect(bid.split(separator: ".").last.map { $0.count <= decimals } == true && ask.split(separator: ".").last.map { $0.count <= decimals } == true,
                        "exact decimals of the wire's strings: \(bid) / \(ask)")
                #expect(DecimalText(bid)! < DecimalText(ask)!)
                #expect((tick["ts"]?.int64Value ?? 0) % 1_000_000 == 0, "UTM is epoch milliseconds")
            }
            let droppedAt = WallClock.nanoseconds()
            #expect(try h.market.igFault("drop") == 1)
            try await h.waitForTicks("quotes of both epics after the drop") { ticks in
                !Self.after(ticks, droppedAt, symbol: "EUR/USD").isEmpty && !Self.after(ticks, droppedAt, symbol: "USD/JPY").isEmpty
            }
            try await h.recorder.waitFor(h.topics.health, timeout: .seconds(20), "a heartbeat counting the reconnect") { messages in
                messages.contains { message in
                    let connection = (try? JSONParser().parse(message.value))?["connections"]?.arrayValue?.first
                    return connection?["reconnects"]?.int64Value == 1 && connection?["state"]?.stringValue == "streaming"
                }
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try h.gaps().isEmpty, "a recovered session loses nothing: no gap")
            let health = try h.health().compactMap { $0["connections"]?.arrayValue?.first?["last_error"]?.stringValue }
            #expect(!health.contains { $0.contains("demo-password") || $0.contains("demo-api-key") }, "credentials never reach a heartbeat")
        }
    }

    @Test("a stalled stream (no data, no PROBE past the keepalive) is recovered on a new socket, and the quotes sent during the stall arrive: no gap")
    func stallRecovered() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0, epics: ["CS.D.EURUSD.CFD.IP"])] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            let silentAt = WallClock.nanoseconds()
            #expect(h.market.silence("ig", seconds: 4, now: silentAt) == 1)
            // The session's keepalive is 1 s: silent for 3 s, the socket is given up and the session recovered;
            // the server resends what it logged during the silence.
            try await h.waitForTicks("quotes stamped inside the silence, replayed by the recovery", timeout: .seconds(30)) { ticks in
                ticks.contains { tick in
                    let ts = tick["ts"]?.int64Value ?? 0
                    return ts > silentAt + 500_000_000 && ts < silentAt + 2_500_000_000
                }
            }
            try await h.waitForTicks("quotes after the silence") { $0.contains { ($0["ts"]?.int64Value ?? 0) > silentAt + 4_500_000_000 } }
            try await h.recorder.waitFor(h.topics.health, timeout: .seconds(20), "a heartbeat counting the new socket") { messages in
                messages.contains { message in
                    ((try? JSONParser().parse(message.value))?["connections"]?.arrayValue?.first?["reconnects"]?.int64Value ?? 0) >= 1
                }
            }
            let gaps = try h.gaps()
            #expect(gaps.isEmpty, "nothing lost: \(gaps)")
            let ts = try h.ticks().compactMap { $0["ts"]?.int64Value }
            #expect(Set(ts).count == ts.count, "no quote twice (the replay skips what was already read)")
        }
    }

    @Test("a session the server forgot cannot be recovered (CONERR 4): a new login and session, and the window is a disconnect gap per epic")
    func sessionReplaced() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await h.waitForTicks("quotes of both epics") { Set($0.compactMap { $0["symbol"]?.stringValue }).count == 2 }
            let lostAt = WallClock.nanoseconds()
            #expect(try h.market.igFault("forget") == 1)
            let gaps = try await h.waitForGaps("a disconnect gap per epic", timeout: .seconds(30)) { gaps in
                Set(gaps.filter { $0.reason == .disconnect }.map(\.symbol)) == ["EUR/USD", "USD/JPY"]
            }
            for gap in gaps where gap.reason == .disconnect {
                #expect(gap.source == "ig" && gap.from <= lostAt && gap.to >= lostAt, "the window covers the loss: \(gap)")
                #expect(gap.to - lostAt < 15_000_000_000, "closed by the first quote of the new session: \(gap)")
            }
            try await h.waitForTicks("quotes of the new session") { !Self.after($0, lostAt, symbol: "EUR/USD").isEmpty }
        }
    }

    @Test("OV (updates the server dropped) is a sequence gap of that epic; a line the session cannot read is a protocol_error reject; the stream goes on")
    func overflowAndBadLine() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0)] }) { h in
            try await h.waitForTicks("quotes of both epics") { Set($0.compactMap { $0["symbol"]?.stringValue }).count == 2 }
            let overflowAt = WallClock.nanoseconds()
            #expect(try h.market.igFault("ov") == 1)
            let gaps = try await h.waitForGaps("a sequence gap for the first epic") { $0.contains { $0.reason == .sequence } }
            let gap = try #require(gaps.first { $0.reason == .sequence })
            #expect(gap.symbol == "EUR/USD" && gap.venueSymbol == "CS.D.EURUSD.CFD.IP")
            // IG's times are milliseconds: the next quote may carry the millisecond the OV was sent in.
            let overflowMillisecond = overflowAt / 1_000_000 * 1_000_000
            #expect(gap.from <= overflowAt && gap.to >= overflowMillisecond && gap.detail.contains("3 update"), "\(gap)")
            #expect(!gaps.contains { $0.symbol == "USD/JPY" }, "the other epic lost nothing")
            _ = try h.market.sendMalformed("ig", kind: "json", size: 0, now: WallClock.nanoseconds())
            let rejects = try await h.recorder.waitFor(h.topics.rejects, timeout: .seconds(20), "the unreadable line") { messages in
                messages.contains { (try? JSONParser().parse($0.value))?["reason"]?.stringValue == "protocol_error" }
            }
            let reject = try JSONParser().parse(try #require(rejects.last).value)
            #expect(reject["source"]?.stringValue == "ig")
            let badAt = WallClock.nanoseconds()
            try await h.waitForTicks("quotes after the bad line") { !Self.after($0, badAt, symbol: "USD/JPY").isEmpty }
        }
    }

    @Test("LOOP rebinds the same session without a gap; END,48 ends it: a new session, and the window is a disconnect gap; END,35 (another session of this user) is the connection's error")
    func serverEnds() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0, epics: ["CS.D.EURUSD.CFD.IP"])] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            let loopAt = WallClock.nanoseconds()
            #expect(try h.market.igFault("loop") == 1)
            try await h.waitForTicks("quotes after the rebind") { !Self.after($0, loopAt, symbol: "EUR/USD").isEmpty }
            try await Task.sleep(for: .seconds(1))
            #expect(try h.gaps().isEmpty, "a LOOP loses nothing")
            let endAt = WallClock.nanoseconds()
            #expect(try h.market.igFault("end48") == 1)
            let gaps = try await h.waitForGaps("the ended session's window") { $0.contains { $0.reason == .disconnect } }
            let gap = try #require(gaps.first { $0.reason == .disconnect })
            #expect(gap.from <= endAt && gap.to >= endAt && gap.detail.contains("END,48"), "\(gap)")
            try await h.waitForTicks("quotes of the new session") { !Self.after($0, endAt, symbol: "EUR/USD").isEmpty }
            #expect(try h.market.igFault("end35") == 1)
            try await h.recorder.waitFor(h.topics.health, timeout: .seconds(20), "END,35 on the connection") { messages in
                messages.contains { message in
                    let error = (try? JSONParser().parse(message.value))?["connections"]?.arrayValue?.first?["last_error"]?.stringValue
                    return error?.contains("another session of this user took over") == true
                }
            }
        }
    }

    @Test("a refused login (401) is shown on the connection and retried with backoff until a session opens; the password never shows")
    func refusedLogin() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0, epics: ["CS.D.EURUSD.CFD.IP"])] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            _ = try h.market.igFault("refuse-login", count: 2)
            _ = try h.market.igFault("forget")
            try await h.recorder.waitFor(h.topics.health, timeout: .seconds(30), "the refused login on the connection") { messages in
                messages.contains { message in
                    let error = (try? JSONParser().parse(message.value))?["connections"]?.arrayValue?.first?["last_error"]?.stringValue
                    return error?.contains("login refused: HTTP 401 error.security.invalid-details") == true
                }
            }
            let refusedAt = WallClock.nanoseconds()
            try await h.waitForTicks("quotes once a login succeeds", timeout: .seconds(60)) { !Self.after($0, refusedAt, symbol: "EUR/USD").isEmpty }
            let errors = try h.health().compactMap { $0["connections"]?.arrayValue?.first?["last_error"]?.stringValue }
            #expect(!errors.contains { $0.contains("demo-password") })
        }
    }

    @Test("a closed market (MARKET_STATE not TRADEABLE) is quiet: no stale gap past the stale limit, the heartbeat says why; quotes resume on reopening")
    func closedMarket() async throws {
        try await IngestHarness.run(feeds: { [Self.feed($0, epics: ["CS.D.EURUSD.CFD.IP"], symbolStale: .seconds(2))] }) { h in
            try await h.waitForTicks("first quotes") { !$0.isEmpty }
            let closedAt = WallClock.nanoseconds()
            try h.market.setMarket(venue: "ig", symbol: "CS.D.EURUSD.CFD.IP", open: false, now: closedAt)
            try await Task.sleep(for: .seconds(1))
            let closedCount = try h.ticks().count
            try await Task.sleep(for: .seconds(5))
            #expect(try h.ticks().count == closedCount, "no quotes from a closed market")
            let gaps = try h.gaps()
            #expect(gaps.filter { $0.from >= closedAt }.isEmpty, "closed is not stale: \(gaps)")
            let closedNow = try h.health().last?["connections"]?.arrayValue?.first?["market_closed"]?["EUR/USD"]?.stringValue
            #expect(closedNow?.contains("CLOSED (IG)") == true, "the heartbeat says the market is closed, and why: \(String(describing: closedNow))")
            let reopenedAt = WallClock.nanoseconds()
            try h.market.setMarket(venue: "ig", symbol: "CS.D.EURUSD.CFD.IP", open: true, now: reopenedAt)
            try await h.waitForTicks("quotes after the reopening") { $0.contains { ($0["ts"]?.int64Value ?? 0) > reopenedAt } }
        }
    }
}
