import Foundation
@testable import FXIngest
import FXKafka
import FXTestSupport
import NIOCore
import NIOSSL
import NIOWebSocket
import Synchronization
import Testing

/// The WebSocket client under every venue's feed (``FeedSocket``), against a scripted server: the
/// protocol's duties (frames joined, pings answered, the close handshake, masking), its bounds (an
/// unanswered upgrade, an unanswered ping) and its pushback (reads withheld while the reader has no room).
@Suite("Feed socket: the WebSocket protocol under every venue's feed")
struct FeedSocketTests {
    /// Records what the socket delivers; hands over a batch only while it has room.
    final class Reader: FeedSocketReader {
        let messages = Mutex<[String]>([])
        let opens = Atomic<Int>(0)
        let hasRoom = Atomic<Bool>(true)
        /// Items handed over after the socket closed.
        let lastItems = Atomic<Int>(0)

        func opened() { opens.add(1, ordering: .relaxed) }
        func message(_ bytes: [UInt8], into batch: inout [PublishItem]) -> Bool {
            messages.withLock { $0.append(String(decoding: bytes.prefix(32), as: UTF8.self)) }
            batch.append(PublishItem(message: KafkaProducerMessage(topic: "t", key: nil, value: bytes), kind: .health))
            return true
        }
        func oversized(_ prefix: [UInt8], total: Int, limit: Int) {
            messages.withLock { $0.append("oversized \(total) > \(limit)") }
        }
        func flush(_ batch: [PublishItem]) -> Bool { hasRoom.load(ordering: .relaxed) }
        func last(_ batch: [PublishItem]) { lastItems.add(batch.count, ordering: .relaxed) }
        var received: [String] { messages.withLock { $0 } }
    }

    static func settings(port: Int, scheme: String = "ws", host: String = "127.0.0.1", pingInterval: Duration? = nil,
                         connectTimeout: Duration = .seconds(5), trustRoots: NIOSSLTrustRoots = .default,
                         maxMessageBytes: Int = 64) -> FeedSocket.Settings {
        FeedSocket.Settings(url: "\(scheme)://\(host):\(port)/feed?token=secret", maxFrameSize: 1 << 16,
                            assembler: MessageAssembler(maxMessageBytes: maxMessageBytes, large: nil), pingInterval: pingInterval,
                            closeTimeout: .milliseconds(500), connectTimeout: connectTimeout, trustRoots: trustRoots)
    }

