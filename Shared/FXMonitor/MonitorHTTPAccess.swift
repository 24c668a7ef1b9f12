import Crypto
import Foundation
import Hummingbird
import Synchronization

/// Who may read the status page and `/api/*`, and the headers that keep the page to itself.
///
/// - With a token (`auth_token`, `MONITOR_AUTH_TOKEN[_FILE]`), a request needs `Authorization: Bearer
///   <token>` or the cookie `fxstream_token=<token>` (which the login page sets). Anything else gets 401:
///   the API a JSON error, the page the login form. The comparison takes the same time for every token.
/// - `/health/*` and `/metrics` never ask (probes and Prometheus): keep them off the Ingress.
/// - The page and the login form carry a Content-Security-Policy allowing only their own inline script
///   and style (by SHA-256), requests to the monitor itself, no frames, no forms elsewhere.
struct MonitorHTTPAccess: Sendable {
    let token: [UInt8]?

    init(token: String) {
        self.token = token.isEmpty ? nil : Array(token.utf8)
    }

    static let cookieName = "fxstream_token"

    /// Whether `request` carries the token (always, without one).
    func allows(_ request: Request) -> Bool {
        guard let token else { return true }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
           Self.equal(Array(header.dropFirst(7).utf8), token) { return true }
        for cookies in request.headers[values: .cookie] {
            for pair in cookies.split(separator: ";") {
                let item = pair.drop { $0 == " " }
                guard item.hasPrefix(Self.cookieName + "=") else { continue }
                let value = item.dropFirst(Self.cookieName.count + 1)
                if Self.equal(Array((String(value).removingPercentEncoding ?? String(value)).utf8), token) { return true }
            }
        }
        return false
    }

    /// Constant time in the candidate's contents (its length leaks only whether it matches the token's).
    static func equal(_ candidate: [UInt8], _ token: [UInt8]) -> Bool {
        guard candidate.count == token.count else { return false }
        var difference: UInt8 = 0
        for index in token.indices { difference |= candidate[index] ^ token[index] }
        return difference == 0
    }

    /// The answer to a request without the token: the login form for the page, JSON for the API.
    func denied(page: Bool) -> Response {
        if page { return Self.html(LoginPage.html, status: .unauthorized) }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.wwwAuthenticate] = #"Bearer realm="fxstream-monitor""#
        return Response(status: .unauthorized, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: #"{"error":"unauthorized: send Authorization: Bearer <token>"}"#)))
    }

    /// An HTML document with its security headers.
    static func html(_ document: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] = contentSecurityPolicy(for: document)
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("Referrer-Policy")!] = "no-referrer"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: document)))
    }

    /// `default-src 'none'`, then exactly the document's inline `<script>` and `<style>` blocks by hash.
    static func contentSecurityPolicy(for document: String) -> String {
        let scripts = inlineBlocks(document, tag: "script").map(hash).joined(separator: " ")
        let styles = inlineBlocks(document, tag: "style").map(hash).joined(separator: " ")
        return "default-src 'none'; script-src \(scripts.isEmpty ? "'none'" : scripts); style-src \(styles.isEmpty ? "'none'" : styles); "
            + "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    static func inlineBlocks(_ document: String, tag: String) -> [String] {
        var blocks: [String] = []
        var rest = document[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest[open.upperBound...].range(of: "</\(tag)>") {
            blocks.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return blocks
    }

    static func hash(_ block: String) -> String {
        "'sha256-" + Data(SHA256.hash(data: Array(block.utf8))).base64EncodedString() + "'"
    }
}

/// Caps the requests of one kind served at once: beyond `limit`, ``enter()`` says no (the caller answers 503).
final class RequestGate: Sendable {
    let limit: Int
    private let inFlight = Mutex(0)

    init(limit: Int) { self.limit = limit }

    func enter() -> Bool {
        inFlight.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() { inFlight.withLock { $0 -= 1 } }
}
