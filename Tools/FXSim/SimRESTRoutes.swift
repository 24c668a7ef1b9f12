import FXCore
import Hummingbird

/// REST: the venues' candle endpoints (agreeing with the streamed trades) and the fault-injection API.
struct SimRESTRoutes: Sendable {
    let market: SimMarket

    func add(to router: Router<BasicRequestContext>) {
        router.get("/coinbase/products/:product/candles") { request, context -> Response in
            try coinbaseCandles(request, context)
        }
        router.get("/finnhub/api/v1/forex/candle") { request, _ -> Response in
            try finnhubCandles(request)
        }
        router.get("/finnhub/api/v1/crypto/candle") { request, _ -> Response in
            try finnhubCandles(request)
        }
        router.post("/control/kraken") { request, _ -> Response in
            let query = request.uri.queryParameters
            let applied = market.kraken.fault(String(query["fault"] ?? ""), symbol: query["symbol"].map(String.init),
                                              count: Int(String(query["count"] ?? "1")) ?? 1,
                                              seconds: Double(String(query["seconds"] ?? "0")) ?? 0)
            return applied > 0 || query["fault"] == "drop" ? json(["applied": applied]) : error(.badRequest, "fault: checksum&symbol=&count=, late_snapshot&seconds=, drop")
        }
        router.post("/control/coinbase") { request, _ -> Response in
            let query = request.uri.queryParameters
            let applied = market.coinbaseBooks.fault(String(query["fault"] ?? ""), symbol: query["symbol"].map(String.init),
                                                     count: Int(String(query["count"] ?? "1")) ?? 1,
                                                     seconds: Double(String(query["seconds"] ?? "0")) ?? 0)
            return applied > 0 ? json(["applied": applied]) : error(.badRequest, "fault: cross&symbol=&count=, late_snapshot&seconds=, error&symbol=")
        }
        router.get("/coinbase/book") { request, _ -> Response in
            guard let product = request.uri.queryParameters["product"].map(String.init), let book = market.coinbaseBooks.book(product) else {
                return error(.notFound, "no book for that product yet (nobody subscribed it)")
            }
            func levels(_ side: [(price: String, qty: String)]) -> String {
                "[" + side.map { #"["\#($0.price)","\#($0.qty)"]"# }.joined(separator: ",") + "]"
            }
            return self.body(#"{"product_id":"\#(product)","ts":\#(book.ts),"bids":\#(levels(book.bids)),"asks":\#(levels(book.asks))}"#)
        }
        router.post("/control/binance") { request, _ -> Response in
            let query = request.uri.queryParameters
            let applied = market.binance.fault(String(query["fault"] ?? ""), symbol: query["symbol"].map(String.init),
                                               count: Int(String(query["count"] ?? "1")) ?? 1,
                                               seconds: Double(String(query["seconds"] ?? "0")) ?? 0)
            return applied > 0 || query["fault"] == "drop" || query["fault"] == "shutdown" ? json(["applied": applied])
                : error(.badRequest, "fault: skip&symbol=&count=, late_snapshot&seconds=, shutdown, drop")
        }
        router.get("/binance/api/v3/depth") { request, _ -> Response in
            let query = request.uri.queryParameters
            let limit = Int(String(query["limit"] ?? "100")) ?? 100
            guard [5, 10, 20, 50, 100, 500, 1000, 5000].contains(limit) else {
                return binanceError(.badRequest, code: -1100, "Illegal characters found in parameter 'limit'")
            }
            guard let symbol = query["symbol"].map(String.init), let answer = market.binance.depthSnapshot(symbol, limit: limit, now: WallClock.nanoseconds()) else {
                return binanceError(.badRequest, code: -1121, "Invalid symbol.")
            }
            if answer.delay > 0 { try await Task.sleep(for: .nanoseconds(answer.delay)) }
            return self.body(answer.body)
        }
        router.get("/binance/api/v3/klines") { request, _ -> Response in
            let query = request.uri.queryParameters
            let intervals: [String: Int64] = ["1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400]
            guard let symbol = query["symbol"].map(String.init), SymbolMapperForSim.isPair(symbol) else {
                return binanceError(.badRequest, code: -1121, "Invalid symbol.")
            }
            guard let interval = query["interval"].flatMap({ intervals[String($0)] }) else {
                return binanceError(.badRequest, code: -1120, "Invalid interval.")
            }
            let limit = min(1000, max(1, Int(String(query["limit"] ?? "500")) ?? 500))
            return self.body(market.binance.klines(symbol, intervalSeconds: interval, start: query["startTime"].flatMap { Int64(String($0)) },
                                                   end: query["endTime"].flatMap { Int64(String($0)) }, limit: limit, now: WallClock.nanoseconds()))
        }
        router.get("/kraken/0/public/OHLC") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard query["interval"].map(String.init) ?? "1" == "1" else { return body(#"{"error":["EGeneral:Invalid arguments"]}"#) }
            guard let pair = query["pair"].map(String.init),
                  let answer = market.kraken.ohlc(restPair: pair, since: Int64(String(query["since"] ?? "0")) ?? 0, now: WallClock.nanoseconds()) else {
                return body(#"{"error":["EQuery:Unknown asset pair"]}"#)
            }
            return body(answer)
        }
        router.get("/kraken/book") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard let symbol = query["symbol"].map(String.init) else { return error(.badRequest, "symbol is required") }
            guard let body = market.kraken.bookJSON(symbol, depth: Int(String(query["depth"] ?? "10")) ?? 10) else {
                return error(.notFound, "no book for \(symbol) yet (nobody subscribed it)")
            }
            return self.body(body)
        }
        router.post("/control/drop") { request, _ -> Response in
            json(["dropped": market.dropConnections(request.uri.queryParameters["venue"].map(String.init))])
        }
        router.post("/control/silence") { request, _ -> Response in
            let seconds = Double(String(request.uri.queryParameters["seconds"] ?? "10")) ?? 10
            return json(["silenced": market.silence(request.uri.queryParameters["venue"].map(String.init), seconds: seconds,
                                                    now: WallClock.nanoseconds())])
        }
        router.post("/control/skip") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard let venue = query["venue"], let symbol = query["symbol"] else { return error(.badRequest, "venue and symbol are required") }
            market.skip(venue: String(venue), symbol: String(symbol), count: Int(String(query["count"] ?? "1")) ?? 1)
            return json(["ok": 1])
        }
        router.post("/control/malformed") { request, _ -> Response in
            let query = request.uri.queryParameters
            do {
                let sent = try market.sendMalformed(query["venue"].map(String.init), kind: String(query["kind"] ?? "json"),
                                                    size: Int(String(query["size"] ?? "2000000")) ?? 2_000_000, now: WallClock.nanoseconds())
                return json(["sent": sent])
            } catch {
                return self.error(.badRequest, "\(error)")
            }
        }
        router.post("/control/rate-limit") { request, _ -> Response in
            control(request) { request throws(SimError) in
                let query = request.uri.queryParameters
                try market.rateLimit(venue: String(query["venue"] ?? "coinbase"), count: Int(String(query["count"] ?? "1")) ?? 1,
                                     retryAfter: Int(String(query["retry_after"] ?? "1")) ?? 1)
            }
        }
        router.post("/control/history-access") { request, _ -> Response in
            control(request) { request throws(SimError) in
                let query = request.uri.queryParameters
                try market.refuseHistory(venue: String(query["venue"] ?? "finnhub"), refused: query["allowed"] == "0")
            }
        }
        router.post("/control/rest-malformed") { request, _ -> Response in
            control(request) { request throws(SimError) in
                let query = request.uri.queryParameters
                try market.malformHistory(venue: String(query["venue"] ?? "coinbase"), count: Int(String(query["count"] ?? "1")) ?? 1)
            }
        }
        // REST history requests per second of a venue: {"<epoch second>": count, ...}.
        router.get("/control/rest-requests") { request, _ -> Response in
            let counts = market.restRequestsPerSecond(String(request.uri.queryParameters["venue"] ?? "coinbase"))
            return json(Dictionary(uniqueKeysWithValues: counts.map { (String($0.key), $0.value) }))
        }
        // A venue's market closes (`open=0`) or reopens (`open=1`): OANDA streams say `tradeable: false`.
        router.post("/control/market") { request, _ -> Response in
            control(request) { request throws(SimError) in
                let query = request.uri.queryParameters
                guard let symbol = query["symbol"] else { throw SimError("symbol is required") }
                try market.setMarket(venue: String(query["venue"] ?? "oanda"), symbol: String(symbol), open: query["open"] != "0",
                                     now: WallClock.nanoseconds())
            }
        }
        // The next `count` OANDA stream requests answer 401 (an expired token).
        router.post("/control/expire-token") { request, _ -> Response in
            market.expireOandaToken(count: Int(String(request.uri.queryParameters["count"] ?? "1")) ?? 1)
            return json(["ok": 1])
        }
        router.get("/control/stats") { _, _ -> Response in json(market.stats) }
    }

    private func coinbaseCandles(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        switch market.admitREST(.coinbase, now: WallClock.nanoseconds()) {
        case .rateLimited(let retryAfter): return tooManyRequests(retryAfter)
        case .noAccess: return error(.forbidden, "Forbidden")
        case .malformed: return body(#"[[1700000000,"0.5","x","1","1","2"]]"#)
        case .serve: break
        }
        guard let product = context.parameters.get("product") else { return error(.badRequest, "product required") }
        let query = request.uri.queryParameters
        let granularity = Int64(String(query["granularity"] ?? "60")) ?? 0
        guard CoinbaseSimProtocol.granularities.contains(granularity) else {
            return error(.badRequest, "Unsupported granularity")
        }
        let now = WallClock.nanoseconds() / 1_000_000_000
        let end = query["end"].flatMap { Timestamps.nanoseconds(rfc3339: $0) }.map { $0 / 1_000_000_000 } ?? now
        let start = query["start"].flatMap { Timestamps.nanoseconds(rfc3339: $0) }.map { $0 / 1_000_000_000 } ?? (end - granularity * 300)
        guard start <= end else { return error(.badRequest, "start must be before end") }
        guard (end - start) / granularity <= 300 else {
            return error(.badRequest, "granularity too small for the requested time range. Count of aggregations requested exceeds 300")
        }
        let (instrument, rows) = market.candles(.coinbase, symbol: product, granularity: granularity, start: start, end: end)
        guard let instrument else { return error(.notFound, "NotFound") }
        return body(CoinbaseSimProtocol.candlesBody(rows, instrument: instrument))
    }

    private func finnhubCandles(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        guard let token = query["token"], !token.isEmpty else { return error(.unauthorized, "Invalid API key") }
        switch market.admitREST(.finnhub, now: WallClock.nanoseconds()) {
        case .rateLimited(let retryAfter): return tooManyRequests(retryAfter)
        case .noAccess:
            return body(#"{"error":"You don't have access to this resource."}"#, status: .forbidden)
        case .malformed: return body(#"{"s":"ok","t":[1700000000],"o":["x"],"h":[1],"l":[1],"c":[1],"v":[1]}"#)
        case .serve: break
        }
        guard let symbol = query["symbol"], let resolution = query["resolution"].flatMap({ FinnhubSimProtocol.resolutions[String($0)] }),
              let from = query["from"].flatMap({ Int64(String($0)) }), let to = query["to"].flatMap({ Int64(String($0)) }) else {
            return error(.badRequest, "symbol, resolution, from and to are required")
        }
        let (instrument, rows) = market.candles(.finnhub, symbol: String(symbol), granularity: resolution, start: from, end: to)
        guard let instrument else { return body(#"{"s":"no_data"}"#) }
        return body(FinnhubSimProtocol.candlesBody(rows, instrument: instrument))
    }

    /// A fault command: `{"ok":1}`, or 400 with the reason.
    private func control(_ request: Request, _ command: (Request) throws(SimError) -> Void) -> Response {
        do {
            try command(request)
            return json(["ok": 1])
        } catch {
            return self.error(.badRequest, "\(error)")
        }
    }

    private func body(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func json(_ values: [String: Int]) -> Response {
        var w = JSONWriter()
        w.beginObject()
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { w.key(key); w.number(Int64(value)) }
        w.endObject()
        return body(String(decoding: w.bytes, as: UTF8.self))
    }

    private func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var w = JSONWriter()
        w.beginObject()
        w.key("message"); w.string(message)
        w.endObject()
        return body(String(decoding: w.bytes, as: UTF8.self), status: status)
    }

    /// Binance's error body: `{"code":-1121,"msg":"Invalid symbol."}`.
    private func binanceError(_ status: HTTPResponse.Status, code: Int, _ message: String) -> Response {
        body(#"{"code":\#(code),"msg":"\#(message)"}"#, status: status)
    }

    private func tooManyRequests(_ retryAfter: Int) -> Response {
        var response = error(.tooManyRequests, "rate limit exceeded")
        response.headers[.retryAfter] = String(retryAfter)
        return response
    }
}
