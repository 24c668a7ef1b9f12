import FXCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// The WebSocket side of the simulator: one handler per venue protocol.
struct SimWebSocketRoutes: Sendable {
    let market: SimMarket
    let configuration: SimConfiguration
    let logger: Logger

    func add(to router: Router<BasicWebSocketRequestContext>) {
        router.ws("/coinbase") { inbound, outbound, _ in
            try await serve(.coinbase, inbound: inbound, outbound: outbound)
        }
        // IG's Lightstreamer: TLCP over a WebSocket, only with its subprotocol (as the real server).
        router.ws("/ig/lightstreamer", shouldUpgrade: { request, _ in
            guard request.headers[.secWebSocketProtocol]?.contains(Self.tlcp) == true else { return .dontUpgrade }
            return .upgrade([.secWebSocketProtocol: Self.tlcp])
        }) { inbound, outbound, _ in
            try await serveLightstreamer(inbound: inbound, outbound: outbound)
        }
        for (path, combined) in [("/binance/stream", true), ("/binance/ws", false)] {
            router.ws(RouterPath(path)) { inbound, outbound, context in
                let streams = context.request.uri.queryParameters["streams"].map { $0.split(separator: "/").map(String.init) } ?? []
                try await serveBinance(inbound: inbound, outbound: outbound, combined: combined, streams: streams)
            }
        }
        router.ws("/kraken/v2") { inbound, outbound, _ in
            try await serveKraken(inbound: inbound, outbound: outbound)
        }
        router.ws("/finnhub", shouldUpgrade: { request, _ in
            guard let token = request.uri.queryParameters["token"], !token.isEmpty else { return .dontUpgrade }
            return .upgrade([:])
        }) { inbound, outbound, _ in
            try await serve(.finnhub, inbound: inbound, outbound: outbound)
        }
    }

