import FXVenues
import Testing

/// TLCP update values (`U,<sub>,<item>,<values>`) decoded against each item's previous values.
@Suite("Lightstreamer TLCP: update values and per-item state")
struct TLCPItemStateTests {
    @Test("an empty value is unchanged (DISTINCT too), # is null, $ is empty, ^N skips N fields, percent-encoding is decoded")
    func encodings() throws {
        var state = TLCPItemState(fieldCount: 6)
        #expect(try state.apply(item: 1, encoded: "1.08423|1.08431|#|$|%23hash%7Cpipe|1733400000123") ==
                ["1.08423", "1.08431", nil, "", "#hash|pipe", "1733400000123"])
        #expect(try state.apply(item: 1, encoded: "|1.08433|||^2") == ["1.08423", "1.08433", nil, "", "#hash|pipe", "1733400000123"])
        #expect(try state.apply(item: 1, encoded: "^3|1|#|%E2%82%AC") == ["1.08423", "1.08433", nil, "1", nil, "€"])
        #expect(try state.apply(item: 2, encoded: "|||^3") == [nil, nil, nil, nil, nil, nil], "another item: nothing to carry over")
    }

    @Test("state is per item and starts again on SUBOK (reset): an empty value is null again")
    func reset() throws {
        var state = TLCPItemState(fieldCount: 2)
        _ = try state.apply(item: 1, encoded: "1.1|TRADEABLE")
        _ = try state.apply(item: 2, encoded: "2.2|CLOSED")
        #expect(try state.apply(item: 1, encoded: "1.2|") == ["1.2", "TRADEABLE"])
        state.reset()
        #expect(try state.apply(item: 1, encoded: "1.3|") == ["1.3", nil])
        #expect(state.values(of: 2) == [nil, nil])
    }

    @Test("wrong field counts, a ^N past the end, diff values, bad percent-encoding and item 0 are errors that leave the item as it was")
    func errors() throws {
        var state = TLCPItemState(fieldCount: 3)
        _ = try state.apply(item: 1, encoded: "a|b|c")
        for bad in ["a|b", "a|b|c|d", "^4", "^2|x|y", "^P1,2|b|c", "%4|b|c", "%FF%FE|b|c"] {
            #expect(throws: TLCPError.self, "\(bad)") { _ = try state.apply(item: 1, encoded: Substring(bad)) }
        }
        #expect(throws: TLCPError.self) { _ = try state.apply(item: 0, encoded: "a|b|c") }
        #expect(state.values(of: 1) == ["a", "b", "c"])
    }
}
