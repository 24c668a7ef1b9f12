import FXCore
import Synchronization

/// The simulated exchanges: instruments that random-walk on a fixed step, the clients subscribed to
/// them, the candle book behind the REST endpoints, and the faults injected on command.
public final class SimMarket: Sendable {
    struct State {
        var instruments: [String: SimInstrument] = [:]
        var candles = SimCandleBook()
        var clients: [Int: SimClient] = [:]
        var nextClientID = 0
        /// Instrument key -> messages still to skip (sequence numbers consumed, nothing sent).
        var skip: [String: Int] = [:]
        /// Venue -> (REST answers still to refuse with 429, Retry-After seconds).
        var rateLimit: [SimInstrument.Venue: (count: Int, retryAfter: Int)] = [:]
        var lastHeartbeat: Int64 = 0
        var messagesSent = 0
        var restRequests = 0
        /// Venue -> second (epoch) -> REST candle requests received, 429s included (the last hour).
        var restPerSecond: [SimInstrument.Venue: [Int64: Int]] = [:]
        /// Venues whose REST history answers 403 "no access" (a plan without it).
        var historyRefused: Set<SimInstrument.Venue> = []
        /// Venue -> REST answers still to send malformed.
        var restMalformed: [SimInstrument.Venue: Int] = [:]
        /// Instrument keys whose market is closed: no prices, heartbeats go on.
        var closed: Set<String> = []
        var lastOandaHeartbeat: Int64 = 0
        /// OANDA stream requests still to refuse with 401 (an expired token).
        var oandaExpired = 0
    }

    let configuration: SimConfiguration
    let state = Mutex(State())
    /// IG's Lightstreamer sessions (they outlive their sockets).
    let ig = SimIGSessions()
    public let kraken: SimKraken
    public let binance: SimBinance
    public let coinbaseBooks: SimCoinbaseBooks

    public init(configuration: SimConfiguration) {
        kraken = SimKraken(seed: configuration.seed)
        binance = SimBinance(seed: configuration.seed)
        coinbaseBooks = SimCoinbaseBooks(seed: configuration.seed)
        self.configuration = configuration
        state.withLock { state in
            for product in configuration.coinbaseProducts { state.instruments[Self.key(.coinbase, product)] = SimInstrument(venue: .coinbase, symbol: product, seed: configuration.seed) }
            for symbol in configuration.finnhubSymbols { state.instruments[Self.key(.finnhub, symbol)] = SimInstrument(venue: .finnhub, symbol: symbol, seed: configuration.seed) }
            for symbol in configuration.oandaInstruments { state.instruments[Self.key(.oanda, symbol)] = SimInstrument(venue: .oanda, symbol: symbol, seed: configuration.seed) }
            for epic in configuration.igEpics { state.instruments[Self.key(.ig, epic)] = SimInstrument(venue: .ig, symbol: epic, seed: configuration.seed) }
            guard configuration.historyMinutes > 0 else { return }
            let now = WallClock.nanoseconds() / 1_000_000_000 * 1_000_000_000
            for key in state.instruments.keys.sorted() {
                guard var instrument = state.instruments[key] else { continue }
                var time = now - Int64(configuration.historyMinutes) * 60_000_000_000
                while time < now {
                    if let trade = instrument.step(tradeProbability: 1) {
                        state.candles.record(symbol: key, atNanoseconds: time, priceUnits: trade.priceUnits, sizeUnits: trade.sizeUnits)
                    }
                    time += 10_000_000_000
                }
                state.instruments[key] = instrument
            }
        }
    }

    static func key(_ venue: SimInstrument.Venue, _ symbol: String) -> String { venue.rawValue + ":" + symbol }

    // MARK: Clients

    func connect(_ venue: SimInstrument.Venue, now: Int64) -> SimClient {
        state.withLock { state in
            let client = SimClient(id: state.nextClientID, venue: venue, bufferLimit: configuration.clientBuffer, now: now)
            state.nextClientID += 1
            state.clients[client.id] = client
            return client
        }
    }

    func disconnect(_ client: SimClient) {
        _ = state.withLock { $0.clients.removeValue(forKey: client.id) }
        client.close()
    }

    /// Adds `symbol` to the client's subscriptions, creating the instrument on first use.
    func subscribe(_ client: SimClient, symbol: String) {
        state.withLock { state in
            let key = Self.key(client.venue, symbol)
            if state.instruments[key] == nil {
                state.instruments[key] = SimInstrument(venue: client.venue, symbol: symbol, seed: configuration.seed)
            }
        }
        client.state.withLock { clientState in
            if clientState.subscribedSet.insert(symbol).inserted { clientState.symbols.append(symbol) }
        }
    }

