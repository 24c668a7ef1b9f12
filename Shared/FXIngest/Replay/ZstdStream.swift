import CZstd
import Foundation

/// Streaming zstd compression into a file (the raw capture's export files).
/// Lifetime: the compression context is freed by ``close()`` (and on deinit if never closed).
final class ZstdFileWriter {
    private let handle: FileHandle
    private var context: OpaquePointer?
    private var output: [UInt8]

    init(path: String, level: Int32 = 9) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw RawCaptureFileError("cannot create \(path)")
        }
        self.handle = handle
        self.context = ZSTD_createCCtx()
        self.output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    }

    deinit { if let context { ZSTD_freeCCtx(context) } }

    func write(_ bytes: [UInt8]) throws { try compress(bytes, end: false) }

    /// Ends the zstd frame and closes the file.
    func close() throws {
        try compress([], end: true)
        if let context { ZSTD_freeCCtx(context) }
        context = nil
        try handle.close()
    }

    private func compress(_ bytes: [UInt8], end: Bool) throws {
        guard let context else { throw RawCaptureFileError("the file is closed") }
        try bytes.withUnsafeBytes { source in
            var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            while true {
                let (remaining, produced) = try output.withUnsafeMutableBytes { target -> (Int, Int) in
                    var out = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                    let result = ZSTD_compressStream2(context, &out, &input, end ? ZSTD_e_end : ZSTD_e_continue)
                    if ZSTD_isError(result) != 0 { throw RawCaptureFileError("zstd: \(String(cString: ZSTD_getErrorName(result)))") }
                    return (result, out.pos)
                }
                if produced > 0 { try handle.write(contentsOf: output[0..<produced]) }
                if end ? remaining == 0 : input.pos == input.size { break }
            }
        }
    }
}

/// Streaming zstd decompression of a file, read as lines.
final class ZstdLineReader {
    private let handle: FileHandle
    private var context: OpaquePointer?
    private var output: [UInt8]
    private var pending: [UInt8] = []
    /// Where the unread part of `pending` starts (compacted when the buffer is refilled).
    private var start = 0
    private var finished = false
    /// zstd's last answer: 0 when a frame has just been completed (anything else at the end: a cut file).
    private var pendingFrame = 0

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RawCaptureFileError("cannot open \(path)") }
        self.handle = handle
        self.context = ZSTD_createDCtx()
        self.output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
    }

    deinit {
        if let context { ZSTD_freeDCtx(context) }
        try? handle.close()
    }

    /// The next line (without its newline); nil at the end of the file.
    func nextLine() throws -> [UInt8]? {
        var searched = start
        while true {
            if let newline = pending[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[start..<newline])
                start = newline + 1
                return line
            }
            if finished {
                guard start < pending.count else { return nil }
                defer { pending = []; start = 0 }
                return Array(pending[start...])
            }
            pending.removeFirst(start)
            start = 0
            searched = pending.count
            try fill()
        }
    }

    private func fill() throws {
        guard let chunk = try handle.read(upToCount: 1 << 17), !chunk.isEmpty else {
            guard pendingFrame == 0 else { throw RawCaptureFileError("the file ends inside its compressed data (cut off?)") }
            finished = true
            return
        }
        let bytes = [UInt8](chunk)
        try bytes.withUnsafeBytes { source in
            var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            // Until the input is used up and the output buffer was not filled (zstd may hold more).
            var produced = 0
            repeat {
                produced = try output.withUnsafeMutableBytes { target -> Int in
                    var out = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                    let result = ZSTD_decompressStream(context, &out, &input)
                    if ZSTD_isError(result) != 0 { throw RawCaptureFileError("zstd: \(String(cString: ZSTD_getErrorName(result)))") }
                    pendingFrame = result
                    return out.pos
                }
                pending.append(contentsOf: output[0..<produced])
            } while input.pos < input.size || produced == output.count
        }
    }
}

/// A raw capture file that cannot be written or read.
public struct RawCaptureFileError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
