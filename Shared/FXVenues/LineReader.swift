/// Splits a byte stream that arrives in arbitrary chunks (HTTP chunked transfer) into lines: a line may
/// be split across chunks, and one chunk may carry many lines. Line ends are `\n` (a `\r` before it is
/// dropped); empty lines (keep-alives) are skipped. A line longer than `maxLineBytes` is not buffered
/// whole: its first bytes are kept for the reject and the rest is skipped up to its end. A value type:
/// one per connection, reset by making a new one.
public struct LineReader: Sendable {
    public enum Line: Sendable, Equatable {
        case line([UInt8])
        /// A line over the limit: its first ``LineReader/keptBytes`` bytes and its full length.
        case oversized(prefix: [UInt8], length: Int)
    }

    public let maxLineBytes: Int
    /// Bytes kept of an oversized line (for the reject's payload).
    public static let keptBytes = 4_096
    private var buffer: [UInt8] = []
    /// Length of the line being skipped (over the limit), nil when not skipping.
    private var skipped: Int?

    public init(maxLineBytes: Int) {
        self.maxLineBytes = max(1, maxLineBytes)
    }

    /// The complete lines that `chunk` ends.
    public mutating func append(_ chunk: UnsafeRawBufferPointer) -> [Line] {
        var lines: [Line] = []
        var start = 0
        while start < chunk.count {
            let rest = UnsafeRawBufferPointer(rebasing: chunk[start...])
            let end = rest.firstIndex(of: 0x0A).map { start + $0 }
            take(UnsafeRawBufferPointer(rebasing: chunk[start..<(end ?? chunk.count)]))
            guard let end else { break }
            if let line = complete() { lines.append(line) }
            start = end + 1
        }
        return lines
    }

    public mutating func append(_ chunk: [UInt8]) -> [Line] {
        chunk.withUnsafeBytes { append($0) }
    }

    public mutating func append(_ chunk: ArraySlice<UInt8>) -> [Line] {
        chunk.withUnsafeBytes { append($0) }
    }

    /// The stream ended: the unfinished line left over, if any (a connection dropped mid-line).
    public mutating func finish() -> Line? {
        defer { buffer.removeAll(); skipped = nil }
        if let skipped { return .oversized(prefix: buffer, length: skipped) }
        return buffer.isEmpty ? nil : .line(buffer)
    }

    private mutating func take(_ piece: UnsafeRawBufferPointer) {
        if let length = skipped {
            skipped = length + piece.count
            if buffer.count < Self.keptBytes { buffer.append(contentsOf: piece.prefix(Self.keptBytes - buffer.count)) }
            return
        }
        if buffer.count + piece.count > maxLineBytes {
            skipped = buffer.count + piece.count
            buffer.append(contentsOf: piece.prefix(max(0, Self.keptBytes - buffer.count)))
            if buffer.count > Self.keptBytes { buffer.removeLast(buffer.count - Self.keptBytes) }
            return
        }
        buffer.append(contentsOf: piece)
    }

    private mutating func complete() -> Line? {
        defer { buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024); skipped = nil }
        if let skipped { return .oversized(prefix: buffer, length: skipped) }
        if buffer.last == 0x0D { buffer.removeLast() }
        return buffer.isEmpty ? nil : .line(buffer)
    }
}
