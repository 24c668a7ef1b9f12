import FXContracts
import FXCore
import FuzzSupport

// The raw capture's readers (`fxadmin replay` and `capture-export` read what a topic or a file attached to
// a bug report holds): RawControl(json:) and RawRecord(key:value:headers:).
//
// Input: the first byte chooses. Even: the rest is a control record's value. Odd: the rest is split at
// NUL bytes into the key, the value, then header name/value pairs.
// Invariants: what is accepted is written back (jsonBytes(), headers) and reads back equal; an accepted
// record's key is `source:connection` with the connection its header's.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    if mode % 2 == 0 {
        guard let control = try? RawControl(json: rest) else { return 0 }
        let again = try? RawControl(json: control.jsonBytes())
        require(again == control, "control round trip \(control) -> \(String(describing: again))")
        return 0
    }
    let parts = rest.split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
    guard parts.count >= 2 else { return 0 }
    var headers: [(String, [UInt8]?)] = []
    var index = 2
    while index + 1 < parts.count {
        headers.append((String(decoding: parts[index], as: UTF8.self), parts[index + 1]))
        index += 2
    }
    guard let record = try? RawRecord(key: parts[0], value: parts[1], headers: headers) else { return 0 }
    require(record.key == record.source + ":" + record.connection, "key \(record.key) vs connection \(record.connection)")
    let again = try? RawRecord(key: Array(record.key.utf8), value: record.value, headers: record.headers.map { ($0.0, Optional($0.1)) })
    require(again == record, "record round trip \(record) -> \(String(describing: again))")
    return 0
}
