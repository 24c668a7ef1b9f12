import FXCore
import Synchronization

/// Kraken spot WebSocket v2 (`/kraken/v2`): `trade`, `ticker` and `book` channels on `subscribe` /
/// `unsubscribe` requests, with the venue's own deep book per pair and Kraken's rules for a subscriber of
/// depth d: a snapshot of the top d levels, then updates that carry every level of the top d that changed
/// (quantity 0 for a level that left the book; nothing for a level pushed out of scope, which the subscriber
/// truncates), each with the CRC32 of the top 10 asks and bids (computed here, independently of the
/// ingestor's code). Prices keep their trailing zeros (`50000.10`), sent as JSON numbers as Kraken does.
///
/// Faults (`POST /control/kraken?fault=`): `checksum&symbol=&count=` (the next `count` book messages of
/// a pair carry a wrong checksum; `count=-1`: every one, a pair that keeps failing), `late_snapshot&seconds=`
/// (book snapshots are sent that much later; updates in between are not sent to that subscriber), `drop`.
/// `GET /kraken/book?symbol=&depth=` answers the venue's book at its latest update (`ts`) for comparisons.
public final class SimKraken: Sendable {
    static let priceScale = SimBook.priceScale
    static let qtyScale = SimBook.qtyScale
    typealias Book = SimBook
    typealias Side = SimBook.Side

    struct View: Sendable {
        var depth: Int
        var bids: [Int64: Int64] = [:]
        var asks: [Int64: Int64] = [:]
        /// A late snapshot: nothing is sent before this time (ns).
        var snapshotAt: Int64 = 0
        var sentSnapshot = false
    }

    struct Client: Sendable {
        var send: AsyncStream<String>.Continuation
        var trades: Set<String> = []
        var tickers: Set<String> = []
        var books: [String: View] = [:]
    }

    struct State: Sendable {
        var books: [String: Book] = [:]
        var clients: [Int: Client] = [:]
        var nextClient = 0
        /// Pair -> book messages still to corrupt (-1: all).
        var badChecksums: [String: Int] = [:]
        var snapshotDelay: Int64 = 0
        var candles = SimCandleBook()
    }

    let seed: UInt64
    let state = Mutex(State())

    init(seed: UInt64) {
        self.seed = seed
    }

    func connect() -> (id: Int, lines: AsyncStream<String>) {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(10_000))
        let id = state.withLock { state in
            state.nextClient += 1
            state.clients[state.nextClient] = Client(send: continuation)
            return state.nextClient
        }
        continuation.yield(#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":\#(id),"system":"online","version":"2.0.0"}]}"#)
        return (id, stream)
    }

    func disconnect(_ id: Int) {
        state.withLock { $0.clients.removeValue(forKey: id) }?.send.finish()
    }

