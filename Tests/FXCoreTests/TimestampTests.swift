import FXCore
import Testing

@Suite("Provider timestamps to exact nanoseconds")
struct TimestampTests {
    @Test("RFC 3339 timestamps convert exactly", arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2014-11-07T08:19:27.028459Z", Int64(1_415_348_367_028_459_000)),
        ("2026-11-25T07:00:00.5+01:00", Int64(1_795_586_400_500_000_000)),
        ("2024-02-29T23:59:59.999999999Z", Int64(1_709_251_199_999_999_999)),
        ("2000-03-01T00:00:00.000Z", Int64(951_868_800_000_000_000)),
    ])
    func rfc3339(text: String, expected: Int64) {
        #expect(Timestamps.nanoseconds(rfc3339: text) == expected)
        #expect(Timestamps.nanoseconds(rfc3339: text.dropFirst(0)) == expected, "a substring reads the same")
        // Read in place from a frame: a plain string token, and one with an escape (decoded first).
        let escaped = text.replacingOccurrences(of: "T", with: #"\u0054"#)
        let frame = Array(#"{"time":"\#(text)","escaped":"\#(escaped)"}"#.utf8)
        let scanner = JSONScanner(frame)
        var tokens: [JSONScanner.Token] = []
        try? scanner.forEachMember { _, value in tokens.append(value) }
        #expect(tokens.map { scanner.timestamp($0) } == [expected, expected])
    }

    @Test("malformed or impossible timestamps are refused", arguments: [
        "2014-11-07 08:19:27", "2014-13-07T08:19:27Z", "2023-02-29T00:00:00Z", "2014-11-07T25:00:00Z",
        "2014-11-07T08:19:27.Z", "2014-11-07T08:19:27.0000000001Z", "2014-11-07T08:19:27Zjunk", "", "yesterday",
    ])
    func refused(text: String) {
        #expect(Timestamps.nanoseconds(rfc3339: text) == nil)
        let scanner = JSONScanner(Array(#"{"time":"\#(text)","n":20141107}"#.utf8))
        var tokens: [JSONScanner.Token] = []
        try? scanner.forEachMember { _, value in tokens.append(value) }
        #expect(tokens.count == 2 && tokens.allSatisfy { scanner.timestamp($0) == nil }, "nor from a frame, nor from a number")
    }

    @Test("milliseconds convert to nanoseconds; negative or overflowing input is refused")
    func milliseconds() {
        #expect(Timestamps.nanoseconds(milliseconds: 1_575_526_691_134) == 1_575_526_691_134_000_000)
        #expect(Timestamps.nanoseconds(milliseconds: -1) == nil)
        #expect(Timestamps.nanoseconds(milliseconds: Int64.max / 10) == nil)
    }
}

@Suite("RFC 3339 formatting")
struct TimestampFormattingTests {
    @Test("formats exactly, truncating the fraction, and parses back", arguments: [
        ("2014-11-07T08:19:27.028459Z", Int64(1_415_348_367_028_459_000)),
        ("1970-01-01T00:00:00.000000Z", Int64(0)),
        ("2024-02-29T23:59:59.999999Z", Int64(1_709_251_199_999_999_000)),
    ])
    func roundTrip(text: String, nanoseconds: Int64) {
        #expect(Timestamps.rfc3339(nanoseconds: nanoseconds) == text)
        #expect(Timestamps.nanoseconds(rfc3339: text) == nanoseconds)
        #expect(Timestamps.rfc3339(nanoseconds: nanoseconds + 999, fractionDigits: 6) == text)
    }

    @Test("the edge of Int64 nanoseconds: the last representable instant converts, a fraction past it is refused, not a trap")
    func int64Edge() {
        #expect(Timestamps.nanoseconds(rfc3339: "2262-04-11T23:47:16.854775807Z") == .max)
        #expect(Timestamps.nanoseconds(rfc3339: "2262-04-11T23:47:16.9Z") == nil)
        #expect(Timestamps.nanoseconds(rfc3339: "9999-12-31T23:59:59.999999999Z") == nil)
        #expect(Timestamps.nanoseconds(rfc3339: "0000-01-01T00:00:00Z") == nil)
    }
}
