import FXCore

/// IG's REST login, which a Lightstreamer session needs first: `POST {rest}/session` with headers
/// `X-IG-API-KEY` and `VERSION: 2` and body `{"identifier","password"}`. The answer's headers carry `CST`
/// and `X-SECURITY-TOKEN`, its body `currentAccountId` and `lightstreamerEndpoint` (never hard-coded).
/// The Lightstreamer user is the account id, the password `CST-<cst>|XST-<xst>`. Tokens expire: a new
/// Lightstreamer session logs in again.
public struct IGLogin: Sendable, Equatable {
    public static let demoREST = "https://demo-api.ig.com/gateway/deal"
    public static let liveREST = "https://api.ig.com/gateway/deal"

    public var cst: String
    public var securityToken: String
    public var accountID: String
    /// `https://...`: the WebSocket is `wss://.../lightstreamer`.
    public var lightstreamerEndpoint: String

    /// The Lightstreamer password: `CST-<cst>|XST-<xst>`.
    public var lightstreamerPassword: String { "CST-\(cst)|XST-\(securityToken)" }

    /// The WebSocket URL of the endpoint (`https` -> `wss`, `http` -> `ws`).
    public var webSocketURL: String {
        let base = lightstreamerEndpoint.hasSuffix("/") ? String(lightstreamerEndpoint.dropLast()) : lightstreamerEndpoint
        if base.hasPrefix("https://") { return "wss://" + base.dropFirst("https://".count) + "/lightstreamer" }
        if base.hasPrefix("http://") { return "ws://" + base.dropFirst("http://".count) + "/lightstreamer" }
        return base + "/lightstreamer"
    }

    public init(cst: String, securityToken: String, accountID: String, lightstreamerEndpoint: String) {
        self.cst = cst
        self.securityToken = securityToken
        self.accountID = accountID
        self.lightstreamerEndpoint = lightstreamerEndpoint
    }

    /// The login request: URL, headers and JSON body (the body holds the password: never log it).
    public static func request(rest: String, apiKey: String, identifier: String, password: String) -> (url: String, headers: [String: String], body: [UInt8]) {
        var writer = JSONWriter(capacity: 96)
        writer.beginObject()
        writer.key("identifier"); writer.string(identifier)
        writer.key("password"); writer.string(password)
        writer.endObject()
        return (rest + "/session", ["X-IG-API-KEY": apiKey, "VERSION": "2", "Content-Type": "application/json; charset=UTF-8",
                                    "Accept": "application/json; charset=UTF-8"], writer.bytes)
    }

    /// Reads the login answer: 200 with both tokens, the account and the endpoint; otherwise an error
    /// that says IG's `errorCode` (`error.security.invalid-details`, ...).
    public static func read(status: Int, headers: [String: String], body: [UInt8]) throws(ProviderError) -> IGLogin {
        let document = try? JSONParser().parse(body)
        guard status == 200 else {
            let code = document?["errorCode"]?.stringValue.map { String($0.prefix(120)) } ?? "no errorCode"
            let kind: ProviderError.Code = status == 401 || status == 403 ? .invalidCredential : .invalidURL
            throw ProviderError(kind, provider: "ig", "login refused: HTTP \(status) \(code)")
        }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
        guard let cst = header("CST"), !cst.isEmpty, let xst = header("X-SECURITY-TOKEN"), !xst.isEmpty else {
            throw ProviderError(.invalidCredential, provider: "ig", "login answer without CST and X-SECURITY-TOKEN headers")
        }
        guard let account = document?["currentAccountId"]?.stringValue, !account.isEmpty,
              let endpoint = document?["lightstreamerEndpoint"]?.stringValue,
              endpoint.hasPrefix("https://") || endpoint.hasPrefix("http://") else {
            throw ProviderError(.invalidURL, provider: "ig", "login answer without currentAccountId or an http(s) lightstreamerEndpoint")
        }
        return IGLogin(cst: cst, securityToken: xst, accountID: account, lightstreamerEndpoint: endpoint)
    }
}
