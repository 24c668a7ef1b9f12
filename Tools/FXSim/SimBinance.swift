import FXCore
import Synchronization

/// Binance spot market streams (`/binance/stream` combined, `/binance/ws` raw) and the REST endpoints the
/// ingestor and the backfiller use (`/binance/api/v3/depth`, `/binance/api/v3/klines`), over the venue's own
/// book per symbol (``SimBook``): `SUBSCRIBE`/`UNSUBSCRIBE` with `<symbol>@trade`, `@bookTicker` and
/// `@depth@100ms`/`@depth`, answered `{"result":null,"id":…}`; every step sends each subscribed symbol's
/// `depthUpdate` with its update ids `U`..`u` (each level change is one id), its trades (consecutive `t`) and
/// its best bid/ask. Books once created keep moving whether or not anyone listens, and their trades go to the
/// minute candles the klines endpoint answers.
///
/// Faults (`POST /control/binance?fault=`): `skip&symbol=&count=` (the next `count` depth updates of a symbol
/// are not sent: their ids are lost; `count=-1`: every other one, a pair that keeps failing),
/// `late_snapshot&seconds=` (depth snapshots are answered that much later, as of the request),
/// `shutdown` (a `serverShutdown` event to every connection, closed a second later), `drop`.
public final class SimBinance: Sendable {
    struct Client: Sendable {
        var send: AsyncStream<String>.Continuation
        /// Events wrapped as `{"stream":…,"data":…}` (`/stream`).
        var combined: Bool
        /// Subscribed stream names (`btcusdt@trade`).
        var streams: Set<String> = []
    }

    struct State: Sendable {
        var books: [String: SimBook] = [:]
        var clients: [Int: Client] = [:]
        var nextClient = 0
        /// Symbol -> depth updates still to withhold (-1: every other one, for ever).
        var skips: [String: Int] = [:]
        var skipToggle = false
        var snapshotDelay: Int64 = 0
        var candles = SimCandleBook()
    }

    let seed: UInt64
    let state = Mutex(State())

    init(seed: UInt64) {
        self.seed = seed
    }

