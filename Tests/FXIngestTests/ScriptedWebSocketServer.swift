import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

/// A WebSocket server for the socket's specs (plain or TLS): each client that upgrades is handed to
/// `onOpen` (on its event loop) to be sent whatever the spec scripts; every frame a client sends is
/// recorded, as sent (masked or not), then given to `onFrame`. It answers nothing by itself: no pongs, no
/// close echo.
final class ScriptedWebSocketServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let log = FrameLog()

    /// The frames clients sent so far.
    var received: [WebSocketFrame] { log.frames.withLock { $0 } }

    init(tls: NIOSSLContext? = nil, onFrame: @escaping @Sendable (WebSocketFrame, any Channel) -> Void = { _, _ in },
         onOpen: @escaping @Sendable (any Channel) -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let log = self.log
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    let upgrader = NIOWebSocketServerUpgrader(
                        shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(Recorder(log: log, onFrame: onFrame))
                                onOpen(channel)
                            }
                        })
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.group = group
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class FrameLog: Sendable {
        let frames = Mutex<[WebSocketFrame]>([])
    }

    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = WebSocketFrame
        let log: FrameLog
        let onFrame: @Sendable (WebSocketFrame, any Channel) -> Void
        init(log: FrameLog, onFrame: @escaping @Sendable (WebSocketFrame, any Channel) -> Void) {
            self.log = log
            self.onFrame = onFrame
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            log.frames.withLock { $0.append(frame) }
            onFrame(frame, context.channel)
        }
    }
}

extension WebSocketFrame {
    static func text(_ text: String, fin: Bool = true, continuation: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: continuation ? .continuation : .text, data: ByteBuffer(string: text))
    }
}
