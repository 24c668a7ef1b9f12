import NIOCore
import NIOWebSocket

/// The WebSocket protocol of a feed's socket, on its event loop (the last handler of the pipeline, after
/// the frame decoder):
/// - data frames are joined into messages (``MessageAssembler``) and given to the reader at once; what a
///   read produced is handed over in one ``FeedSocketReader/flush(_:)`` when the read completes;
/// - while the reader has no room, reads are withheld (frames already decoded wait here, in order);
/// - pings are answered; the peer is pinged every `pingInterval` and a ping unanswered by the next one
///   ends the socket (not while reads are withheld: the answer may be waiting unread);
/// - the close handshake either way, with a timeout; the socket's end (why it closed) completes `ended`.
/// Every frame it writes is masked, as a client's must be.
final class FeedSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let reader: any FeedSocketReader
    private var assembler: MessageAssembler
    private let pingInterval: TimeAmount?
    private let closeTimeout: TimeAmount
    private let ended: EventLoopPromise<String>

    private var batch: [PublishItem] = []
    /// The reader stopped reading (it asked for a new connection): data frames are ignored from then on.
    private var stopped = false
    /// The reader has no room: reads are withheld and frames wait in `waiting`.
    private var paused = false
    private var readWithheld = false
    private var waiting: [WebSocketFrame] = []
    private var pingTimer: RepeatedTask?
    private var unansweredPing: ByteBuffer?
    private var pingCounter: UInt64 = 0
    private var closeSent = false
    private var closeTimer: Scheduled<Void>?
    /// Why the socket ends, once known (the first reason wins).
    private var end: String?
    private var finished = false
    /// The channel closed: what is handed over now goes behind any wait for room.
    private var inactive = false
    /// The peer's close came.
    private var closeReceived = false

    init(reader: any FeedSocketReader, assembler: MessageAssembler, pingInterval: Duration?, closeTimeout: Duration,
         ended: EventLoopPromise<String>) {
        self.reader = reader
        self.assembler = assembler
        self.pingInterval = pingInterval.map { TimeAmount.nanoseconds($0.nanosecondsClamped) }
        self.closeTimeout = .nanoseconds(closeTimeout.nanosecondsClamped)
        self.ended = ended
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        reader.opened()
        if let pingInterval {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pingTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in
                let (handler, context) = loopBound.value
                handler.pingDue(context: context)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Nothing read is lost: frames that waited for room (at the end NIO reads all the peer sent)
        // are given to the reader now, and what they and the last read made goes behind any wait.
        inactive = true
        for frame in waiting { receive(frame, context: context) }
        waiting.removeAll()
        handOver(context: context)
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if end == nil { end = "\(error)" }
        context.close(promise: nil)
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        pingTimer?.cancel()
        pingTimer = nil
        closeTimer?.cancel()
        closeTimer = nil
        ended.succeed(end ?? "connection closed")
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // Whatever follows a close is not read (what came before it and waits for room is).
        guard !closeReceived else { return }
        if paused, !frame.opcode.isControlOpcode {
            // Data waits for room; pings, pongs and a close are answered at once (a close then ends
            // the socket, and the data that waited is given to the reader then).
            waiting.append(frame)
        } else {
            receive(frame, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        handOver(context: context)
        context.fireChannelReadComplete()
    }

    private func receive(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        // No extension is negotiated, and a server never masks.
        guard frame.reservedBits.isEmpty else { return protocolError("reserved bits set", context: context) }
        guard frame.maskKey == nil else { return protocolError("a masked frame from the server", context: context) }
        switch frame.opcode {
        case .text, .binary, .continuation:
            guard !stopped else { return }
            switch assembler.add(frame.data, continues: frame.opcode == .continuation, fin: frame.fin) {
            case .message(let bytes):
                if !reader.message(bytes, into: &batch) {
                    stopped = true
                    startClose(code: 1000, reason: "closing", context: context)
                } else if batch.count >= 512 {
                    handOver(context: context)
                }
            case .oversized(let prefix, let total, let limit):
                reader.oversized(prefix, total: total, limit: limit)
            case .outOfSequence(let what):
                protocolError(what, context: context)
            case nil:
                break
            }
        case .ping:
            guard frame.fin else { return protocolError("a fragmented ping", context: context) }
            write(WebSocketFrame(fin: true, opcode: .pong, data: frame.data), context: context)
        case .pong:
            if let expected = unansweredPing, frame.data == expected { unansweredPing = nil }
        case .connectionClose:
            closeReceived = true
            var data = frame.data
            let code = data.readInteger(as: UInt16.self)
            let reason = data.readString(length: data.readableBytes).flatMap { $0.isEmpty ? nil : $0 }
            if closeSent {
                context.close(promise: nil)
            } else {
                if end == nil {
                    end = "closed by the server (code \(code.map { "\(WebSocketErrorCode(codeNumber: Int($0)))" } ?? "none")\(reason.map { ": \($0)" } ?? ""))"
                }
                // Answered with its code (1002 for one a peer may not send), then closed once written (or
                // after the close timeout, if the peer no longer reads): the peer is done.
                startClose(code: code.map { Self.mayBeSent($0) ? $0 : 1002 } ?? 1000, reason: "", context: context) {
                    $0.close(promise: nil)
                }
            }
        default:
            protocolError("an unknown opcode", context: context)
        }
    }

    private func handOver(context: ChannelHandlerContext) {
        guard !batch.isEmpty else { return }
        if inactive {
            // The socket is gone: in order, behind any wait for room.
            reader.last(batch)
        } else if !reader.flush(batch) {
            paused = true
        }
        batch.removeAll(keepingCapacity: batch.capacity <= 4_096)
    }

    private func resume(context: ChannelHandlerContext) {
        guard paused else { return }
        paused = false
        // Frames decoded before the pause, in order; a flush that finds no room pauses again.
        var index = 0
        while index < waiting.count, !paused {
            receive(waiting[index], context: context)
            index += 1
        }
        waiting.removeFirst(index)
        if !paused { handOver(context: context) }
        if !paused, readWithheld {
            readWithheld = false
            context.read()
        }
    }

    // MARK: Writing

    func read(context: ChannelHandlerContext) {
        if paused {
            readWithheld = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(masked(unwrapOutboundIn(data))), promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let command = event as? FeedSocketCommand else {
            return context.triggerUserOutboundEvent(event, promise: promise)
        }
        switch command {
        case .close(let code, let reason): startClose(code: code, reason: reason, context: context)
        case .resume: resume(context: context)
        }
        promise?.succeed()
    }

    private func write(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(masked(frame)), promise: nil)
    }

    private func masked(_ frame: WebSocketFrame) -> WebSocketFrame {
        var frame = frame
        if frame.maskKey == nil { frame.maskKey = .random() }
        return frame
    }

    // MARK: Pings and closing

    private func pingDue(context: ChannelHandlerContext) {
        guard !closeSent else { return }
        if paused {
            // Reads are withheld: the answer may be waiting unread. Ask again when reading resumes.
            unansweredPing = nil
            return
        }
        if unansweredPing != nil {
            if end == nil { end = "no answer to a ping within \(pingInterval.map { "\($0.nanoseconds / 1_000_000) ms" } ?? "")" }
            startClose(code: WebSocketErrorCode.goingAway.number, reason: "ping timeout", context: context)
            return
        }
        pingCounter &+= 1
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(pingCounter)
        unansweredPing = payload
        write(WebSocketFrame(fin: true, opcode: .ping, data: payload), context: context)
    }

    private func protocolError(_ what: String, context: ChannelHandlerContext) {
        if end == nil { end = "protocol error: \(what)" }
        stopped = true
        startClose(code: WebSocketErrorCode.protocolError.number, reason: "protocol error", context: context)
    }

    /// Sends a close frame (once) and closes the socket when the peer answers or after `closeTimeout`;
    /// `written` runs once the frame is written (or failed).
    private func startClose(code: UInt16, reason: String, context: ChannelHandlerContext,
                            written: ((ChannelHandlerContext) -> Void)? = nil) {
        guard !closeSent else { return }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.writeInteger(code)
        // A control frame carries at most 125 bytes (our reasons are short ASCII).
        data.writeBytes(reason.utf8.prefix(123))
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let write = context.writeAndFlush(wrapOutboundOut(masked(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))))
        if let written {
            let callback = NIOLoopBound(written, eventLoop: context.eventLoop)
            write.whenComplete { _ in callback.value(loopBound.value) }
        }
        closeTimer = context.eventLoop.scheduleTask(in: closeTimeout) {
            loopBound.value.close(promise: nil)
        }
    }
}

extension FeedSocketHandler {
    /// Whether a close frame may carry `code` (RFC 6455 7.4: 1004-1006 and 1015 are never sent; below
    /// 1000 and above 4999 are not defined).
    static func mayBeSent(_ code: UInt16) -> Bool {
        (1000...4999).contains(code) && ![1004, 1005, 1006, 1015].contains(code)
    }
}

extension WebSocketErrorCode {
    /// The code's number, as a close frame carries it.
    var number: UInt16 {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: self)
        return buffer.readInteger() ?? 1000
    }
}
