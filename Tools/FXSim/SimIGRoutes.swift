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
        // `fault`: drop (sockets closed, sessions kept), forget (sockets closed, sessions gone: recovery
        // refused), ov, end48, loop, refuse-login (the next `count` logins are refused).
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

    private func body(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
