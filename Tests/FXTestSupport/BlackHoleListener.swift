import Foundation

/// A TCP listener on loopback that accepts connections (the kernel completes the handshake) and never
/// answers a byte: a server that is up at the TCP level and black-holed above it.
public final class BlackHoleListener: @unchecked Sendable {
    public let port: Int
    private let fd: Int32

    public init() throws {
        (fd, port) = try TestEnvironment.loopbackSocket(listening: true)
    }

    deinit { close(fd) }
}
