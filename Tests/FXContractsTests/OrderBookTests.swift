import FXContracts
import FXCore
import Testing

/// The in-memory book every venue's levels are applied to: exact text, numeric order, snapshots that
/// replace, zero that deletes, depth that truncates, and Kraken's checksum.
@Suite("Books: the order book")
struct OrderBookTests {
    static func level(_ price: String, _ quantity: String) -> BookLevel { BookLevel(price: price, quantity: quantity) }

    @Test("levels are ordered by numeric price, best first, whatever text the venue used")
    func ordering() throws {
        var book = OrderBook()
        for price in ["9.5", "10.25", "10.3", "100"] { try book.apply(.bid, Self.level(price, "1")) }
        for price in ["101.000", "100.5", "1000"] { try book.apply(.ask, Self.level(price, "2")) }
        #expect(book.bids.map(\.price) == ["100", "10.3", "10.25", "9.5"])
        #expect(book.asks.map(\.price) == ["100.5", "101.000", "1000"])
        #expect(book.isCrossed == false)
    }

    @Test("an update sets the absolute quantity and keeps the venue's text (trailing zeros included)")
    func absoluteQuantities() throws {
        var book = OrderBook()
        try book.apply(.ask, Self.level("45285.20", "0.00100000"))
        try book.apply(.ask, Self.level("45285.2", "3.50000000"))
        #expect(book.asks == [Self.level("45285.2", "3.50000000")])
    }

    @Test("a zero quantity deletes the level; deleting an absent level is harmless")
    func zeroDeletes() throws {
        var book = OrderBook()
        try book.apply(.bid, Self.level("1.1", "5"))
        try book.apply(.bid, Self.level("1.2", "5"))
        try book.apply(.bid, Self.level("1.10", "0.000"))
        try book.apply(.bid, Self.level("1.3", "0"))
        #expect(book.bids == [Self.level("1.2", "5")])
    }

    @Test("a snapshot replaces the book: no level of the old book survives it")
    func snapshotReplaces() throws {
        var book = OrderBook()
        try book.apply(.bid, Self.level("99", "1"))
        try book.apply(.ask, Self.level("105", "1"))
        try book.replace(bids: [Self.level("100", "2")], asks: [Self.level("101", "3"), Self.level("102", "0")])
        #expect(book.bids == [Self.level("100", "2")])
        #expect(book.asks == [Self.level("101", "3")])
    }

    @Test("with a depth, each side is cut to that many levels (Kraken sends no deletes for levels pushed out)")
    func depthTruncates() throws {
        var book = OrderBook(depth: 2)
        try book.replace(bids: [Self.level("3", "1"), Self.level("2", "1")], asks: [Self.level("4", "1"), Self.level("5", "1")])
        try book.apply(.bid, Self.level("3.5", "1"))
        try book.apply(.ask, Self.level("3.9", "1"))
        book.truncate()
        #expect(book.bids.map(\.price) == ["3.5", "3"])
        #expect(book.asks.map(\.price) == ["3.9", "4"])
    }

    @Test("a best bid at or above the best ask is a crossed book")
    func crossed() throws {
        var book = OrderBook()
        try book.apply(.bid, Self.level("10", "1"))
        try book.apply(.ask, Self.level("10.5", "1"))
        #expect(!book.isCrossed)
        try book.apply(.bid, Self.level("10.50", "1"))
        #expect(book.isCrossed)
    }

    @Test("prices and quantities that are not exact decimals in range are refused, with the reason", arguments: [
        ("-1", "1"), ("0", "1"), ("1e5", "1"), ("NaN", "1"), ("1", "-2"), ("1", ""), (String(repeating: "9", count: 40), "1"),
    ])
    func refused(price: String, quantity: String) {
        var book = OrderBook()
        #expect(throws: BookError.self) { try book.apply(.bid, Self.level(price, quantity)) }
        #expect(book.isEmpty)
    }

    @Test("CRC-32 is the IEEE/zlib one")
    func crc32() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test("Kraken's checksum: top 10 asks ascending then bids descending, '.' and leading zeros removed")
    func krakenChecksum() throws {
        // Expected values computed independently with Python's zlib.crc32 over the documented string.
        var book = OrderBook(depth: 10)
        try book.replace(bids: [Self.level("61412.40000", "0.09300000"), Self.level("61406.30000", "0.10000000")],
                         asks: [Self.level("61414.70000", "0.15802523"), Self.level("61414.80000", "0.10000000"),
                                Self.level("61416.60000", "0.03057629")])
        #expect(BookChecksum.kraken(book) == 1_200_227_520)
        try book.apply(.ask, Self.level("61414.80000", "0.00000000"))
        try book.apply(.bid, Self.level("61413.00000", "0.50000000"))
        #expect(BookChecksum.kraken(book) == 85_053_600)
        // The same values without their trailing zeros give another checksum: the venue's text matters.
        var stripped = OrderBook(depth: 10)
        try stripped.replace(bids: book.bids.map { Self.level(DecimalText($0.price)!.text, DecimalText($0.quantity)!.text) },
                             asks: book.asks.map { Self.level(DecimalText($0.price)!.text, DecimalText($0.quantity)!.text) })
        #expect(BookChecksum.kraken(stripped) != 85_053_600)
    }

    @Test("only the top 10 levels of each side enter Kraken's checksum")
    func krakenTopTen() throws {
        var book = OrderBook()
        for index in 1...12 {
            try book.apply(.ask, Self.level("\(100 + index).0", "1.0"))
            try book.apply(.bid, Self.level("\(100 - index).0", "1.0"))
        }
        let before = BookChecksum.kraken(book)
        try book.apply(.ask, Self.level("112.0", "2.0"))
        try book.apply(.bid, Self.level("88.0", "0"))
        #expect(BookChecksum.kraken(book) == before)
        try book.apply(.ask, Self.level("110.0", "2.0"))
        #expect(BookChecksum.kraken(book) != before)
    }
}
