import FXCore
import Testing

/// Inputs found by the libFuzzer targets (`Fuzz/`, `scripts/fuzz.sh`), kept as specs.
@Suite("Fuzz regressions: JSON readers")
struct FuzzJSONRegressionTests {
    /// FuzzJSON (differential JSONScanner / JSONParser): the scanner's `int64` refuses Int64.min, which
    /// the tree's `int64Value` reads, so the same member reads differently in the two readers
    /// (e.g. a `ts` of -9223372036854775808: "not an integer" in TickRecord, a number elsewhere).
    @Test("int64 agrees between the scanner and the tree at the edges")
    func int64Edges() throws {
        for literal in ["-9223372036854775808", "9223372036854775807", "-0", "0", "9223372036854775808", "-9223372036854775809"] {
            let text = #"{"n":\#(literal)}"#
            let tree = try JSONParser().parse(Array(text.utf8))
            let scanner = JSONScanner(Array(text.utf8))
            var scanned: Int64??
            try scanner.forEachMember { (_: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in scanned = .some(scanner.int64(value)) }
            #expect(scanned == .some(tree["n"]?.int64Value), "\(literal)")
        }
    }
}