    func instrument(_ venue: SimInstrument.Venue, _ symbol: String) -> SimInstrument? {
        state.withLock { $0.instruments[Self.key(venue, symbol)] }
    }

    func clients(of venue: SimInstrument.Venue?) -> [SimClient] {
        state.withLock { state in state.clients.values.filter { venue == nil || $0.venue == venue } }
    }

    // MARK: The market step

    /// One step at `now` (ns): trades, tickers, heartbeats, Finnhub pings; messages sent outside the lock.
    func step(now: Int64) {
        var outgoing: [(SimClient, SimClient.Outgoing)] = []
        var igQuotes: [(epic: String, bid: String, ask: String)] = []
        state.withLock { state in
            let clients = Array(state.clients.values)
            let heartbeatDue = now - state.lastHeartbeat >= configuration.heartbeatInterval.nanoseconds
            if heartbeatDue { state.lastHeartbeat = now }
            let oandaHeartbeatDue = now - state.lastOandaHeartbeat >= configuration.oandaHeartbeatInterval.nanoseconds
            if oandaHeartbeatDue { state.lastOandaHeartbeat = now }
            var finnhubBatches: [Int: [String]] = [:]
            for key in state.instruments.keys.sorted() {
                guard var instrument = state.instruments[key] else { continue }
                // A closed market does not move.
                let trade = state.closed.contains(key) ? nil : instrument.step(tradeProbability: configuration.tradeProbability)
                let subscribers = clients.filter { $0.venue == instrument.venue && $0.isSubscribed(instrument.symbol) }
                var messages: [String] = []
                switch instrument.venue {
                case .coinbase:
                    let time = now / 1_000 * 1_000  // Coinbase times carry microseconds
                    if let trade {
                        state.candles.record(symbol: key, atNanoseconds: time, priceUnits: trade.priceUnits, sizeUnits: trade.sizeUnits)
                        let sequence = instrument.nextSequence()
                        instrument.recordLast(trade, sequence: sequence, time: time)
                        messages.append(CoinbaseSimProtocol.match(instrument, trade, sequence: sequence, time: time))
                        messages.append(CoinbaseSimProtocol.ticker(instrument, trade, sequence: instrument.nextSequence(), time: time))
                    }
                    if heartbeatDue {
                        messages.append(CoinbaseSimProtocol.heartbeat(instrument, sequence: instrument.nextSequence(), time: time))
                    }
                case .oanda:
                    if let trade {
                        state.candles.record(symbol: key, atNanoseconds: now, priceUnits: trade.priceUnits, sizeUnits: 0)
                        messages.append(OandaSimProtocol.price(instrument, time: now))
                    }
                case .ig:
                    // Every IG session subscribed gets it (the stream's times are milliseconds).
                    if let trade {
                        state.candles.record(symbol: key, atNanoseconds: now / 1_000_000 * 1_000_000, priceUnits: trade.priceUnits, sizeUnits: 0)
                        let (bid, ask) = instrument.quote()
                        igQuotes.append((instrument.symbol, bid, ask))
                    }
                case .finnhub:
                    let time = now / 1_000_000 * 1_000_000  // Finnhub times are milliseconds
                    if let trade {
                        state.candles.record(symbol: key, atNanoseconds: time, priceUnits: trade.priceUnits, sizeUnits: trade.sizeUnits)
                        let item = FinnhubSimProtocol.tradeItem(instrument, trade, time: time)
                        if state.skip[key, default: 0] > 0 {
                            state.skip[key]! -= 1
                        } else {
                            for client in subscribers { finnhubBatches[client.id, default: []].append(item) }
                        }
                    }
                }
                for message in messages {
                    if state.skip[key, default: 0] > 0 {
                        state.skip[key]! -= 1
                        continue
                    }
                    for client in subscribers { outgoing.append((client, .text(message))) }
                }
                state.instruments[key] = instrument
            }
            for (id, items) in finnhubBatches {
                guard let client = state.clients[id] else { continue }
                outgoing.append((client, .text(FinnhubSimProtocol.tradeMessage(items))))
            }
            let pingIdle = configuration.finnhubPingIdle.nanoseconds
            for client in clients where client.venue == .finnhub && finnhubBatches[client.id] == nil {
                if now - client.state.withLock({ $0.lastSentAt }) >= pingIdle { outgoing.append((client, .text(#"{"type":"ping"}"#))) }
            }
            if oandaHeartbeatDue {
                for client in clients where client.venue == .oanda { outgoing.append((client, .text(OandaSimProtocol.heartbeat(time: now)))) }
            }
            state.messagesSent += outgoing.count
        }
        for (client, message) in outgoing { client.send(message, now: now) }
        for quote in igQuotes { ig.quote(epic: quote.epic, bid: quote.bid, ask: quote.ask, now: now / 1_000_000 * 1_000_000) }
        ig.tick(now: now)
    }

    /// Whether `epic` is an IG instrument here (created on first subscription, as for the other venues).
    func knownIGEpic(_ epic: String) -> Bool {
        guard !epic.isEmpty, epic.utf8.count <= 64 else { return false }
        state.withLock { state in
            let key = Self.key(.ig, epic)
            if state.instruments[key] == nil { state.instruments[key] = SimInstrument(venue: .ig, symbol: epic, seed: configuration.seed) }
        }
        return true
    }

    func igMarketOpen(_ epic: String) -> Bool {
        state.withLock { !$0.closed.contains(Self.key(.ig, epic)) }
    }

    /// An OANDA pricing stream opens: `nil` when its token is refused (no token, or an expiry injected),
    /// else the client, subscribed, with one price per instrument queued (the snapshot).
    func openOandaStream(token: String?, instruments: [String], now: Int64) -> SimClient? {
        let refused = state.withLock { state -> Bool in
            guard let token, !token.isEmpty else { return true }
            if state.oandaExpired > 0 {
                state.oandaExpired -= 1
                return true
            }
            return false
        }
        guard !refused else { return nil }
        let client = connect(.oanda, now: now)
        for symbol in instruments { subscribe(client, symbol: symbol) }
        for symbol in instruments {
            guard let instrument = instrument(.oanda, symbol) else { continue }
            let open = state.withLock { !$0.closed.contains(Self.key(.oanda, symbol)) }
            client.send(.text(OandaSimProtocol.price(instrument, time: now, tradeable: open)), now: now)
        }
        return client
    }

    // MARK: Faults

    /// Closes (or reopens) `symbol`'s market on `venue`: while closed it does not move and OANDA streams
    /// say `tradeable: false` once, then only heartbeats.
    public func setMarket(venue: String, symbol: String, open: Bool, now: Int64) throws(SimError) {
        guard let parsed = SimInstrument.Venue(rawValue: venue) else { throw SimError("unknown venue '\(venue)'") }
        let key = Self.key(parsed, symbol)
        let instrument = state.withLock { state -> SimInstrument? in
            if open { state.closed.remove(key) } else { state.closed.insert(key) }
            return state.instruments[key]
        }
        if parsed == .ig {
            ig.marketState(epic: symbol, open: open, now: now)
            return
        }
        guard !open, parsed == .oanda, let instrument else { return }
        for client in clients(of: .oanda) where client.isSubscribed(symbol) {
            client.send(.text(OandaSimProtocol.price(instrument, time: now, tradeable: false)), now: now)
        }
    }

    /// The next `count` OANDA stream requests answer 401, as with an expired or revoked token.
    public func expireOandaToken(count: Int) {
        state.withLock { $0.oandaExpired = count }
    }

    /// An IG session fault: `drop` (sockets closed, sessions kept for recovery), `forget` (sockets closed,
    /// sessions gone: a recovery is refused), `ov`, `end48`, `end35`, `loop` (see ``SimIGSessions/inject(_:now:)``),
    /// `refuse-login` (the next `count` logins answer 401). Returns the sockets (or logins) affected.
    public func igFault(_ fault: String, count: Int = 1) throws(SimError) -> Int {
        switch fault {
        case "drop": return ig.dropSockets(forget: false)
        case "forget": return ig.dropSockets(forget: true)
        case "refuse-login":
            ig.refuseLogins(count)
            return count
        case "ov", "end48", "end35", "loop": return ig.inject(fault, now: WallClock.nanoseconds())
        default: throw SimError("fault is one of drop, forget, ov, end48, end35, loop, refuse-login; not '\(fault.prefix(20))'")
        }
    }

    /// Closes every connection of `venue` (nil = all).
    public func dropConnections(_ venue: String?) -> Int {
        let targets = clients(of: venue.flatMap(SimInstrument.Venue.init(rawValue:)))
        for client in targets { disconnect(client) }
        let sockets = venue == nil || venue == "ig" ? ig.dropSockets(forget: false) : 0
        return targets.count + sockets
    }

    /// Stops sending anything (data, heartbeats, pings) to `venue`'s clients for `seconds`, TCP kept open.
    public func silence(_ venue: String?, seconds: Double, now: Int64) -> Int {
        let targets = clients(of: venue.flatMap(SimInstrument.Venue.init(rawValue:)))
        let until = now + Int64(seconds * 1_000_000_000)
        for client in targets { client.state.withLock { $0.silentUntil = until } }
        let sessions = venue == nil || venue == "ig" ? ig.silence(seconds: seconds, now: now) : 0
        return targets.count + sessions
    }

    /// The next `count` messages of `symbol` are not sent to anyone (their sequence numbers are used up).
    public func skip(venue: String, symbol: String, count: Int) {
        state.withLock { $0.skip[venue + ":" + symbol, default: 0] += count }
    }

    /// Sends one malformed frame of `kind` to every client of `venue`.
    public func sendMalformed(_ venue: String?, kind: String, size: Int, now: Int64) throws(SimError) -> Int {
        if venue == "ig" {
            guard case .text(let line) = try SimFaults.malformed(kind: kind, venue: .ig, symbol: "CS.D.EURUSD.CFD.IP", size: size, now: now) else {
                throw SimError("'\(kind)' has no IG form")
            }
            return ig.inject(line, now: now)
        }
        let targets = clients(of: venue.flatMap(SimInstrument.Venue.init(rawValue:)))
        for client in targets {
            let symbol = client.state.withLock { $0.symbols.first } ?? "BTC-USD"
            client.send(try SimFaults.malformed(kind: kind, venue: client.venue, symbol: symbol, size: size, now: now), now: now, force: true)
        }
        return targets.count
    }

    public func rateLimit(venue: String, count: Int, retryAfter: Int) throws(SimError) {
        guard let parsed = SimInstrument.Venue(rawValue: venue) else { throw SimError("unknown venue '\(venue)'") }
        state.withLock { $0.rateLimit[parsed] = (count, retryAfter) }
    }

    /// What the simulator answers one REST history request with, before reading it.
    enum RESTAdmission: Equatable {
        case serve
        /// An injected 429: the Retry-After seconds.
        case rateLimited(Int)
        case noAccess
        case malformed
    }

    /// Counts one REST history request (per venue and second) and consumes an injected 429, if any.
    func admitREST(_ venue: SimInstrument.Venue, now: Int64) -> RESTAdmission {
        state.withLock { state in
            state.restRequests += 1
            let second = now / 1_000_000_000
            var seconds = state.restPerSecond[venue, default: [:]]
            seconds[second, default: 0] += 1
            if seconds.count > 3_600 { seconds = seconds.filter { $0.key > second - 3_600 } }
            state.restPerSecond[venue] = seconds
            if let limit = state.rateLimit[venue], limit.count > 0 {
                state.rateLimit[venue] = (limit.count - 1, limit.retryAfter)
                return .rateLimited(limit.retryAfter)
            }
            if let count = state.restMalformed[venue], count > 0 {
                state.restMalformed[venue] = count - 1
                return .malformed
            }
            return state.historyRefused.contains(venue) ? .noAccess : .serve
        }
    }

    /// The next `count` REST history answers of `venue` are malformed (a row with a non-numeric price).
    public func malformHistory(venue: String, count: Int) throws(SimError) {
        guard let parsed = SimInstrument.Venue(rawValue: venue) else { throw SimError("unknown venue '\(venue)'") }
        state.withLock { $0.restMalformed[parsed] = count }
    }

    /// REST history requests of `venue` per second (epoch seconds), for tests that check a rate limit.
    public func restRequestsPerSecond(_ venue: String) -> [Int64: Int] {
        guard let parsed = SimInstrument.Venue(rawValue: venue) else { return [:] }
        return state.withLock { $0.restPerSecond[parsed] ?? [:] }
    }

    /// Makes `venue`'s REST history answer 403 "no access" (or serve again).
    public func refuseHistory(venue: String, refused: Bool) throws(SimError) {
        guard let parsed = SimInstrument.Venue(rawValue: venue) else { throw SimError("unknown venue '\(venue)'") }
        state.withLock { state in
            if refused { state.historyRefused.insert(parsed) } else { state.historyRefused.remove(parsed) }
        }
    }

    func candles(_ venue: SimInstrument.Venue, symbol: String, granularity: Int64, start: Int64, end: Int64)
        -> (instrument: SimInstrument?, rows: [(time: Int64, candle: SimCandleBook.Candle)]) {
        state.withLock { state in
            let key = Self.key(venue, symbol)
            return (state.instruments[key], state.candles.candles(symbol: key, granularity: granularity, start: start, end: end))
        }
    }

    public var stats: [String: Int] {
        state.withLock { ["clients": $0.clients.count, "instruments": $0.instruments.count,
                          "messages_sent": $0.messagesSent, "rest_requests": $0.restRequests] }
    }
}

public struct SimError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
