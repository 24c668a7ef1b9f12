import FXContracts
import FXCore
import FuzzSupport

// fx.ticks messages -> TickRecord(json:) -> CandleAccumulator -> COPY text (CopyTextBuffer), as the
// aggregator's flush does (TickRecord, CandleAccumulator, Timeframe, CopyTextBuffer and CopyTextEncoder
// are symlinked into this module: CandleAccumulator is internal to FXAggregate).
//
// Input: byte 0 picks the timeframes and bid/ask candles; the rest is messages separated by NUL LF.
// Invariants, for every accepted tick:
// - its own message (`jsonBytes()`) reads back as the same record (the rejects topic's `raw`);
// - its `ticks` row and every `stage_candles` row encode to COPY text with exactly one LF per row, the
//   expected number of tab-separated fields per row, and fields that unescape back to the values;
// - candles are sound: low <= open, close <= high, tick_count >= 1, open_ts <= close_ts.

private let timeframeSets: [[Timeframe]] = [
    Timeframe.defaults,
    ["1s", "1m"].compactMap(Timeframe.init),
    ["1m"].compactMap(Timeframe.init),
    ["7s", "3m", "1d"].compactMap(Timeframe.init),
]

/// COPY text -> rows of fields (nil for `\N`), undoing CopyTextEncoder's escapes. Nil when malformed.
private func decodeCopy(_ bytes: [UInt8]) -> [[String?]]? {
    var rows: [[String?]] = []
    var row: [String?] = []
    var field: [UInt8] = []
    var isNull = false
    var index = 0
    func endField() {
        row.append(isNull ? nil : String(decoding: field, as: UTF8.self))
        field = []
        isNull = false
    }
    while index < bytes.count {
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: "\t"): endField()
        case UInt8(ascii: "\n"): endField(); rows.append(row); row = []
        case UInt8(ascii: "\r"): return nil  // never raw in COPY text written here
        case UInt8(ascii: "\\"):
            index += 1
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\\"): field.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "t"): field.append(0x09)
            case UInt8(ascii: "n"): field.append(0x0A)
            case UInt8(ascii: "r"): field.append(0x0D)
            case UInt8(ascii: "N"):
                guard field.isEmpty, !isNull else { return nil }
                isNull = true
                // `\N` must be the whole field.
                guard index + 1 == bytes.count || bytes[index + 1] == 0x09 || bytes[index + 1] == 0x0A else { return nil }
            default: return nil  // an escape CopyTextEncoder never writes
            }
        default:
            guard !isNull else { return nil }
            field.append(byte)
        }
        index += 1
    }
    guard row.isEmpty, field.isEmpty, !isNull else { return nil }  // text must end with a row's LF
    return rows
}

private func checkCopy(_ rows: [[String?]], fields: Int, what: String) {
    var buffer = CopyTextBuffer()
    for row in rows {
        require(row.count == fields, "\(what): row of \(row.count) fields, expected \(fields)")
        buffer.appendRow(row)
    }
    require(buffer.rows == rows.count, "\(what): \(buffer.rows) rows counted, \(rows.count) appended")
    require(buffer.bytes.filter { $0 == 0x0A }.count == rows.count, "\(what): not one LF per row")
    guard let decoded = decodeCopy(buffer.bytes) else {
        return require(false, "\(what): COPY text does not decode: \(preview(buffer.bytes, max: 400))")
    }
    require(decoded.count == rows.count, "\(what): \(decoded.count) rows decoded, \(rows.count) written")
    for (written, read) in zip(rows, decoded) {
        require(read.count == fields, "\(what): decoded row has \(read.count) fields, expected \(fields): \(read)")
        require(read == written, "\(what): decoded \(read) != written \(written)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let selector = bytes.first else { return 0 }
    let timeframes = timeframeSets[Int(selector & 3)]
    let bidAsk = selector & 4 != 0
    var accumulator = CandleAccumulator(timeframes: timeframes, bidAsk: bidAsk)
    var tickRows: [[String?]] = []
    for (position, message) in splitMessages(bytes.dropFirst()).enumerated() {
        guard let record = try? TickRecord(json: message) else { continue }
        // The record's own message reads back the same (as a reject's `raw`, or a replay).
        let again = try? TickRecord(json: record.jsonBytes())
        require(again == record,
                "jsonBytes() of \(record) reads back as \(String(describing: again)): \(preview(record.jsonBytes()))")
        let partition = Int32(position % 3)
        accumulator.add(record, orderKey: record.order, partition: partition)
        // The `ticks` row with the archive (CandleStore.PreparedTicks' layout; CandleStore itself needs FXPostgres).
        var row: [String?] = [record.source, record.symbol, record.identity, String(record.ts), record.kind.rawValue]
        for value in [record.price, record.size, record.bid, record.ask, record.bidSize, record.askSize] { row.append(value?.text) }
        row.append(record.seq.map { String($0) })
        row.append(record.tradeID)
        row.append(String(partition))
        tickRows.append(row)
    }
    checkCopy(tickRows, fields: 14, what: "ticks")
    let stage = accumulator.stageRows()
    checkCopy(stage, fields: 17, what: "stage_candles")
    for row in stage {
        guard let open = row[6].flatMap({ DecimalText($0) }), let high = row[7].flatMap({ DecimalText($0) }),
              let low = row[8].flatMap({ DecimalText($0) }), let close = row[9].flatMap({ DecimalText($0) }) else {
            require(false, "stage row prices are not decimals: \(row)")
            continue
        }
        require(low <= open && open <= high && low <= close && close <= high, "unsound candle \(row)")
        require(row[10].flatMap({ DecimalText($0) }) != nil && row[12].flatMap({ DecimalText($0) }) != nil, "volume/notional not decimals: \(row)")
        require((row[11].flatMap { Int64($0) } ?? 0) >= 1, "tick_count < 1: \(row)")
        let openTs = row[13].flatMap { Int64($0) }, closeTs = row[14].flatMap { Int64($0) }
        require(openTs != nil && closeTs != nil && openTs! <= closeTs!, "open_ts/close_ts: \(row)")
    }
    return 0
}
