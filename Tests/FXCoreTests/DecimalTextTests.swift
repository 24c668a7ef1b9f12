import Foundation
import FXCore
import Testing

@Suite("Exact decimals from the wire")
struct DecimalTextTests {
    @Test("plain decimal text is kept exactly, in canonical form", arguments: [
        ("1.0850", "1.085"), ("42", "42"), ("-0.5", "-0.5"), ("+3", "3"), ("000.000100", "0.0001"),
        ("-0", "0"), ("0.0", "0"), ("67432.10000000", "67432.1"),
        ("123456789012345678901234567890.123456789012345678901", "123456789012345678901234567890.123456789012345678901"),
    ])
    func canonical(input: String, expected: String) throws {
        #expect(try #require(DecimalText(input)).text == expected)
    }

    @Test("anything that is not a plain decimal is refused", arguments: ["", "-", ".5", "5.", "1e5", "NaN", "Infinity", "-inf", "1,5", " 1", "1 ", "0x10", "1.2.3", "١٢"])
    func refused(input: String) {
        #expect(DecimalText(input) == nil)
    }

    @Test("JSON number literals convert exactly, exponents included", arguments: [
        ("1.08765", "1.08765"), ("1.25e-3", "0.00125"), ("12E2", "1200"), ("-1.5e+1", "-15"), ("0e10", "0"),
        ("5e-20", "0.00000000000000000005"),
    ])
    func jsonNumbers(input: String, expected: String) throws {
        #expect(try #require(DecimalText(jsonNumber: Array(input.utf8))).text == expected)
    }

    @Test("absurd exponents are refused instead of building huge text")
    func hugeExponent() {
        #expect(DecimalText(jsonNumber: Array("1e999999".utf8)) == nil)
        #expect(DecimalText(jsonNumber: Array("1e65".utf8)) == nil)
    }

    @Test("sign checks and value equality")
    func signs() throws {
        #expect(try #require(DecimalText("0.000")).isZero)
        #expect(try #require(DecimalText("-0.01")).isNegative)
        #expect(try #require(DecimalText("0.01")).isPositive)
        #expect(DecimalText("1.50") == DecimalText("1.5"))
    }

    @Test("ordering is numeric, not textual")
    func ordering() throws {
        let values = ["10", "9.99", "-1", "-10.5", "0", "0.001", "100.0001", "-0.0001", "9.990001"].map { DecimalText($0)! }
        #expect(values.sorted().map(\.text) == ["-10.5", "-1", "-0.0001", "0", "0.001", "9.99", "9.990001", "10", "100.0001"])
        #expect(try #require(DecimalText("1.1")) > #require(DecimalText("1.09999999999")))
        #expect(!(try #require(DecimalText("2.5")) < #require(DecimalText("2.50"))))
    }

    @Test("ordering agrees with Foundation's Decimal on 2,000 random pairs, signs and lengths mixed")
    func orderingAgreesWithDecimal() throws {
        var random = SplitMix64(seed: 42)
        func text() -> String {
            let integer = String(random.next() % [1, 10, 1_000, 1_000_000][Int(random.next() % 4)])
            let fraction = random.next() % 3 == 0 ? "" : "." + String(random.next() % 100_000)
            return (random.next() % 4 == 0 ? "-" : "") + integer + fraction
        }
        for _ in 0..<2_000 {
            let (a, b) = (text(), text())
            let (x, y) = (try #require(DecimalText(a)), try #require(DecimalText(b)))
            let (dx, dy) = (try #require(Decimal(string: a)), try #require(Decimal(string: b)))
            #expect((x < y) == (dx < dy), "\(a) < \(b)")
        }
    }
}
