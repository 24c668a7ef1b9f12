import FXContracts
import FXVenues
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import FXConfiguration
import FXCore
import FXIngest
import FXSim
import FXTestSupport
import Testing

private func coinbase(_ port: Int, _ symbols: [String], connectionStale: Duration? = nil) -> FeedConfiguration {
    FeedConfiguration(provider: "coinbase", symbols: symbols, webSocketURL: "ws://127.0.0.1:\(port)/coinbase",
                      restURL: "http://127.0.0.1:\(port)/coinbase", connectionStaleAfter: connectionStale)
}

private func finnhub(_ port: Int, _ symbols: [String], connectionStale: Duration? = nil, symbolStale: Duration? = nil) -> FeedConfiguration {
    FeedConfiguration(provider: "finnhub", symbols: symbols, webSocketURL: "ws://127.0.0.1:\(port)/finnhub",
                      credentials: [ProviderCredential(key: "test-key")], connectionStaleAfter: connectionStale, symbolStaleAfter: symbolStale)
}

private func http(_ method: String, _ url: String) async throws -> (status: Int, headers: [String: String], body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    let headers = http.allHeaderFields.reduce(into: [String: String]()) { $0["\($1.key)".lowercased()] = "\($1.value)" }
    return (http.statusCode, headers, String(decoding: data, as: UTF8.self))
}

@Suite("Ingestor end to end: simulator -> WebSocket -> normalized Kafka topics", .serialized, .tags(.integration))
struct IngestorIntegrationTests {
    @Test("ticks from both providers arrive normalized, exact and keyed; Coinbase trades agree with the REST candles")
    func normalizedTicks() async throws {
        try await IngestHarness.run(feeds: { [coinbase($0, ["BTC-USD", "ETH-USD"]), finnhub($0, ["OANDA:EUR_USD", "BINANCE:BTCUSDT"])] }) { h in
            let ticks = try await h.waitForTicks("trades and quotes of all four symbols") { ticks in
                Set(ticks.compactMap { $0["symbol"]?.stringValue }) == ["BTC/USD", "ETH/USD", "EUR/USD", "BTC/USDT"]
                    && ticks.contains { $0["kind"]?.stringValue == "quote" } && ticks.count > 40
            }
            for message in h.recorder.messages(h.topics.ticks) {
                let tick = try JSONParser().parse(message.value)
                #expect(message.keyString == "\(tick["source"]?.stringValue ?? "?"):\(tick["symbol"]?.stringValue ?? "?")")
            }
            for tick in ticks {
                #expect(tick["v"]?.int64Value == 1)
                let ts = try #require(tick["ts"]?.int64Value), recv = try #require(tick["recv_ts"]?.int64Value)
                #expect(abs(recv - ts) < 10_000_000_000, "event and receive times are ns since the epoch")
                switch (tick["source"]?.stringValue, tick["kind"]?.stringValue) {
                case ("coinbase", "trade"):
                    let price = try #require(tick["price"]?.stringValue)
                    #expect(price.wholeMatch(of: /[1-9][0-9]*(\.[0-9]{1,2})?/) != nil, "exact canonical price text (cents), got \(price)")
                    #expect(tick["size"]?.stringValue.flatMap(DecimalText.init)?.isPositive == true)
                    #expect(["buy", "sell"].contains(tick["side"]?.stringValue ?? ""))
                    #expect(tick["seq"]?.int64Value != nil && tick["trade_id"]?.stringValue != nil)
                    #expect(tick["venue_symbol"]?.stringValue?.contains("-") == true)
                case ("coinbase", "quote"):
                    let bid = try #require(tick["bid"]?.stringValue.flatMap(DecimalText.init))
                    let ask = try #require(tick["ask"]?.stringValue.flatMap(DecimalText.init))
                    #expect(bid < ask)
                case ("finnhub", "trade"):
                    #expect(tick["seq"]?.isNull == true && tick["side"]?.isNull == true)
                    if tick["symbol"]?.stringValue == "EUR/USD" {
                        #expect(tick["price"]?.stringValue?.wholeMatch(of: /1(\.[0-9]{1,5})?/) != nil)
                        #expect(tick["size"]?.stringValue == "0", "forex price updates carry volume 0")
                        #expect(tick["venue_symbol"]?.stringValue == "OANDA:EUR_USD")
                    }
                default:
                    Issue.record("unexpected tick \(tick)")
                }
            }
            // Every streamed BTC-USD trade lies within the simulator's REST candle of its minute.
            let trades = ticks.filter { $0["symbol"]?.stringValue == "BTC/USD" && $0["kind"]?.stringValue == "trade" }
            let first = trades.compactMap { $0["ts"]?.int64Value }.min()! / 1_000_000_000 / 60 * 60
            let start = Timestamps.rfc3339(nanoseconds: first * 1_000_000_000, fractionDigits: 0)
            let end = Timestamps.rfc3339(nanoseconds: (first + 600) * 1_000_000_000, fractionDigits: 0)
            let rest = try await http("GET", "http://127.0.0.1:\(h.port)/coinbase/products/BTC-USD/candles?granularity=60&start=\(start)&end=\(end)")
            #expect(rest.status == 200)
            let rows = try #require(try JSONParser().parse(rest.body).arrayValue)
            var candles: [Int64: (low: DecimalText, high: DecimalText)] = [:]
            for row in rows {
                let values = try #require(row.arrayValue)
                candles[values[0].int64Value!] = (values[1].decimal!, values[2].decimal!)
            }
            for trade in trades {
                let minute = trade["ts"]!.int64Value! / 1_000_000_000 / 60 * 60
                let price = trade["price"]!.decimal!
                let candle = try #require(candles[minute], "a REST candle for minute \(minute)")
                #expect(candle.low <= price && price <= candle.high)
            }
        }
    }

