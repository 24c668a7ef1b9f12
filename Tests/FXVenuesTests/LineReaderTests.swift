import FXVenues
import Testing

/// How an HTTP line stream's chunks become messages: chunk boundaries fall anywhere, a line may span
/// many chunks, and a connection may drop inside a line.
@Suite("Line reader for HTTP line streams")
struct LineReaderTests {
    static func text(_ lines: [LineReader.Line]) -> [String] {
        lines.map { line in
            switch line {
            case .line(let bytes): String(decoding: bytes, as: UTF8.self)
            case .oversized(let prefix, let length): "oversized(\(prefix.count) of \(length))"
            }
        }
    }

    @Test("a line split across chunks is returned once, whole; many lines in one chunk all come out; CRLF and keep-alive blank lines")
    func splitting() {
        var reader = LineReader(maxLineBytes: 1_000)
        #expect(reader.append(Array(#"{"type":"HEART"#.utf8)).isEmpty)
        #expect(Self.text(reader.append(Array("BEAT\"}\r\n\n{\"a\":1}\n{\"b\"".utf8))) == [#"{"type":"HEARTBEAT"}"#, #"{"a":1}"#])
        #expect(Self.text(reader.append(Array(":2}\n".utf8))) == [#"{"b":2}"#])
        #expect(reader.finish() == nil, "nothing left over")
    }

    @Test("every split point of a two-line stream gives the same two lines")
    func everySplit() {
        let stream = Array("{\"type\":\"PRICE\",\"x\":\"1.1\"}\n{\"type\":\"HEARTBEAT\"}\n".utf8)
        for cut in 0...stream.count {
            var reader = LineReader(maxLineBytes: 100)
            let lines = reader.append(stream[..<cut]) + reader.append(stream[cut...])
            #expect(Self.text(lines) == [#"{"type":"PRICE","x":"1.1"}"#, #"{"type":"HEARTBEAT"}"#], "cut at \(cut)")
        }
    }

    @Test("a connection dropped inside a line leaves that half line, to be rejected rather than parsed")
    func halfLine() {
        var reader = LineReader(maxLineBytes: 100)
        #expect(Self.text(reader.append(Array("{\"a\":1}\n{\"type\":\"PRI".utf8))) == [#"{"a":1}"#])
        #expect(reader.finish() == .line(Array(#"{"type":"PRI"#.utf8)))
        #expect(reader.finish() == nil, "finish empties the reader")
    }

    @Test("a line over the limit is skipped to its end, its first bytes kept, and the next line is read normally")
    func oversized() {
        var reader = LineReader(maxLineBytes: 10)
        #expect(reader.append(Array("0123456789ABCDEF".utf8)).isEmpty)
        let lines = reader.append(Array("GHIJ\n{\"ok\":1}\n".utf8))
        #expect(Self.text(lines) == ["oversized(20 of 20)", #"{"ok":1}"#])
        var long = LineReader(maxLineBytes: 10)
        _ = long.append([UInt8](repeating: 0x78, count: 10_000))
        #expect(long.finish() == .oversized(prefix: [UInt8](repeating: 0x78, count: LineReader.keptBytes), length: 10_000))
    }
}