    private func serve(_ venue: SimInstrument.Venue, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let client = market.connect(venue, now: WallClock.nanoseconds())
        defer { market.disconnect(client) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in client.outbox {
                    switch message {
                    case .text(let text): try await outbound.write(.text(text))
                    case .rawText(let bytes):
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: bytes))))
                    case .cut(let bytes):
                        try await outbound.write(.custom(WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(bytes: bytes))))
                        return
                    }
                }
            }
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    switch venue {
                    case .coinbase: handleCoinbase(text, client: client)
                    case .finnhub: handleFinnhub(text, client: client)
                    case .oanda, .ig: break
                    }
                }
            }
            if venue == .coinbase {
                group.addTask {
                    try await Task.sleep(for: configuration.coinbaseSubscribeTimeout)
                    if client.state.withLock({ $0.symbols.isEmpty }) {
                        client.send(.text(CoinbaseSimProtocol.error("Failed to subscribe", reason: "no subscribe message received in time")),
                                    now: WallClock.nanoseconds(), force: true)
                        client.close()
                    }
                    try await Task.sleep(for: .seconds(1_000_000))
                }
            }
            // The first to end (client dropped, peer closed) ends the connection.
            _ = try await group.next()
            group.cancelAll()
        }
    }

    static let tlcp = "TLCP-2.5.0.lightstreamer.com"

    /// One Lightstreamer socket: requests in (one per text message), lines out (each ending in CRLF); the
    /// session it creates or binds outlives it.
    private func serveLightstreamer(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let sessions = market.ig
        let socket = sessions.openSocket()
        defer { sessions.closeSocket(socket.id, now: WallClock.nanoseconds()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await line in socket.lines { try await outbound.write(.text(line + "\r\n")) }
            }
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    sessions.request(text, socket: socket.id, continuation: socket.continuation, knownEpic: market.knownIGEpic,
                                     marketOpen: market.igMarketOpen, now: WallClock.nanoseconds())
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func serveBinance(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, combined: Bool, streams: [String]) async throws {
        let binance = market.binance
        let (id, lines) = binance.connect(combined: combined)
        defer { binance.disconnect(id) }
        if !streams.isEmpty {
            binance.request(#"{"method":"SUBSCRIBE","params":[\#(streams.map { "\"\($0)\"" }.joined(separator: ","))],"id":0}"#, client: id, now: WallClock.nanoseconds())
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await line in lines { try await outbound.write(.text(line)) }
            }
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    binance.request(text, client: id, now: WallClock.nanoseconds())
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func serveKraken(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let kraken = market.kraken
        let (id, lines) = kraken.connect()
        defer { kraken.disconnect(id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await line in lines { try await outbound.write(.text(line)) }
            }
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    kraken.request(text, client: id, now: WallClock.nanoseconds())
                }
            }
            group.addTask {
                // Kraken's heartbeat channel: once a second on a connection with subscriptions.
                while true {
                    try await Task.sleep(for: .seconds(1))
                    kraken.heartbeat(id)
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func handleCoinbase(_ text: String, client: SimClient) {
        let now = WallClock.nanoseconds()
        guard let request = try? JSONParser().parse(text), let type = request["type"]?.stringValue, type == "subscribe" || type == "unsubscribe" else {
            client.send(.text(CoinbaseSimProtocol.error("Failed to subscribe", reason: "expected a subscribe message")), now: now, force: true)
            return
        }
        if type == "unsubscribe" {
            let products = request["product_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let channels = (request["channels"]?.arrayValue ?? []).compactMap { $0.stringValue ?? $0["name"]?.stringValue }
            if channels.contains("level2_batch") { market.coinbaseBooks.unsubscribe(client, products: products) }
            client.send(.text(CoinbaseSimProtocol.subscriptions(channels: channels, products: [])), now: now)
            return
        }
        let products = request["product_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var channels: [String] = []
        for channel in request["channels"]?.arrayValue ?? [] {
            if let name = channel.stringValue ?? channel["name"]?.stringValue { channels.append(name) }
        }
        if request["signature"] != nil, request["key"]?.stringValue == nil || request["passphrase"] == nil || request["timestamp"] == nil {
            client.send(.text(CoinbaseSimProtocol.error("Failed to subscribe", reason: "authentication requires key, passphrase, timestamp")), now: now, force: true)
            return
        }
        let valid = products.filter { product in
            let parts = product.split(separator: "-", omittingEmptySubsequences: false)
            return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isUppercase || $0.isNumber } }
        }
        if let bad = products.first(where: { !valid.contains($0) }) {
            client.send(.text(CoinbaseSimProtocol.error("Failed to subscribe", reason: "\(bad) is not a valid product")), now: now, force: true)
            return
        }
        guard !valid.isEmpty, !channels.isEmpty else {
            client.send(.text(CoinbaseSimProtocol.error("Failed to subscribe", reason: "product_ids and channels are required")), now: now, force: true)
            return
        }
        if channels.contains("level2") && request["signature"] == nil {
            client.send(.text(CoinbaseSimProtocol.error("Failed to subscribe", reason: "level2 requires authentication")), now: now, force: true)
            return
        }
        for product in valid { market.subscribe(client, symbol: product) }
        client.send(.text(CoinbaseSimProtocol.subscriptions(channels: channels, products: valid)), now: now)
        if channels.contains("level2_batch") { market.coinbaseBooks.subscribe(client, products: valid, now: now) }
        if channels.contains("matches") {
            for product in valid {
                guard let instrument = market.instrument(.coinbase, product), let last = instrument.lastTrade else { continue }
                client.send(.text(CoinbaseSimProtocol.match(instrument, last.trade, sequence: last.sequence, time: last.time, type: "last_match")),
                            now: now)
            }
        }
    }

    private func handleFinnhub(_ text: String, client: SimClient) {
        let now = WallClock.nanoseconds()
        guard let request = try? JSONParser().parse(text), let symbol = request["symbol"]?.stringValue, !symbol.isEmpty else { return }
        switch request["type"]?.stringValue {
        case "subscribe":
            let count = client.state.withLock { $0.symbols.count }
            if count >= configuration.finnhubMaxSymbols, !client.isSubscribed(symbol) {
                client.send(.text(FinnhubSimProtocol.tooManySymbols), now: now, force: true)
                return
            }
            market.subscribe(client, symbol: symbol)
        case "unsubscribe":
            client.state.withLock { state in
                state.subscribedSet.remove(symbol)
                state.symbols.removeAll { $0 == symbol }
            }
        default:
            return
        }
    }
}