    @Test("a dropped connection yields one disconnect gap per symbol with a tight window, then resubscribes")
    func reconnect() async throws {
        try await IngestHarness.run(feeds: { [coinbase($0, ["BTC-USD", "ETH-USD"])] }) { h in
            try await h.waitForTicks("ticks of both symbols") { Set($0.compactMap { $0["symbol"]?.stringValue }).count == 2 }
            #expect(h.market.dropConnections("coinbase") == 1)
            // Taken once the drop is done: a tick the simulator stamped while the drop was under way may
            // still have been read, so the last event before the drop can be later than a time taken before it.
            let dropAt = WallClock.nanoseconds()
            let gaps = try await h.waitForGaps("disconnect gaps for both symbols") { gaps in
                Set(gaps.filter { $0.reason == .disconnect }.map(\.symbol)) == ["BTC/USD", "ETH/USD"]
            }.filter { $0.reason == .disconnect }
            #expect(gaps.count == 2)
            for gap in gaps {
                #expect(gap.source == "coinbase" && gap.instance == "test")
                #expect(gap.from <= dropAt, "the window starts at the last event before the drop")
                #expect(dropAt - gap.from < 2_000_000_000)
                #expect(gap.to > dropAt && gap.to - dropAt < 10_000_000_000, "and ends at the first event after resubscribing")
                #expect(gap.detail.contains("coinbase-0"))
            }
            #expect(try h.bootstrapEvents().map(\.symbol).sorted() == ["BTC/USD", "ETH/USD"],
                    "one bootstrap event per symbol where its stream started, not repeated at the reconnect")
            let resumed = gaps.map(\.to).max()!
            try await h.waitForTicks("ticks after the reconnect") { ticks in
                Set(ticks.filter { ($0["ts"]?.int64Value ?? 0) > resumed }.compactMap { $0["symbol"]?.stringValue }).count == 2
            }
            try await h.recorder.waitFor(h.topics.health, "a heartbeat counting the reconnect") { messages in
                messages.contains { message in
                    let health = try? JSONParser().parse(message.value)
                    return health?["connections"]?.arrayValue?.first?["reconnects"]?.int64Value == 1
                        && health?["connections"]?.arrayValue?.first?["state"]?.stringValue == "streaming"
                }
            }
        }
    }

    @Test("a feed silent with TCP open is declared stale, reconnected, and its window published as a stale gap")
    func silence() async throws {
        try await IngestHarness.run(feeds: { [coinbase($0, ["BTC-USD"], connectionStale: .seconds(3))] }) { h in
            try await h.waitForTicks("first ticks") { !$0.isEmpty }
            let silentAt = WallClock.nanoseconds()
            #expect(h.market.silence("coinbase", seconds: 5, now: silentAt) == 1)
            // The silence's gap is the stale one that ends after it began (a loaded machine may starve the
            // simulator into an earlier, shorter one of its own).
            func silenceGap(_ gaps: [GapEvent]) -> GapEvent? { gaps.first { $0.reason == .stale && $0.to > silentAt } }
            let gaps = try await h.waitForGaps("a stale gap") { silenceGap($0) != nil }
            let gap = try #require(silenceGap(gaps))
            #expect(gap.symbol == "BTC/USD")
            #expect(silentAt - gap.from < 2_000_000_000 && gap.from <= silentAt + 100_000_000,
                    "the window starts at the last event before the silence: \(gaps)")
            #expect(gap.to - gap.from >= 3_000_000_000, "at least the stale threshold")
            #expect(!gaps.contains { $0.reason == .disconnect }, "the forced reconnect is covered by the stale gap, not reported twice")
        }
    }

    @Test("skipped sequence numbers become a sequence gap between the surrounding events")
    func sequenceJump() async throws {
        try await IngestHarness.run(feeds: { [coinbase($0, ["BTC-USD"])] }) { h in
            try await h.waitForTicks("first ticks") { $0.count > 5 }
            h.market.skip(venue: "coinbase", symbol: "BTC-USD", count: 5)
            let gaps = try await h.waitForGaps("a sequence gap") { $0.contains { $0.reason == .sequence } }
            let gap = try #require(gaps.first { $0.reason == .sequence })
            #expect(gap.detail.contains("5 missing"), "\(gap.detail)")
            #expect(gap.to > gap.from)
            #expect(gaps.count == 1)
        }
    }

    @Test("trade-id mode (the real Coinbase default): skipped matches become a sequence gap named by trade ids")
    func tradeIDGap() async throws {
        try await IngestHarness.run(feeds: { port in
            [FeedConfiguration(provider: "coinbase", symbols: ["BTC-USD"], webSocketURL: "ws://127.0.0.1:\(port)/coinbase", sequenceCheck: .tradeID)]
        }, tune: { _ in }) { h in
            try await h.waitForTicks("first trades") { $0.filter { $0["kind"]?.stringValue == "trade" }.count > 3 }
            h.market.skip(venue: "coinbase", symbol: "BTC-USD", count: 12)
            let gaps = try await h.waitForGaps("a trade-id gap") { $0.contains { $0.reason == .sequence } }
            let gap = try #require(gaps.first { $0.reason == .sequence })
            #expect(gap.detail.contains("trade id jumped"), "\(gap.detail)")
            #expect(gap.to > gap.from)
        }
    }

    @Test("forex silence during the weekly close raises no stale gap and no reconnect")
    func weekendSilence() async throws {
        // Shift the ingestor's clock forward to the next Saturday 12:00 UTC. Never back: the simulator stamps
        // ticks with the real time, and a clock more than a day behind them would refuse them as from the
        // future (a shift back to this week's Saturday failed every Sunday afternoon).
        let now = WallClock.nanoseconds()
        let seconds = now / 1_000_000_000
        let days = seconds / 86_400
        let mondayStart = (days - (days + 3) % 7) * 86_400
        var saturdayNoon = mondayStart + 5 * 86_400 + 12 * 3_600
        if saturdayNoon * 1_000_000_000 <= now { saturdayNoon += 7 * 86_400 }
        let offset = saturdayNoon * 1_000_000_000 - now
        try await IngestHarness.run(feeds: { [finnhub($0, ["OANDA:EUR_USD", "OANDA:GBP_USD"], connectionStale: .seconds(2), symbolStale: .seconds(2))] },
                                    clock: .shifted(by: offset)) { h in
            try await h.waitForTicks("first ticks") { !$0.isEmpty }
            _ = h.market.silence("finnhub", seconds: 5, now: WallClock.nanoseconds())
            try await Task.sleep(for: .seconds(6))
            try await h.waitForTicks("ticks again after the silence") { ticks in
                ticks.contains { ($0["recv_ts"]?.int64Value ?? 0) > now + offset + 6_000_000_000 }
            }
            #expect(try h.gaps().isEmpty, "weekend silence is not an outage")
            let last = try #require(try h.health().last)
            #expect(last["connections"]?.arrayValue?.first?["reconnects"]?.int64Value == 0)
        }
    }

    @Test("malformed, invalid and oversized input lands in rejects with its reason and raw payload, never as ticks")
    func rejects() async throws {
        try await IngestHarness.run(feeds: { [coinbase($0, ["BTC-USD"])] }, tune: { $0.maxMessageBytes = ByteSize(bytes: 65_536) }) { h in
            try await h.waitForTicks("first ticks") { !$0.isEmpty }
            for kind in ["json", "utf8", "nan", "negative", "zero", "unknown_type", "missing_field", "oversized"] {
                #expect(try h.market.sendMalformed("coinbase", kind: kind, size: 200_000, now: WallClock.nanoseconds()) == 1)
            }
            let expected: Set<String> = ["malformed_json", "invalid_utf8", "invalid_price", "unknown_type", "missing_field", "oversized_frame"]
            try await h.recorder.waitFor(h.topics.rejects, "all reject reasons") { messages in
                expected.isSubset(of: Set(messages.compactMap { try? JSONParser().parse($0.value)["reason"]?.stringValue }))
            }
            let rejects = try h.rejects()
            #expect(rejects.count == 8)
            let byReason = Dictionary(grouping: rejects) { $0["reason"]?.stringValue ?? "" }
            #expect(byReason["invalid_price"]?.count == 3)
            let utf8 = try #require(byReason["invalid_utf8"]?.first)
            #expect(utf8["raw_encoding"]?.stringValue == "base64")
            let oversized = try #require(byReason["oversized_frame"]?.first)
            #expect(oversized["truncated"]?.boolValue == true)
            #expect((oversized["raw_bytes"]?.int64Value ?? 0) > 200_000)
            #expect(oversized["raw"]?.stringValue?.utf8.count == RejectRecord.maxRawBytes)
            #expect(byReason["malformed_json"]?.first?["raw"]?.stringValue == #"{"type":"match","price":"#)
            #expect(rejects.allSatisfy { $0["source"]?.stringValue == "coinbase" && $0["v"]?.int64Value == 1 })
            // The connection survived all of it, and no bad price became a tick.
            try await Task.sleep(for: .milliseconds(500))
            let ticks = try h.ticks()
            #expect(ticks.allSatisfy { tick in tick["price"].map { $0.stringValue.flatMap(DecimalText.init)?.isPositive == true } ?? true })
            #expect(try h.gaps().isEmpty)
        }
    }

    @Test("values outside the contract (far-future and ancient times, Int64 sequences, a NUL trade id, a 17,000-digit price, an unsubscribed product) are rejects with their reason; the feed keeps streaming")
    func contractLimits() async throws {
        try await IngestHarness.run(feeds: { [coinbase($0, ["BTC-USD"])] }) { h in
            try await h.waitForTicks("first ticks") { !$0.isEmpty }
            let kinds = ["far_future", "ancient", "huge_sequence", "nul_trade_id", "huge_price", "unsubscribed"]
            for kind in kinds {
                #expect(try h.market.sendMalformed("coinbase", kind: kind, size: 0, now: WallClock.nanoseconds()) == 1)
            }
            let expected = ["invalid_timestamp", "invalid_timestamp", "invalid_sequence", "invalid_trade_id", "invalid_decimal", "unsubscribed_symbol"]
            let rejects = try await h.recorder.waitFor(h.topics.rejects, "six contract rejects") { $0.count >= kinds.count }
            #expect(rejects.compactMap { try? JSONParser().parse($0.value)["reason"]?.stringValue }.sorted() == expected.sorted())
            let before = try h.ticks().count
            _ = try await h.waitForTicks("ticks after the hostile frames") { $0.count > before }
            #expect(try h.ticks().allSatisfy { tick in
                let ts = tick["ts"]?.int64Value ?? 0
                return ContractLimits.isPlausibleEventTime(ts) && tick["venue_symbol"]?.stringValue == "BTC-USD"
            }, "nothing absurd published")
        }
    }

    @Test("ticks Kafka does not acknowledge become delivery gaps covering their event times, published once Kafka is back")
    func deliveryGap() async throws {
        let broker = try PrivateBroker()
        try await IngestHarness.run(feeds: { [coinbase($0, ["BTC-USD"])] }, brokers: broker.brokers,
                                    kafkaProperties: ["message.timeout.ms": "2000"]) { h in
            try await h.waitForTicks("first ticks") { !$0.isEmpty }
            let pausedAt = WallClock.nanoseconds()
            broker.pause()
            try await Task.sleep(for: .seconds(4))
            broker.resume()
            let gaps = try await h.waitForGaps("a delivery gap", timeout: .seconds(60)) { $0.contains { $0.reason == .delivery } }
            let gap = try #require(gaps.first { $0.reason == .delivery })
            #expect(gap.symbol == "BTC/USD")
            #expect(gap.from >= pausedAt - 1_000_000_000 && gap.to <= pausedAt + 6_000_000_000)
            #expect(gap.detail.contains("not delivered"))
            #expect(gaps.filter { $0.reason == .delivery }.count <= 2, "the outage is merged into one window per symbol")
            try await h.waitForTicks("ticks flow again") { $0.contains { ($0["ts"]?.int64Value ?? 0) > pausedAt + 5_000_000_000 } }
        }
    }

    @Test("1,000 symbols are sharded over 10 pooled connections and all stream")
    func thousandSymbols() async throws {
        let products = (0..<1_000).map { String(format: "P%04d-USD", $0) }
        try await IngestHarness.run(simulator: { $0.stepInterval = .milliseconds(100); $0.tradeProbability = 0.2; $0.coinbaseProducts = [] },
                                    feeds: { [coinbase($0, products)] }) { h in
            try await h.recorder.waitFor(h.topics.ticks, timeout: .seconds(90), "ticks of all 1,000 symbols") { messages in
                Set(messages.compactMap(\.keyString)).count == 1_000
            }
            try await h.recorder.waitFor(h.topics.health, "a heartbeat with 10 streaming connections of 100 symbols") { messages in
                guard let last = messages.last, let health = try? JSONParser().parse(last.value),
                      let connections = health["connections"]?.arrayValue else { return false }
                return connections.count == 10 && connections.allSatisfy {
                    $0["symbols"]?.int64Value == 100 && $0["state"]?.stringValue == "streaming"
                }
            }
            #expect(h.market.stats["clients"] == 10)
        }
    }

    @Test("the simulator's REST endpoints answer 429 with Retry-After on command and serve Finnhub candles")
    func restFaults() async throws {
        try await IngestHarness.run(feeds: { [finnhub($0, ["OANDA:EUR_USD"])] }) { h in
            try await h.waitForTicks("first ticks") { $0.count >= 3 }
            try h.market.rateLimit(venue: "finnhub", count: 1, retryAfter: 7)
            let now = WallClock.nanoseconds() / 1_000_000_000
            let url = "http://127.0.0.1:\(h.port)/finnhub/api/v1/forex/candle?symbol=OANDA:EUR_USD&resolution=1&from=\(now - 600)&to=\(now)&token=x"
            let limited = try await http("GET", url)
            #expect(limited.status == 429)
            #expect(limited.headers["retry-after"] == "7")
            let ok = try await http("GET", url)
            #expect(ok.status == 200)
            let body = try JSONParser().parse(ok.body)
            #expect(body["s"]?.stringValue == "ok")
            #expect(body["c"]?.arrayValue?.last?.decimal != nil)
            #expect(try await http("GET", url.replacingOccurrences(of: "&token=x", with: "")).status == 401)
        }
    }
}