    func connect(combined: Bool) -> (id: Int, lines: AsyncStream<String>) {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(20_000))
        let id = state.withLock { state in
            state.nextClient += 1
            state.clients[state.nextClient] = Client(send: continuation, combined: combined)
            return state.nextClient
        }
        return (id, stream)
    }

    func disconnect(_ id: Int) {
        state.withLock { $0.clients.removeValue(forKey: id) }?.send.finish()
    }

    public func drop() -> Int {
        let clients = state.withLock { state in
            defer { state.clients = [:] }
            return Array(state.clients.values)
        }
        for client in clients { client.send.finish() }
        return clients.count
    }

    /// One request from client `id`.
    func request(_ text: String, client id: Int, now: Int64) {
        guard let request = try? JSONParser().parse(Array(text.utf8)), case .object = request else {
            send(id, #"{"error":{"code":3,"msg":"Invalid JSON: expected an object"}}"#)
            return
        }
        let reqID = request["id"]?.int64Value.map(String.init) ?? "null"
        guard let method = request["method"]?.stringValue else {
            send(id, #"{"error":{"code":2,"msg":"Invalid request: missing field `method`"},"id":\#(reqID)}"#)
            return
        }
        switch method {
        case "SUBSCRIBE", "UNSUBSCRIBE":
            guard let params = request["params"]?.arrayValue?.compactMap(\.stringValue), !params.isEmpty else {
                send(id, #"{"error":{"code":2,"msg":"Invalid request: missing field `params`"},"id":\#(reqID)}"#)
                return
            }
            for stream in params where Self.parse(stream) == nil {
                send(id, #"{"error":{"code":2,"msg":"Invalid request: unknown stream \#(stream.prefix(40))"},"id":\#(reqID)}"#)
                return
            }
            state.withLock { state in
                guard state.clients[id] != nil else { return }
                for stream in params {
                    let symbol = Self.parse(stream)!.symbol
                    if state.books[symbol] == nil { state.books[symbol] = SimBook(venue: "binance", symbol: symbol, seed: seed, now: now) }
                    if method == "SUBSCRIBE" {
                        state.clients[id]!.streams.insert(stream)
                        guard state.clients[id]!.streams.count <= 1024 else {
                            state.clients[id]!.send.yield(#"{"error":{"code":2,"msg":"Invalid request: too many streams"},"id":\#(reqID)}"#)
                            state.clients[id]!.send.finish()
                            return
                        }
                    } else {
                        state.clients[id]!.streams.remove(stream)
                    }
                }
                state.clients[id]!.send.yield(#"{"result":null,"id":\#(reqID)}"#)
            }
        case "LIST_SUBSCRIPTIONS":
            let streams = state.withLock { $0.clients[id]?.streams.sorted() } ?? []
            send(id, #"{"result":[\#(streams.map { "\"\($0)\"" }.joined(separator: ","))],"id":\#(reqID)}"#)
        default:
            send(id, #"{"error":{"code":2,"msg":"Invalid request: unknown variant `\#(method.prefix(20))`"},"id":\#(reqID)}"#)
        }
    }

    /// `btcusdt@trade` -> (BTCUSDT, trade); nil for a stream this venue does not have.
    static func parse(_ stream: String) -> (symbol: String, kind: String)? {
        let parts = stream.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLowercase || $0.isNumber }) else { return nil }
        let kind = String(parts[1])
        guard ["trade", "bookTicker", "depth", "depth@100ms"].contains(kind) else { return nil }
        return (parts[0].uppercased(), kind.hasPrefix("depth") ? "depth" : kind)
    }

    /// One market step: every book moves; subscribers get their streams' events.
    func step(now: Int64) {
        state.withLock { state in
            var out: [(AsyncStream<String>.Continuation, String)] = []
            for symbol in state.books.keys.sorted() {
                var book = state.books[symbol]!
                let firstID = book.updateID + 1
                let change = book.step(now: now)
                state.books[symbol] = book
                let ms = book.ts / 1_000_000
                let lower = symbol.lowercased()
                if let trade = change.trade {
                    state.candles.record(symbol: symbol, atNanoseconds: ms * 1_000_000, priceUnits: trade.price, sizeUnits: trade.qty)
                }
                var withhold = false
                if let left = state.skips[symbol], left != 0 {
                    if left > 0 { state.skips[symbol] = left - 1; withhold = true } else { state.skipToggle.toggle(); withhold = state.skipToggle }
                }
                let depth = #"{"e":"depthUpdate","E":\#(ms),"s":"\#(symbol)","U":\#(firstID),"u":\#(book.updateID),"b":\#(Self.levels(change.bids)),"a":\#(Self.levels(change.asks))}"#
                let bid = book.top(.bid, 1).first, ask = book.top(.ask, 1).first
                let ticker = #"{"u":\#(book.updateID),"s":"\#(symbol)","b":"\#(bid.map { SimBook.price($0.0) } ?? "0.00")","B":"\#(bid.map { SimBook.qty($0.1) } ?? "0.00000000")","a":"\#(ask.map { SimBook.price($0.0) } ?? "0.00")","A":"\#(ask.map { SimBook.qty($0.1) } ?? "0.00000000")"}"#
                let trade = change.trade.map { trade in
                    #"{"e":"trade","E":\#(ms),"s":"\#(symbol)","t":\#(trade.id),"p":"\#(SimBook.price(trade.price))","q":"\#(SimBook.qty(trade.qty))","T":\#(ms),"m":\#(trade.buy ? "false" : "true"),"M":true}"#
                }
                for id in state.clients.keys.sorted() {
                    let client = state.clients[id]!
                    func emit(_ stream: String, _ event: String) {
                        guard client.streams.contains(stream) else { return }
                        out.append((client.send, client.combined ? #"{"stream":"\#(stream)","data":\#(event)}"# : event))
                    }
                    if let trade { emit(lower + "@trade", trade) }
                    emit(lower + "@bookTicker", ticker)
                    if !withhold {
                        emit(lower + "@depth@100ms", depth)
                        emit(lower + "@depth", depth)
                    }
                }
            }
            // Under the lock, like the answers to subscriptions: each client's lines go out in step order.
            for (send, line) in out { send.yield(line) }
        }
    }

    public func fault(_ kind: String, symbol: String?, count: Int, seconds: Double) -> Int {
        switch kind {
        case "skip":
            guard let symbol else { return 0 }
            state.withLock { $0.skips[symbol.uppercased()] = count }
            return 1
        case "late_snapshot":
            state.withLock { $0.snapshotDelay = Int64(seconds * 1e9) }
            return 1
        case "shutdown":
            let clients = state.withLock { Array($0.clients.values) }
            let ms = WallClock.nanoseconds() / 1_000_000
            for client in clients {
                let event = #"{"e":"serverShutdown","E":\#(ms)}"#
                client.send.yield(client.combined ? #"{"stream":"!serverShutdown","data":\#(event)}"# : event)
            }
            Task {
                try? await Task.sleep(for: .seconds(1))
                for client in clients { client.send.finish() }
            }
            return clients.count
        case "drop":
            return drop()
        default:
            return 0
        }
    }

    /// `GET /api/v3/depth?symbol=&limit=`: the book as of now and how long to hold the answer back.
    func depthSnapshot(_ symbol: String, limit: Int, now: Int64) -> (body: String, delay: Int64)? {
        state.withLock { state in
            let symbol = symbol.uppercased()
            guard SymbolMapperForSim.isPair(symbol) else { return nil }
            if state.books[symbol] == nil { state.books[symbol] = SimBook(venue: "binance", symbol: symbol, seed: seed, now: now) }
            let book = state.books[symbol]!
            let body = #"{"lastUpdateId":\#(book.updateID),"bids":\#(Self.levels(book.top(.bid, limit))),"asks":\#(Self.levels(book.top(.ask, limit)))}"#
            return (body, state.snapshotDelay)
        }
    }

    /// The venue's whole book of `symbol` now and the update id it stands at (nil: no such book yet).
    public func book(_ symbol: String) -> (lastUpdateID: Int64, bids: [(price: String, qty: String)], asks: [(price: String, qty: String)])? {
        state.withLock { state in
            guard let book = state.books[symbol.uppercased()] else { return nil }
            return (book.updateID, book.top(.bid, 10_000).map { (SimBook.price($0.0), SimBook.qty($0.1)) },
                    book.top(.ask, 10_000).map { (SimBook.price($0.0), SimBook.qty($0.1)) })
        }
    }

    /// `GET /api/v3/klines?symbol=&interval=1m&startTime=&endTime=&limit=`: minute candles (open time in ms,
    /// OHLC and volume as strings, close time, quote volume, trades, taker volumes), oldest first.
    func klines(_ symbol: String, intervalSeconds: Int64, start: Int64?, end: Int64?, limit: Int, now: Int64) -> String {
        state.withLock { state in
            let endSeconds = (end ?? now / 1_000_000) / 1000
            let startSeconds = start.map { ($0 + 999) / 1000 } ?? max(0, endSeconds - intervalSeconds * Int64(limit))
            let rows = state.candles.candles(symbol: symbol.uppercased(), granularity: intervalSeconds, start: startSeconds, end: endSeconds)
                .filter { $0.time * 1000 >= (start ?? 0) }
                .prefix(limit)
            return "[" + rows.map { row in
                let c = row.candle
                return #"[\#(row.time * 1000),"\#(SimBook.price(c.open))","\#(SimBook.price(c.high))","\#(SimBook.price(c.low))","\#(SimBook.price(c.close))","\#(SimBook.qty(c.volume))",\#(row.time * 1000 + intervalSeconds * 1000 - 1),"0",\#(c.ticks),"0","0","0"]"#
            }.joined(separator: ",") + "]"
        }
    }

    static func levels(_ levels: [(Int64, Int64)]) -> String {
        "[" + levels.map { #"["\#(SimBook.price($0.0))","\#(SimBook.qty($0.1))"]"# }.joined(separator: ",") + "]"
    }

    private func send(_ id: Int, _ line: String) {
        state.withLock { $0.clients[id]?.send }?.yield(line)
    }
}

/// Which Binance symbols the simulator knows: letters and digits ending in a quote currency it lists.
enum SymbolMapperForSim {
    static let quotes = ["USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "EUR", "USD"]

    static func isPair(_ symbol: String) -> Bool {
        symbol.allSatisfy { $0.isUppercase || $0.isNumber } && quotes.contains { symbol.hasSuffix($0) && symbol.count > $0.count }
    }
}