    func heartbeat(_ id: Int) {
        let client = state.withLock { $0.clients[id] }
        guard let client, !client.trades.isEmpty || !client.tickers.isEmpty || !client.books.isEmpty else { return }
        client.send.yield(#"{"channel":"heartbeat"}"#)
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
        guard let request = try? JSONParser().parse(Array(text.utf8)), let method = request["method"]?.stringValue else {
            send(id, #"{"error":"Malformed request","success":false}"#)
            return
        }
        let reqID = request["req_id"]?.int64Value.map { #","req_id":\#($0)"# } ?? ""
        if method == "ping" {
            send(id, #"{"method":"pong"\#(reqID),"time_in":"\#(Timestamps.rfc3339(nanoseconds: now))","time_out":"\#(Timestamps.rfc3339(nanoseconds: now))"}"#)
            return
        }
        guard method == "subscribe" || method == "unsubscribe", let params = request["params"],
              let channel = params["channel"]?.stringValue, let symbols = params["symbol"]?.arrayValue?.compactMap(\.stringValue), !symbols.isEmpty else {
            send(id, #"{"error":"Invalid request","method":"\#(method.prefix(20))","success":false\#(reqID)}"#)
            return
        }
        let depth = Int(params["depth"]?.int64Value ?? 10)
        guard ["trade", "ticker", "book"].contains(channel), channel != "book" || [10, 25, 100, 500, 1000].contains(depth) else {
            send(id, #"{"error":"Subscription \#(channel.prefix(20)) depth not supported","method":"\#(method)","success":false\#(reqID)}"#)
            return
        }
        for symbol in symbols {
            let parts = symbol.split(separator: "/")
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isUppercase || $0.isNumber } }) else {
                send(id, #"{"error":"Currency pair not supported \#(symbol.prefix(20))","method":"\#(method)","success":false,"symbol":"\#(symbol.prefix(20))"\#(reqID)}"#)
                continue
            }
            // Sent under the lock: a market step between building the snapshot and sending it would send
            // the client an update of a book it does not have yet (its next checksum then fails).
            state.withLock { state in
                let lines: [String] = {
                    guard state.clients[id] != nil else { return [] }
                    if state.books[symbol] == nil { state.books[symbol] = makeBook(symbol, now: now) }
                    let depthText = channel == "book" ? #","depth":\#(depth)"# : ""
                    let ack = #"{"method":"\#(method)","result":{"channel":"\#(channel)"\#(depthText),"symbol":"\#(symbol)"},"success":true,"time_in":"\#(Timestamps.rfc3339(nanoseconds: now))","time_out":"\#(Timestamps.rfc3339(nanoseconds: now))"\#(reqID)}"#
                    switch (method, channel) {
                    case ("subscribe", "trade"): state.clients[id]!.trades.insert(symbol)
                    case ("subscribe", "ticker"): state.clients[id]!.tickers.insert(symbol)
                    case ("subscribe", "book"):
                        state.clients[id]!.books[symbol] = View(depth: depth, snapshotAt: now + state.snapshotDelay)
                        if state.snapshotDelay == 0 { return [ack] + snapshot(&state, client: id, symbol: symbol) }
                    case ("unsubscribe", "trade"): state.clients[id]!.trades.remove(symbol)
                    case ("unsubscribe", "ticker"): state.clients[id]!.tickers.remove(symbol)
                    default: state.clients[id]!.books[symbol] = nil
                    }
                    return [ack]
                }()
                if let send = state.clients[id]?.send { for line in lines { send.yield(line) } }
            }
        }
    }

    /// One market step: every pair ever subscribed changes its book (and may trade); subscribers get what
    /// their subscriptions ask for.
    func step(now: Int64) {
        state.withLock { state in
            // A pair once subscribed keeps moving and trading whether or not anyone listens (its OHLC history
            // then has the minutes a disconnected client missed).
            var out: [(AsyncStream<String>.Continuation, String)] = []
            for symbol in state.books.keys.sorted() {
                guard var book = state.books[symbol] else { continue }
                let change = book.step(now: now)
                state.books[symbol] = book
                if let made = change.trade {
                    state.candles.record(symbol: symbol, atNanoseconds: book.ts / 1_000 * 1_000, priceUnits: made.price, sizeUnits: made.qty)
                }
                let trade = change.trade.map { tradeMessage($0, symbol: symbol, ts: book.ts) }
                for id in state.clients.keys.sorted() {
                    let client = state.clients[id]!
                    if let trade, client.trades.contains(symbol) { out.append((client.send, trade)) }
                    if client.tickers.contains(symbol) { out.append((client.send, ticker(symbol, book))) }
                    guard let view = client.books[symbol] else { continue }
                    if !view.sentSnapshot {
                        if now >= view.snapshotAt { for line in snapshot(&state, client: id, symbol: symbol) { out.append((client.send, line)) } }
                        continue
                    }
                    if let line = update(&state, client: id, symbol: symbol) { out.append((client.send, line)) }
                }
            }
            // Under the lock, like a subscription's snapshot: each client's lines go out in book order.
            for (send, line) in out { send.yield(line) }
        }
    }

    public func fault(_ kind: String, symbol: String?, count: Int, seconds: Double) -> Int {
        switch kind {
        case "checksum":
            guard let symbol else { return 0 }
            state.withLock { $0.badChecksums[symbol] = count }
            return 1
        case "late_snapshot":
            state.withLock { $0.snapshotDelay = Int64(seconds * 1e9) }
            return 1
        case "drop":
            return drop()
        default:
            return 0
        }
    }

    /// The venue's book of `symbol` (top `depth` per side) and the time of its latest change.
    public func bookJSON(_ symbol: String, depth: Int) -> String? {
        state.withLock { state in
            guard let book = state.books[symbol] else { return nil }
            return #"{"symbol":"\#(symbol)","ts":\#(book.ts),"bids":\#(levels(book.top(.bid, depth), quoted: true)),"asks":\#(levels(book.top(.ask, depth), quoted: true))}"#
        }
    }

    // MARK: Book mechanics

    private func makeBook(_ symbol: String, now: Int64) -> Book {
        SimBook(venue: "kraken", symbol: symbol, seed: seed, now: now)
    }

    /// A trade in Kraken's form.
    private func tradeMessage(_ trade: SimBook.Trade, symbol: String, ts: Int64) -> String {
        #"{"channel":"trade","type":"update","data":[{"symbol":"\#(symbol)","side":"\#(trade.buy ? "buy" : "sell")","price":\#(text(trade.price, Self.priceScale)),"qty":\#(text(trade.qty, Self.qtyScale)),"ord_type":"market","trade_id":\#(trade.id),"timestamp":"\#(Timestamps.rfc3339(nanoseconds: ts / 1_000 * 1_000))"}]}"#
    }

    /// `GET /0/public/OHLC?pair=XBTUSD&interval=1&since=`: the pair's minutes after `since` among the last
    /// 720 (Kraken keeps no more), `[time, open, high, low, close, vwap, volume, count]` (vwap not computed:
    /// "0"), only minutes that traded, and `last`, the newest whole minute.
    public func ohlc(restPair: String, since: Int64, now: Int64) -> String? {
        state.withLock { state in
            guard let symbol = state.books.keys.first(where: { $0.split(separator: "/").map { $0 == "BTC" ? "XBT" : $0 == "DOGE" ? "XDG" : String($0) }.joined() == restPair }) else {
                return nil
            }
            let minute = now / 1_000_000_000 / 60 * 60
            let horizon = minute - 719 * 60
            let rows = state.candles.candles(symbol: symbol, granularity: 60, start: max(since + 1, horizon), end: minute).filter { $0.time > since }
            let body = rows.map { row in
                let c = row.candle
                return #"[\#(row.time),"\#(SimBook.price(c.open))","\#(SimBook.price(c.high))","\#(SimBook.price(c.low))","\#(SimBook.price(c.close))","0","\#(SimBook.qty(c.volume))",\#(c.ticks)]"#
            }.joined(separator: ",")
            return #"{"error":[],"result":{"\#(restPair)":[\#(body)],"last":\#(minute - 60)}}"#
        }
    }

    private func ticker(_ symbol: String, _ book: Book) -> String {
        let bid = book.top(.bid, 1).first, ask = book.top(.ask, 1).first
        return #"{"channel":"ticker","type":"update","data":[{"symbol":"\#(symbol)","bid":\#(bid.map { text($0.0, Self.priceScale) } ?? "null"),"bid_qty":\#(bid.map { text($0.1, Self.qtyScale) } ?? "null"),"ask":\#(ask.map { text($0.0, Self.priceScale) } ?? "null"),"ask_qty":\#(ask.map { text($0.1, Self.qtyScale) } ?? "null"),"last":\#(text(book.mid, Self.priceScale)),"timestamp":"\#(Timestamps.rfc3339(nanoseconds: book.ts))"}]}"#
    }

    private func snapshot(_ state: inout State, client id: Int, symbol: String) -> [String] {
        guard let book = state.books[symbol], var view = state.clients[id]?.books[symbol] else { return [] }
        let bids = book.top(.bid, view.depth), asks = book.top(.ask, view.depth)
        view.bids = Dictionary(uniqueKeysWithValues: bids)
        view.asks = Dictionary(uniqueKeysWithValues: asks)
        view.sentSnapshot = true
        state.clients[id]!.books[symbol] = view
        let checksum = checksum(book, corrupt: takeBadChecksum(&state, symbol))
        return [#"{"channel":"book","type":"snapshot","data":[{"symbol":"\#(symbol)","bids":\#(levels(bids)),"asks":\#(levels(asks)),"checksum":\#(checksum),"timestamp":"\#(Timestamps.rfc3339(nanoseconds: book.ts))"}]}"#]
    }

    /// The changed levels of the subscriber's top d since what it was sent, or nil when nothing changed.
    private func update(_ state: inout State, client id: Int, symbol: String) -> String? {
        guard let book = state.books[symbol], var view = state.clients[id]?.books[symbol] else { return nil }
        func diff(_ side: Side, old: [Int64: Int64], all: [Int64: Int64]) -> (changes: [(Int64, Int64)], now: [Int64: Int64]) {
            let top = book.top(side, view.depth)
            let now = Dictionary(uniqueKeysWithValues: top)
            var changes = top.filter { old[$0.0] != $0.1 }
            // A level that left the venue's book is deleted; one merely pushed out of scope is not sent.
            for (price, _) in old where now[price] == nil && all[price] == nil { changes.append((price, 0)) }
            return (changes.sorted { side == .bid ? $0.0 > $1.0 : $0.0 < $1.0 }, now)
        }
        let bids = diff(.bid, old: view.bids, all: book.bids), asks = diff(.ask, old: view.asks, all: book.asks)
        guard !bids.changes.isEmpty || !asks.changes.isEmpty else { return nil }
        view.bids = bids.now
        view.asks = asks.now
        state.clients[id]!.books[symbol] = view
        let checksum = checksum(book, corrupt: takeBadChecksum(&state, symbol))
        return #"{"channel":"book","type":"update","data":[{"symbol":"\#(symbol)","bids":\#(levels(bids.changes)),"asks":\#(levels(asks.changes)),"checksum":\#(checksum),"timestamp":"\#(Timestamps.rfc3339(nanoseconds: book.ts))"}]}"#
    }

    private func takeBadChecksum(_ state: inout State, _ symbol: String) -> Bool {
        guard let left = state.badChecksums[symbol], left != 0 else { return false }
        if left > 0 { state.badChecksums[symbol] = left - 1 }
        return true
    }

    /// Kraken's CRC32: top 10 asks ascending then top 10 bids descending, price then qty, '.' removed and
    /// leading zeros stripped.
    private func checksum(_ book: Book, corrupt: Bool) -> UInt32 {
        var joined = ""
        for (price, qty) in book.top(.ask, 10) + book.top(.bid, 10) {
            for value in [text(price, Self.priceScale), text(qty, Self.qtyScale)] {
                joined += String(value.filter { $0 != "." }.drop { $0 == "0" })
            }
        }
        let crc = CRC32.checksum(Array(joined.utf8))
        return corrupt ? crc ^ 0x5A5A_5A5A : crc
    }

    private func levels(_ levels: [(Int64, Int64)], quoted: Bool = false) -> String {
        let q = quoted ? "\"" : ""
        return "[" + levels.map { #"{"price":\#(q)\#(text($0.0, Self.priceScale))\#(q),"qty":\#(q)\#(text($0.1, Self.qtyScale))\#(q)}"# }.joined(separator: ",") + "]"
    }

    private func text(_ units: Int64, _ scale: Int) -> String { SimInstrument.decimal(units, scale: scale) }

    private func send(_ id: Int, _ line: String) {
        state.withLock { $0.clients[id]?.send }?.yield(line)
    }
}
