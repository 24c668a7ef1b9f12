import ArgumentParser
import Foundation
import FXCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import Synchronization

/// `fxbench blast-sender`: a Coinbase-protocol WebSocket sender in a process of its own, so a benchmark
/// measures the ingestor and not its sender. It answers a subscribe to `/feed`, then sends `match`
/// frames for `--symbols` products (trade ids and per-product sequences contiguous, event time now) at
/// the current rate: `--rate`, changed at run time by `POST /rate/<frames per second>` (0 pauses; with
/// no rate set it sends as fast as the connection takes frames). `GET /sent` answers the frames sent.
struct BlastSenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blast-sender")
    @Option(help: "Port to listen on (127.0.0.1).") var port: Int
    @Option(help: "Products (B0-USD, B1-USD, ...).") var symbols: Int = 20
    @Option(help: "Frames per second at start (-1: as fast as possible).") var rate: Int = 0
    @Flag(help: "Every other frame a ticker (best bid/ask) instead of a match.") var quotes = false

    func run() async throws {
        var logger = Logger(label: "blast-sender")
        logger.logLevel = .error
        let sender = BlastSender(symbols: symbols, rate: rate, quotes: quotes)
        let group = ServiceGroup(configuration: .init(services: [.init(service: sender.application(port: port))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

final class BlastSender: Sendable {
    let symbols: [String]
    let quotes: Bool
    let rate: Atomic<Int>
    let sent = Atomic<Int>(0)
    /// Bumped by every rate change: the pacing restarts from that moment.
    let epoch = Atomic<Int>(0)

    init(symbols: Int, rate: Int, quotes: Bool) {
        self.symbols = (0..<symbols).map { "B\($0)-USD" }
        self.quotes = quotes
        self.rate = Atomic(rate)
    }

    func application(port: Int) -> some Service {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/feed") { inbound, outbound, _ in
            var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            _ = try await iterator.next()  // the subscribe message
            try await outbound.write(.text(#"{"type":"subscriptions","channels":[]}"#))
            try await self.send(to: outbound)
        }
        let control = Router()
        control.post("/rate/:value") { _, context -> String in
            let value = try context.parameters.require("value", as: Int.self)
            self.rate.store(value, ordering: .relaxed)
            self.epoch.add(1, ordering: .relaxed)
            return "ok\n"
        }
        control.get("/sent") { _, _ -> String in "\(self.sent.load(ordering: .relaxed))\n" }
        return Application(router: control, server: .http1WebSocketUpgrade(webSocketRouter: router),
                           configuration: .init(address: .hostname("127.0.0.1", port: port)))
    }

    private func send(to outbound: WebSocketOutboundWriter) async throws {
        var sequence = [Int](repeating: 1_000, count: symbols.count)
        var tradeID = 0
        var frameIndex = 0
        var epochSeen = -1
        var begin = ContinuousClock.now
        var sentSinceBegin = 0
        while !Task.isCancelled {
            let rate = self.rate.load(ordering: .relaxed)
            let epoch = self.epoch.load(ordering: .relaxed)
            if epoch != epochSeen {
                (epochSeen, begin, sentSinceBegin) = (epoch, .now, 0)
            }
            if rate == 0 {
                try await Task.sleep(for: .milliseconds(10))
                continue
            }
            if rate > 0 {
                let due = begin + .nanoseconds(Int64(sentSinceBegin) * 1_000_000_000 / Int64(rate))
                if due > .now { try await Task.sleep(until: due) }
            }
            // Frames per pacing step: one millisecond's worth (at least 1, at most 100), so a paced rate
            // arrives evenly, not in bursts.
            let step = rate > 0 ? min(100, max(1, rate / 1_000)) : 100
            let now = WallClock.nanoseconds()
            let time = Timestamps.rfc3339(nanoseconds: now / 1_000 * 1_000)
            for _ in 0..<step {
                frameIndex += 1
                let s = frameIndex % symbols.count
                sequence[s] += 1
                if quotes, frameIndex % 2 == 0 {
                    let bid = "\(50_000 + frameIndex % 500).\(frameIndex % 100)"
                    let frame = #"{"type":"ticker","sequence":\#(sequence[s]),"product_id":"\#(symbols[s])","price":"\#(bid)","best_bid":"\#(bid)","best_bid_size":"1.5","best_ask":"\#(50_001 + frameIndex % 500).\#(frameIndex % 100)","best_ask_size":"2.25","time":"\#(time)"}"#
                    try await outbound.write(.text(frame))
                    continue
                }
                tradeID += 1
                let frame = #"{"type":"match","trade_id":\#(tradeID),"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","side":"\#(tradeID % 2 == 0 ? "sell" : "buy")","size":"0.\#(tradeID % 99_999_999 + 1)","price":"\#(50_000 + tradeID % 500).\#(tradeID % 100)","product_id":"\#(symbols[s])","sequence":\#(sequence[s]),"time":"\#(time)"}"#
                try await outbound.write(.text(frame))
            }
            sentSinceBegin += step
            sent.add(step, ordering: .relaxed)
        }
    }
}
