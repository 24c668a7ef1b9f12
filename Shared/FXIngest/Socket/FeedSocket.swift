import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// A feed's WebSocket client connection, read on its NIO event loop: each message is normalized and
/// tracked there by the ``FeedSocketReader`` as it is decoded, with no task hop per frame
/// (``FeedSocketHandler``). Writes and commands may come from any task.
///
/// Lifetime: ``connect(_:reader:)`` returns once the upgrade succeeded; the socket lives until the peer
/// closes it, it fails, or ``close(code:reason:)`` completes the close handshake; ``end()`` waits for that
/// and says why. The handler (and through it the reader) is released with the channel.
final class FeedSocket: Sendable {
    struct Settings: Sendable {
        var url: String
        /// Largest single frame accepted; a larger one is a protocol error that ends the socket.
        var maxFrameSize: Int
        var assembler: MessageAssembler
        var pingInterval: Duration?
        var closeTimeout: Duration = .seconds(2)
        /// Bound on the TCP connect, and again on the TLS and WebSocket handshakes.
        var connectTimeout: Duration = .seconds(15)
        /// The certificates a `wss` server's chain must lead to (the system's by default); its name is
        /// verified too.
        var trustRoots: NIOSSLTrustRoots = .default
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The feeds' own event loops (not the process-wide singleton the HTTP clients share): the loops do
    /// the per-message work, so REST requests are never queued behind a busy feed. Created on first use,
    /// for the life of the process.
    static let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))

    let channel: any Channel
    private let ended: EventLoopFuture<String>

    private init(channel: any Channel, ended: EventLoopFuture<String>) {
        self.channel = channel
        self.ended = ended
    }

    /// Connects, upgrades to a WebSocket and starts reading into `reader`. Errors (refused, timed out,
    /// upgrade declined) may quote the URL: redact them before logging.
    static func connect(_ settings: Settings, reader: any FeedSocketReader) async throws -> FeedSocket {
        guard let url = URLComponents(string: settings.url), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              scheme == "ws" || scheme == "wss" else {
            throw Failure(description: "not a WebSocket URL")
        }
        let tls = scheme == "wss"
        let port = url.port ?? (tls ? 443 : 80)
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        tlsConfiguration.trustRoots = settings.trustRoots
        let sslContext = try tls ? NIOSSLContext(configuration: tlsConfiguration) : nil
        let path = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?\($0)" } ?? "")
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
        headers.add(name: "Origin", value: "\(scheme)://\(host)")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        let timeout = TimeAmount.nanoseconds(settings.connectTimeout.nanosecondsClamped)
        let loop = eventLoopGroup.next()

        // Completed by the handler once added; on every path where it never is, here (NIO requires it).
        let ended = loop.makePromise(of: String.self)
        let connection: (any Channel, EventLoopFuture<Bool>)
        do {
            connection = try await bootstrap(loop: loop, host: host, port: port, timeout: timeout, sslContext: sslContext,
                                             head: head, settings: settings, reader: reader, ended: ended)
        } catch {
            ended.succeed("connection closed")
            throw error
        }
        let (channel, upgraded) = connection
        // A peer that accepts TCP but never answers the upgrade must not hold the connection forever.
        let upgradeStarted = ContinuousClock.now
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        let accepted: Bool
        do {
            accepted = try await withTaskCancellationHandler {
                try await upgraded.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            channel.close(promise: nil)
            ended.succeed("connection closed")
            if ContinuousClock.now - upgradeStarted >= settings.connectTimeout {
                throw Failure(description: "no answer to the WebSocket upgrade within \(settings.connectTimeout)")
            }
            throw Failure(description: "the WebSocket handshake failed: \(error)")
        }
        guard accepted else {
            try? await channel.close()
            ended.succeed("connection closed")
            throw Failure(description: "the server declined the WebSocket upgrade")
        }
        return FeedSocket(channel: channel, ended: ended.futureResult)
    }

    private static func bootstrap(loop: any EventLoop, host: String, port: Int, timeout: TimeAmount, sslContext: NIOSSLContext?,
                                  head: HTTPRequestHead, settings: Settings, reader: any FeedSocketReader,
                                  ended: EventLoopPromise<String>) async throws -> (any Channel, EventLoopFuture<Bool>) {
        try await ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .connect(host: host, port: port) { channel -> EventLoopFuture<(any Channel, EventLoopFuture<Bool>)> in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        // SNI takes a name, never an address.
                        let name = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: name))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(maxFrameSize: settings.maxFrameSize) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            let handler = FeedSocketHandler(reader: reader, assembler: settings.assembler, pingInterval: settings.pingInterval,
                                                            closeTimeout: settings.closeTimeout, ended: ended)
                            try channel.pipeline.syncOperations.addHandler(handler)
                            return true
                        }
                    }
                    var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: .init(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(false) }))
                    // Frames the server sends right behind its 101 answer are the stream's first.
                    configuration.leftOverBytesStrategy = .forwardBytes
                    let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
                    return (channel, upgraded)
                }
            }
    }

    /// Sends a text message.
    func send(text: String) async throws {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        try await channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: buffer))
    }

    /// Starts the close handshake (once): the socket closes when the peer answers or after the close timeout.
    func close(code: WebSocketErrorCode, reason: String) {
        channel.triggerUserOutboundEvent(FeedSocketCommand.close(code: code.number, reason: reason), promise: nil)
    }

    /// The reader has room again (after its ``FeedSocketReader/flush(_:)`` returned false).
    func resumeReading() {
        channel.triggerUserOutboundEvent(FeedSocketCommand.resume, promise: nil)
    }

    /// Waits until the socket is closed and says why. Cancelling the wait starts the close handshake
    /// (code 1000) and still waits for it to end.
    func end() async -> String {
        await withTaskCancellationHandler {
            (try? await ended.get()) ?? "connection closed"
        } onCancel: {
            close(code: .normalClosure, reason: "closing")
        }
    }
}
