import Foundation

/// Rules for keeping secrets out of logs, shared by every bridge and the service chassis.
public enum Redaction {
    public static let placeholder = "[redacted]"

    /// Substrings that mark a configuration key as secret (matched case-insensitively).
    static let secretMarkers = ["password", "secret", "token", "credential", "key.pem", "ssl.key", "passphrase",
                                "sasl.oauthbearer.config", "private"]

    /// Whether a configuration key names a secret value.
    public static func isSecret(key: String) -> Bool {
        let lowered = key.lowercased()
        return secretMarkers.contains { lowered.contains($0) }
    }

    /// A copy of `properties` whose secret values are replaced by ``placeholder``.
    public static func redact(_ properties: [String: String]) -> [String: String] {
        var copy = properties
        for key in properties.keys where isSecret(key: key) { copy[key] = placeholder }
        return copy
    }

    /// `text` with every occurrence of each secret value (4 characters or more: shorter ones would redact
    /// ordinary text) replaced by ``placeholder``.
    public static func scrub(_ text: String, secrets: [String]) -> String {
        secrets.filter { $0.count >= 4 }.reduce(text) { $0.replacingOccurrences(of: $1, with: placeholder) }
    }

    /// A connection URL with its password removed: `postgres://u:pw@h/db` -> `postgres://u:[redacted]@h/db`.
    /// Also redacts `password=` pairs in libpq keyword/value strings and query parameters.
    public static func redactURL(_ url: String) -> String {
        var result = url
        if let schemeEnd = result.range(of: "://") {
            // The user info ends at the last `@` before the query or fragment (an `@` inside a query value is
            // not a password's end); a password with a raw `@` or `/` is still covered.
            let rest = result[schemeEnd.upperBound...]
            let authority = rest[..<(rest.firstIndex { $0 == "?" || $0 == "#" } ?? rest.endIndex)]
            if let at = authority.lastIndex(of: "@") {
                let userInfo = rest[rest.startIndex..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    result.replaceSubrange(result.index(after: colon)..<at, with: placeholder)
                }
            }
        }
        // name=value forms (libpq conninfo, URL query parameters) whose name is credential-like:
        // password=, sslpassword=, token=, apikey=, api_key=, access_token=, secret=, signature=, auth=, key=.
        var output = ""
        var remainder = Substring(result)
        while let equals = remainder.firstIndex(of: "=") {
            let nameStart = remainder[..<equals].lastIndex { !isNameCharacter($0) }.map { remainder.index(after: $0) } ?? remainder.startIndex
            let name = remainder[nameStart..<equals].lowercased()
            output += remainder[...equals]
            remainder = remainder[remainder.index(after: equals)...]
            guard isCredentialParameter(name) else { continue }
            let end = remainder.firstIndex { $0 == "&" || $0.isWhitespace } ?? remainder.endIndex
            if end > remainder.startIndex { output += placeholder }
            remainder = remainder[end...]
        }
        return output + remainder
    }

    /// Query or conninfo parameter names that carry a credential (lower-cased).
    static let credentialParameterMarkers = ["password", "token", "apikey", "api_key", "api-key", "secret", "signature", "auth", "credential", "passphrase"]

    static func isCredentialParameter(_ name: String) -> Bool {
        name == "key" || name == "sig" || credentialParameterMarkers.contains { name.contains($0) }
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_" || character == "-" || character == "."
    }
}