    @Test("fragments are joined into one message; an over-limit message is reported with its size; a ping is answered with its payload; every client frame is masked; the server's close code and reason are the socket's end")
    func protocolDuties() async throws {
        // The server closes once the client has subscribed (and answered the ping sent before).
        let server = try await ScriptedWebSocketServer(onFrame: { frame, channel in
            guard frame.opcode == .text else { return }
            var close = ByteBuffer()
            close.writeInteger(UInt16(4001))
            close.writeString("maintenance")
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: close), promise: nil)
        }) { channel in
            channel.write(WebSocketFrame.text(#"{"type":"#, fin: false), promise: nil)
            channel.write(WebSocketFrame.text(#""match"}"#, continuation: true), promise: nil)
            channel.write(WebSocketFrame.text(String(repeating: "x", count: 100)), promise: nil)
            channel.write(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "p-1")), promise: nil)
            channel.writeAndFlush(WebSocketFrame.text("after"), promise: nil)
        }
        let reader = Reader()
        let socket = try await FeedSocket.connect(Self.settings(port: server.port), reader: reader)
        do { try await socket.send(text: #"{"type":"subscribe"}"#) } catch { Issue.record("send: \(error); \(await socket.end())") }
        let end = await socket.end()
        #expect(reader.opens.load(ordering: .relaxed) == 1)
        #expect(reader.received == [#"{"type":"match"}"#, "oversized 100 > 64", "after"])
        #expect(end.contains("closed by the server") && end.contains("4001") && end.contains("maintenance"), "\(end)")
        // The server reads the echo on its own loop, perhaps after the client's end.
        _ = try await TestEnvironment.eventually(timeout: .seconds(5)) { server.received.count >= 3 }
        let sent = server.received
        #expect(sent.allSatisfy { $0.maskKey != nil }, "a client masks every frame")
        #expect(sent.count == 3 && sent.last?.opcode == .connectionClose)
        #expect(sent.contains { $0.opcode == .text && String(buffer: $0.unmaskedData) == #"{"type":"subscribe"}"# })
        #expect(sent.contains { $0.opcode == .pong && String(buffer: $0.unmaskedData) == "p-1" }, "the pong carries the ping's payload")
        #expect(sent.last.flatMap { $0.unmaskedData.getInteger(at: $0.unmaskedData.readerIndex, as: UInt16.self) } == 4001,
                "the close is echoed with its code")
        await server.stop()
    }

    @Test("closing starts the handshake with the given code; the socket ends once the close timeout passes without an answer")
    func clientClose() async throws {
        let server = try await ScriptedWebSocketServer { _ in }
        let socket = try await FeedSocket.connect(Self.settings(port: server.port), reader: Reader())
        let started = ContinuousClock.now
        socket.close(code: .goingAway, reason: "stale feed")
        let end = await socket.end()
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(end == "connection closed")
        _ = try await TestEnvironment.eventually(timeout: .seconds(5)) { !server.received.isEmpty }
        let close = try #require(server.received.last)
        #expect(close.opcode == .connectionClose)
        var data = close.unmaskedData
        #expect(data.readInteger(as: UInt16.self) == 1001)
        #expect(data.readString(length: data.readableBytes) == "stale feed")
        await server.stop()
    }

    @Test("a peer that accepts TCP but never answers the upgrade is given up after the connect timeout")
    func unansweredUpgrade() async throws {
        let blackHole = try BlackHoleListener()
        let started = ContinuousClock.now
        await #expect(throws: FeedSocket.Failure.self) {
            _ = try await FeedSocket.connect(Self.settings(port: blackHole.port, connectTimeout: .milliseconds(300)), reader: Reader())
        }
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test("a peer that stops answering pings ends the socket by the next ping, saying so")
    func unansweredPing() async throws {
        let server = try await ScriptedWebSocketServer { _ in }
        let socket = try await FeedSocket.connect(Self.settings(port: server.port, pingInterval: .milliseconds(100)), reader: Reader())
        let started = ContinuousClock.now
        let end = await socket.end()
        #expect(end.contains("no answer to a ping"), "\(end)")
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) {
            server.received.contains { $0.opcode == .ping && $0.maskKey != nil }
        })
        await server.stop()
    }

    /// A socket whose reader has no room, once the server's first message ("m0") is in: the server, its
    /// side of the connection (to script), the socket and its reader.
    static func withoutRoom(maxMessageBytes: Int = 64) async throws
        -> (ScriptedWebSocketServer, any Channel, FeedSocket, Reader) {
        let script = Mutex<(any Channel)?>(nil)
        let server = try await ScriptedWebSocketServer { channel in script.withLock { $0 = channel } }
        let reader = Reader()
        reader.hasRoom.store(false, ordering: .relaxed)
        let socket = try await FeedSocket.connect(Self.settings(port: server.port, maxMessageBytes: maxMessageBytes), reader: reader)
        // The server's side opens once it has sent its answer: perhaps after the client's.
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) { script.withLock { $0 } != nil })
        let channel = try #require(script.withLock { $0 })
        try await channel.writeAndFlush(WebSocketFrame.text("m0"))
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) { reader.received == ["m0"] })
        return (server, channel, socket, reader)
    }

    @Test("while the reader has no room the socket is not read (TCP pushes back on the server); resumed, the rest arrives in order")
    func readsWithheld() async throws {
        let (server, channel, socket, reader) = try await Self.withoutRoom(maxMessageBytes: 1 << 16)
        // 32 MB: far more than the sockets' buffers hold, so the server's writes back up.
        let padding = String(repeating: ".", count: 16_000)
        for index in 1...2_000 { channel.write(WebSocketFrame.text("m\(index):\(padding)"), promise: nil) }
        channel.flush()
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) { !channel.isWritable })
        try await Task.sleep(for: .milliseconds(300))
        #expect(!channel.isWritable, "the client still reads nothing")
        #expect(reader.received == ["m0"], "no message while the reader has no room")
        reader.hasRoom.store(true, ordering: .relaxed)
        socket.resumeReading()
        #expect(try await TestEnvironment.eventually(timeout: .seconds(20)) { reader.received.count == 2_001 })
        #expect(reader.received.dropFirst().map { $0.prefix { $0 != ":" } } == (1...2_000).map { "m\($0)"[...] })
        socket.close(code: .normalClosure, reason: "done")
        _ = await socket.end()
        await server.stop()
    }

    @Test("a peer that closes while the reader has no room: every frame it sent is still given to the reader, after the wait, and its close is the socket's end")
    func closedWhileWithheld() async throws {
        let (server, channel, socket, reader) = try await Self.withoutRoom()
        for index in 1...50 { channel.write(WebSocketFrame.text("m\(index)"), promise: nil) }
        var close = ByteBuffer()
        close.writeInteger(UInt16(4002))
        close.writeString("going down")
        try await channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: close))
        try await channel.close()
        let end = await socket.end()
        #expect(reader.received == (0...50).map { "m\($0)" })
        #expect(reader.lastItems.load(ordering: .relaxed) == 50, "handed over behind the wait")
        #expect(end.contains("4002") && end.contains("going down"), "\(end)")
        await server.stop()
    }

    @Test("frames no client may receive end the socket with a protocol error (close 1002), never a wrong message: a continuation outside a message, reserved bits, a masked frame")
    func protocolErrors() async throws {
        let cases: [(String, [WebSocketFrame])] = [
            ("a continuation frame outside a message", [.text("a"), .text("b", continuation: true)]),
            ("reserved bits set", [.text("a"), WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: ByteBuffer(string: "b"))]),
            ("a masked frame from the server", [.text("a"), WebSocketFrame(fin: true, opcode: .text, maskKey: [1, 2, 3, 4], data: ByteBuffer(string: "b"))]),
        ]
        for (what, frames) in cases {
            let server = try await ScriptedWebSocketServer { channel in
                for frame in frames { channel.write(frame, promise: nil) }
                channel.flush()
            }
            let reader = Reader()
            let socket = try await FeedSocket.connect(Self.settings(port: server.port), reader: reader)
            let end = await socket.end()
            #expect(end == "protocol error: \(what)", "\(what)")
            #expect(reader.received == ["a"], "\(what)")
            #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) {
                server.received.contains { $0.opcode == .connectionClose && $0.unmaskedData.getInteger(at: $0.unmaskedData.readerIndex, as: UInt16.self) == 1002 }
            }, "\(what)")
            await server.stop()
        }
    }

    @Test("over TLS the server's certificate must lead to a trusted root and carry the host's name")
    func tls() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fx-wss-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(in: directory)
        let context = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: NIOSSLCertificate.fromPEMFile(certificates.serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(NIOSSLPrivateKey(file: certificates.serverKey, format: .pem))))
        let server = try await ScriptedWebSocketServer(tls: context) { channel in
            channel.writeAndFlush(WebSocketFrame.text("secure"), promise: nil)
        }
        let trusted = NIOSSLTrustRoots.file(certificates.ca)
        let reader = Reader()
        let socket = try await FeedSocket.connect(Self.settings(port: server.port, scheme: "wss", host: "localhost", trustRoots: trusted), reader: reader)
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) { reader.received == ["secure"] })
        socket.close(code: .normalClosure, reason: "done")
        _ = await socket.end()
        await #expect(throws: (any Error).self, "a root the client does not trust") {
            _ = try await FeedSocket.connect(Self.settings(port: server.port, scheme: "wss", host: "localhost",
                                                           trustRoots: .file(certificates.otherCA)), reader: Reader())
        }
        await #expect(throws: (any Error).self, "a name the certificate does not carry") {
            _ = try await FeedSocket.connect(Self.settings(port: server.port, scheme: "wss", host: "127.0.0.1", trustRoots: trusted),
                                             reader: Reader())
        }
        await server.stop()
    }
}
