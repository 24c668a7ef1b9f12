import FXCore
import Hummingbird
import NIOCore

/// OANDA v20 over HTTP: the chunked pricing stream (one JSON object per line, held open until the client
/// leaves or a fault drops it) and the M1 candles, under `/oanda`.
struct SimOandaRoutes: Sendable {
    let market: SimMarket

    func add(to router: Router<BasicRequestContext>) {
        router.get("/oanda/v3/accounts/:account/pricing/stream") { request, context -> Response in
            stream(request, context)
        }
        router.get("/oanda/v3/instruments/:instrument/candles") { request, context -> Response in
            candles(request, context)
        }
    }

    private static func token(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.hasPrefix("Bearer ") else { return nil }
        return String(value.dropFirst("Bearer ".count))
    }

    private func stream(_ request: Request, _ context: BasicRequestContext) -> Response {
        let instruments = String(request.uri.queryParameters["instruments"] ?? "").split(separator: ",").map(String.init)
        guard !instruments.isEmpty, context.parameters.get("account")?.isEmpty == false else {
            return body(#"{"errorMessage":"Invalid value specified for 'instruments'"}"#, status: .badRequest)
        }
        guard let client = market.openOandaStream(token: Self.token(request), instruments: instruments, now: WallClock.nanoseconds()) else {
            return body(OandaSimProtocol.unauthorized, status: .unauthorized)
        }
        let market = self.market
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody { writer in
            defer { market.disconnect(client) }
            for await message in client.outbox {
                switch message {
                case .text(let text): try await writer.write(ByteBuffer(string: text + "\n"))
                case .rawText(let bytes): try await writer.write(ByteBuffer(bytes: bytes + [0x0A]))
                // A line cut short: the connection drops inside it (a fault).
                case .cut(let bytes):
                    try await writer.write(ByteBuffer(bytes: bytes))
                    throw SimError("connection dropped inside a line (fault)")
                }
            }
            try await writer.finish(nil)
        })
    }

    private func candles(_ request: Request, _ context: BasicRequestContext) -> Response {
        guard Self.token(request)?.isEmpty == false else { return body(OandaSimProtocol.unauthorized, status: .unauthorized) }
        switch market.admitREST(.oanda, now: WallClock.nanoseconds()) {
        case .rateLimited(let retryAfter):
            var response = body(#"{"errorMessage":"Requests are being rate limited"}"#, status: .tooManyRequests)
            response.headers[.retryAfter] = String(retryAfter)
            return response
        case .noAccess: return body(#"{"errorMessage":"Insufficient authorization to perform request."}"#, status: .forbidden)
        case .malformed: return body(#"{"instrument":"EUR_USD","granularity":"M1","candles":[{"time":"x","bid":{"o":"1"}}]}"#)
        case .serve: break
        }
        let query = request.uri.queryParameters
        guard let instrument = context.parameters.get("instrument"), query["granularity"] == "M1", query["price"] == "BA",
              let from = query["from"].flatMap({ Timestamps.nanoseconds(rfc3339: String($0)) }),
              let to = query["to"].flatMap({ Timestamps.nanoseconds(rfc3339: String($0)) }), from <= to else {
            return body(#"{"errorMessage":"granularity=M1, price=BA, from and to (RFC 3339) are required"}"#, status: .badRequest)
        }
        // `to` is exclusive: candles that start before it.
        let first = (from / 1_000_000_000 + 59) / 60 * 60, last = (to / 1_000_000_000 - 1) / 60 * 60
        guard (last - first) / 60 < 5_000 else {
            return body(#"{"errorMessage":"Maximum value for 'count' exceeded"}"#, status: .badRequest)
        }
        let (found, rows) = market.candles(.oanda, symbol: instrument, granularity: 60, start: first, end: last)
        guard let found else { return body(#"{"errorMessage":"Invalid value specified for 'instrument'"}"#, status: .badRequest) }
        return body(OandaSimProtocol.candlesBody(rows, instrument: found, granularity: "M1"))
    }

    private func body(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
