import Foundation
import FXCore
import Testing

@Suite("ExactDecimal: sums, products and halves of prices and sizes, never rounded")
struct ExactDecimalTests {
    func exact(_ text: String) -> ExactDecimal { ExactDecimal(DecimalText(text)!)! }

    @Test("sums keep every digit and come out canonical", arguments: [
        ("0.1", "0.2", "0.3"), ("1.5", "1.5", "3"), ("999999999", "1", "1000000000"),
        ("0.000000001", "999999999.999999999", "1000000000"), ("0", "0", "0"), ("12.34", "0.0066", "12.3466"),
        ("123456789012345678901234567890.123456789", "0.000000001", "123456789012345678901234567890.12345679"),
    ])
    func sums(_ a: String, _ b: String, _ expected: String) {
        #expect((exact(a) + exact(b)).decimalText.text == expected)
        #expect((exact(b) + exact(a)).decimalText.text == expected)
    }

    @Test("products are exact beyond 38 digits", arguments: [
        ("100.37", "0.004512", "0.45286944"), ("0", "5.5", "0"), ("1000000000", "1000000000", "1000000000000000000"),
        ("99999999999999999999.99999999999999999999", "99999999999999999999.99999999999999999999",
         "9999999999999999999999999999999999999998.0000000000000000000000000000000000000001"),
    ])
    func products(_ a: String, _ b: String, _ expected: String) {
        #expect((exact(a) * exact(b)).decimalText.text == expected)
    }

    @Test("a half is exact: one more digit, no rounding", arguments: [
        ("2.3", "1.15"), ("3", "1.5"), ("0.0000000000000001", "0.00000000000000005"), ("2000000000.000000002", "1000000000.000000001"),
    ])
    func halves(_ value: String, _ expected: String) {
        #expect(exact(value).halved.decimalText.text == expected)
    }

    @Test("random sums of products equal Foundation's Decimal where it is exact")
    func againstFoundation() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<500 {
            var total = ExactDecimal.zero
            var reference = Decimal(0)
            for _ in 0..<(1 + Int(random.next() % 20)) {
                let price = "\(random.next() % 100_000).\(random.next() % 100_000)"
                let size = "0.\(random.next() % 1_000_000)"
                total += exact(DecimalText(price)!.text) * exact(DecimalText(size)!.text)
                reference += Decimal(string: price)! * Decimal(string: size)!
            }
            #expect(Decimal(string: total.decimalText.text)! == reference)
        }
    }

    @Test("a running total (+=) equals the sum (+) for any scales, carries and zeros")
    func runningTotal() {
        var random = SplitMix64(seed: 7)
        func text() -> String {
            let whole = ["0", "1", "999999999", "1000000000", "\(random.next() % 1_000_000_000_000)"][Int(random.next() % 5)]
            let fraction = ["", ".5", ".999999999", ".000000001", ".\(random.next() % 10_000_000_000)", ".10000000"][Int(random.next() % 6)]
            return whole + fraction
        }
        for _ in 0..<2_000 {
            var total = exact(text())
            var sum = total
            for _ in 0..<(1 + Int(random.next() % 6)) {
                let term = exact(text())
                total += term
                sum = sum + term
                #expect(total.decimalText.text == sum.decimalText.text)
                #expect(total.scale == sum.scale)
            }
        }
    }

    @Test("a decimal's text is read exactly, whole limbs and partial ones", arguments: [
        "0", "7", "123456789", "1234567890", "000000001.000000001", "999999999999999999", "0.000000000000000001",
        "98765432109876543210.0123456789",
    ])
    func reads(_ text: String) {
        #expect(Decimal(string: exact(text).decimalText.text)! == Decimal(string: text)!)
        #expect(exact(text).scale == (text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? 0))
    }

    @Test("negative amounts are refused")
    func negative() {
        #expect(ExactDecimal(DecimalText("-1.5")!) == nil)
    }
}
