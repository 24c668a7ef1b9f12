import FXCore
import HTTPTypes
import Hummingbird
import NIOCore

/// IG over REST and Lightstreamer, under `/ig`: the login (`POST /ig/session`, version 2) that hands out
/// tokens and the Lightstreamer endpoint (this server), and the fault controls of the sessions.
struct SimIGRoutes: Sendable {
    let market: SimMarket

    func add(to router: Router<BasicRequestContext>) {
        router.post("/ig/session") { request, context -> Response in
            try await login(request, context)
        }
        router.get("/ig/prices/:epic") { request, context -> Response in
            prices(request, context)
        }
        // `fault`: drop (sockets closed, sessions kept), forget (sockets closed, sessions gone: recovery
        // refused), ov, end48, end35, loop, refuse-login (the next `count` logins are refused).
        router.post("/control/ig") { request, _ -> Response in
            let query = request.uri.queryParameters
            do {
                let affected = try market.igFault(query["fault"].map(String.init) ?? "", count: Int(String(query["count"] ?? "1")) ?? 1)
                return body(#"{"affected":\#(affected)}"#)
            } catch {
                return body(#"{"error":"\#(error)"}"#, status: .badRequest)
            }
        }
    }

    private func login(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard request.headers[HTTPField.Name("VERSION")!] == "2" else {
            return body(#"{"errorCode":"error.request.invalid.version"}"#, status: .badRequest)
        }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let document = try? JSONParser().parse(Array(buffer: buffer))
        guard let tokens = market.ig.login(apiKey: request.headers[HTTPField.Name("X-IG-API-KEY")!],
                                           identifier: document?["identifier"]?.stringValue,
                                           password: document?["password"]?.stringValue) else {
            return body(#"{"errorCode":"error.security.invalid-details"}"#, status: .unauthorized)
        }
        let host = request.head.authority ?? "127.0.0.1"
        var response = body(#"{"accountType":"CFD","currentAccountId":"ZSIM1","lightstreamerEndpoint":"http://\#(host)/ig","timezoneOffset":0}"#)
        response.headers[HTTPField.Name("CST")!] = tokens.cst
        response.headers[HTTPField.Name("X-SECURITY-TOKEN")!] = tokens.xst
        return response
    }

    /// `GET /prices/{epic}?resolution=MINUTE&from&to&pageSize=0` (version 3, a login's tokens): bid and ask
    /// OHLC one unit either side of the walk's minute candles (JSON numbers, as IG writes them), `from`
    /// and `to` inclusive, UTC without a zone.
    private func prices(_ request: Request, _ context: BasicRequestContext) -> Response {
        guard market.ig.validTokens(cst: request.headers[HTTPField.Name("CST")!], xst: request.headers[HTTPField.Name("X-SECURITY-TOKEN")!]) else {
            return body(#"{"errorCode":"error.security.client-token-invalid"}"#, status: .unauthorized)
        }
        switch market.admitREST(.ig, now: WallClock.nanoseconds()) {
        case .rateLimited: return body(#"{"errorCode":"error.public-api.exceeded-api-key-allowance"}"#, status: .forbidden)
        case .noAccess: return body(#"{"errorCode":"error.public-api.exceeded-account-historical-data-allowance"}"#, status: .forbidden)
        case .malformed: return body(#"{"prices":[{"snapshotTimeUTC":"x"}]}"#)
        case .serve: break
        }
        let query = request.uri.queryParameters
        func time(_ name: Substring) -> Int64? { query[name].flatMap { Timestamps.nanoseconds(rfc3339: String($0) + "Z") }.map { $0 / 1_000_000_000 } }
        guard request.headers[HTTPField.Name("VERSION")!] == "3", query["resolution"] == "MINUTE", let epic = context.parameters.get("epic"),
              let from = time("from"), let to = time("to"), from <= to else {
            return body(#"{"errorCode":"error.malformed.request"}"#, status: .badRequest)
        }
        let (found, rows) = market.candles(.ig, symbol: epic, granularity: 60, start: (from + 59) / 60 * 60, end: to / 60 * 60)
        guard let found else { return body(#"{"errorCode":"error.service.marketdata.instrument.epic.unavailable"}"#, status: .notFound) }
        var prices: [String] = []
        for row in rows {
            func level(_ units: Int64) -> String {
                #"{"bid":\#(found.price(max(1, units - 1))),"ask":\#(found.price(units + 1)),"lastTraded":null}"#
            }
            let snapshot = String(Timestamps.rfc3339(nanoseconds: row.time * 1_000_000_000, fractionDigits: 0).dropLast())
            prices.append(#"{"snapshotTimeUTC":"\#(snapshot)","openPrice":\#(level(row.candle.open)),"highPrice":\#(level(row.candle.high)),"# +
                          #""lowPrice":\#(level(row.candle.low)),"closePrice":\#(level(row.candle.close)),"lastTradedVolume":\#(row.candle.ticks)}"#)
        }
        return body(#"{"prices":[\#(prices.joined(separator: ","))],"instrumentType":"CURRENCIES","# +
                    #""metadata":{"allowance":{"remainingAllowance":9999,"totalAllowance":10000,"allowanceExpiry":600000}}}"#)
    }

    private func body(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
