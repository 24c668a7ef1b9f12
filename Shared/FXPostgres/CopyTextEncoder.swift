/// PostgreSQL's COPY text format for one field: `\N` for NULL, backslash escapes (rows: ``CopyTextBuffer``).
struct CopyTextEncoder {
    /// One field's text: `\N` for nil, else the value with backslash, tab, newline and carriage return
    /// escaped.
    static func appendField(_ value: String?, to buffer: inout [UInt8]) {
        guard var value else {
            buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
            return
        }
        // Runs without a character to escape are copied whole (most fields have none).
        value.withUTF8 { utf8 in
            var start = 0
            for position in 0..<utf8.count {
                let escaped: UInt8
                switch utf8[position] {
                case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
                case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
                case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
                default: continue
                }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<position]))
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(escaped)
                start = position + 1
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
    }
}
