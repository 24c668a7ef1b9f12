import Foundation

/// A Tansu broker of a test's own, on a free port, for tests that stop the broker.
public final class PrivateBroker: @unchecked Sendable {
    public let port: Int
    private let process: Process
    public var brokers: String { "127.0.0.1:\(port)" }

    public init() throws {
        guard let binary = ProcessInfo.processInfo.environment["TANSU_BIN"], FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestSupportError("TANSU_BIN is not set to the tansu binary (scripts/test.sh sets it)")
        }
        port = try TestEnvironment.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["broker", "--listener-url", "tcp://127.0.0.1:\(port)",
                             "--advertised-listener-url", "tcp://127.0.0.1:\(port)", "--storage-engine", "memory://tansu/"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard Self.waitForPort(port, open: true) else { throw TestSupportError("private broker did not start") }
    }

    /// Stops the broker at once (SIGKILL), as a crash would.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Freezes the broker (SIGSTOP): connections stay open, nothing is answered — an unresponsive Kafka.
    public func pause() { Foundation.kill(process.processIdentifier, SIGSTOP) }

    /// Lets a paused broker run again (SIGCONT).
    public func resume() { Foundation.kill(process.processIdentifier, SIGCONT) }

    deinit {
        resume()
        kill()
    }

    static func waitForPort(_ port: Int, open: Bool, attempts: Int = 100) -> Bool {
        for _ in 0..<attempts {
            if isOpen(port) == open { return true }
            usleep(100_000)
        }
        return false
    }

    static func isOpen(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
