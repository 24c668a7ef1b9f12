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
    public mutating func append(_ chunk: some Collection<UInt8>) -> [Line] {
        var lines: [Line] = []
        var start = chunk.startIndex
        while start != chunk.endIndex {
            let end = chunk[start...].firstIndex(of: 0x0A)
            let piece = chunk[start..<(end ?? chunk.endIndex)]
            take(piece)
            guard let end else { break }
            if let line = complete() { lines.append(line) }
            start = chunk.index(after: end)
        }
        return lines
    }

    /// The stream ended: the unfinished line left over, if any (a connection dropped mid-line).
    public mutating func finish() -> Line? {
        defer { buffer.removeAll(); skipped = nil }
        if let skipped { return .oversized(prefix: buffer, length: skipped) }
        return buffer.isEmpty ? nil : .line(buffer)
    }

    private mutating func take(_ piece: some Collection<UInt8>) {
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
