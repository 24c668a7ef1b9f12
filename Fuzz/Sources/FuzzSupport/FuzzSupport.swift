/// Helpers shared by the fuzz targets.

/// The fuzzer's input as bytes.
public func fuzzBytes(_ start: UnsafeRawPointer, _ count: Int) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: start, count: count))
}

/// Several messages in one input: split on the two-byte separator NUL, LF (never valid inside JSON, so
/// seeds can hold real messages untouched). An input without it is one message.
public func splitMessages(_ bytes: ArraySlice<UInt8>, limit: Int = 64) -> [[UInt8]] {
    var messages: [[UInt8]] = []
    var start = bytes.startIndex
    var index = bytes.startIndex
    while index < bytes.endIndex {
        if bytes[index] == 0, index + 1 < bytes.endIndex, bytes[index + 1] == 0x0A {
            messages.append(Array(bytes[start..<index]))
            if messages.count == limit { return messages }
            index += 2
            start = index
        } else {
            index += 1
        }
    }
    messages.append(Array(bytes[start..<bytes.endIndex]))
    return messages
}

/// An invariant: when it does not hold, print what broke and trap (libFuzzer saves the input).
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        print("FUZZ INVARIANT BROKEN at \(file):\(line): \(message())")
        fatalError("invariant broken: \(message())", file: file, line: line)
    }
}

/// Printable preview of bytes for messages.
public func preview(_ bytes: [UInt8], max: Int = 200) -> String {
    String(decoding: bytes.prefix(max), as: UTF8.self).debugDescription
}

// SwiftPM links an executable target's entry point as `main` (`--defsym main=<Target>_main`), which
// hides libFuzzer's own `main`: each target's `main.swift` hands control to libFuzzer instead.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer's driver (all the usual flags: corpus dirs, `-runs`, `-max_total_time`, ...) on `callback`.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv, callback)
    exit(status)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
