import FXCore
import Foundation
import Synchronization

/// IG's Lightstreamer server as the simulator plays it (TLCP 2.5.0 over a WebSocket): sessions outlive
/// their sockets, keep every data notification they sent, and a `bind_session` with `LS_recovery_from`
/// gets `PROG` and what followed, so a recovered client misses nothing. Items: `CHART:{epic}:TICK`
/// (`BID OFR LTP LTV TTV UTM`, quotes one unit either side of the walk) and `MARKET:{epic}`
/// (`MARKET_STATE UPDATE_TIME`, snapshot on subscribe), each update encoded against the item's previous
/// values (empty, `^N`, `#`, `$`, percent-encoding); `control` adds and deletes (`UNSUB`). A socket with
/// nothing to say sends `PROBE` every keepalive; a plain rebind (after `LOOP`) goes on from what the last
/// socket had. Faults: sockets dropped (sessions kept), silence (nothing sent, no `PROBE`; the data waits
/// for a recovery or the silence's end), sessions forgotten (recovery refused: `CONERR,4`), `OV`,
/// `END,48`, `END,35`, `LOOP`.
final class SimIGSessions: Sendable {
    struct Subscription {
        var id: Int
        var epics: [String]
        var market: Bool
    }

    final class Session: Sendable {
        struct State {
            /// Data notifications of this session, in order: notification n is `log[n - 1]`.
            var log: [String] = []
            /// How many of them went out on a socket (the rest wait for one: a `LOOP`'s rebind, a silence).
            var delivered = 0
            /// Notifications dropped from the front of the log (the log's first is notification trimmed + 1).
            var trimmed = 0
            var subscriptions: [Subscription] = []
            var socket: AsyncStream<String>.Continuation?
            var socketID = 0
            var silentUntil: Int64 = 0
            var lastSent: Int64
            var detachedAt: Int64?
            /// Each item's values as last sent ("subscription:item"), to encode the next update against.
            var values: [String: [String?]] = [:]

            /// Sends what the socket has not had yet.
            mutating func flush(now: Int64) {
                guard let socket, delivered < log.count else { return }
                for line in log[delivered...] { socket.yield(line) }
                delivered = log.count
                lastSent = now
            }
        }

        /// What one notification carries: a line as is, or an item's update, encoded against its last values.
        enum Note {
            case line(String)
            case update(subscription: Int, item: Int, values: [String?])
        }

        let id: String
        let state: Mutex<State>

        init(id: String, now: Int64) {
            self.id = id
            state = Mutex(State(lastSent: now))
        }

        /// Appends data notifications and sends them on the socket (unless silenced); with a subscription,
        /// adds it at the same time (so no update of it can come before its `SUBOK`). Updates are encoded
        /// in log order, so a recovery's replay decodes as the first sending did.
        func notify(_ notes: [Note], subscribing subscription: Subscription? = nil, now: Int64) {
            state.withLock { state in
                if let subscription {
                    state.subscriptions.removeAll { $0.id == subscription.id }
                    state.subscriptions.append(subscription)
                    state.values = state.values.filter { !$0.key.hasPrefix("\(subscription.id):") }
                }
                let lines = notes.map { note -> String in
                    switch note {
                    case .line(let line): return line
                    case .update(let id, let item, let values):
                        let key = "\(id):\(item)"
                        defer { state.values[key] = values }
                        return "U,\(id),\(item),\(SimIGSessions.encode(values, previous: state.values[key]))"
                    }
                }
                state.log += lines
                if state.silentUntil <= now, state.socket != nil { state.flush(now: now) }
            }
        }
    }

    static let keepalive: Int64 = 1_000_000_000
    /// A session without a socket this long is gone (a recovery then fails).
    static let sessionTimeout: Int64 = 60_000_000_000
    static let maxLog = 200_000

    private let sessions = Mutex<[String: Session]>([:])
    private let counters = Mutex((nextSession: 1, nextSocket: 1, nextToken: 1, refuseLogins: 0, tokens: Set<String>()))

    // MARK: REST login

    /// `POST /session`: tokens for a non-empty API key, user name and password (unless refusals are injected).
    func login(apiKey: String?, identifier: String?, password: String?) -> (cst: String, xst: String)? {
        counters.withLock { counters in
            guard apiKey?.isEmpty == false, identifier?.isEmpty == false, password?.isEmpty == false else { return nil }
            if counters.refuseLogins > 0 {
                counters.refuseLogins -= 1
                return nil
            }
            let n = counters.nextToken
            counters.nextToken += 1
            let tokens = (cst: "cst\(n)sim", xst: "xst\(n)sim")
            counters.tokens.insert("CST-\(tokens.cst)|XST-\(tokens.xst)")
            return tokens
        }
    }

    func refuseLogins(_ count: Int) { counters.withLock { $0.refuseLogins = count } }

    /// Whether a REST request's `CST` and `X-SECURITY-TOKEN` are a login's.
    func validTokens(cst: String?, xst: String?) -> Bool {
        guard let cst, let xst else { return false }
        return counters.withLock { $0.tokens.contains("CST-\(cst)|XST-\(xst)") }
    }

    // MARK: Sockets

    /// A new socket: its id and the stream of lines to write on it.
    func openSocket() -> (id: Int, lines: AsyncStream<String>, continuation: AsyncStream<String>.Continuation) {
        let id = counters.withLock { counters in
            defer { counters.nextSocket += 1 }
            return counters.nextSocket
        }
        let (lines, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(100_000))
        return (id, lines, continuation)
    }

    /// The socket ended: its session (if any) waits for a recovery.
    func closeSocket(_ socket: Int, now: Int64) {
        for session in sessions.withLock({ Array($0.values) }) {
            session.state.withLock { state in
                guard state.socketID == socket else { return }
                state.socket?.finish()
                state.socket = nil
                state.socketID = 0
                state.detachedAt = now
            }
        }
    }

    /// One client request (`wsok`, `create_session`, `bind_session`, `control`), answered on `continuation`
    /// (finished when the server closes the socket).
    func request(_ text: String, socket: Int, continuation: AsyncStream<String>.Continuation, knownEpic: (String) -> Bool,
                 marketOpen: (String) -> Bool, now: Int64) {
        let parts = text.split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts.first.map(String.init) ?? ""
        var parameters: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                parameters[String(kv[0])] = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            }
        }
        switch name {
        case "wsok":
            continuation.yield("WSOK")
        case "create_session":
            let password = parameters["LS_password"] ?? ""
            guard parameters["LS_user"]?.isEmpty == false, counters.withLock({ $0.tokens.contains(password) }) else {
                continuation.yield("CONERR,1,User/password check failed")
                continuation.finish()
                return
            }
            let id = counters.withLock { counters in
                defer { counters.nextSession += 1 }
                return "S\(counters.nextSession)sim"
            }
            let session = Session(id: id, now: now)
            sessions.withLock { $0[id] = session }
            continuation.yield("CONOK,\(id),50000,\(Self.keepalive / 1_000_000),*")
            continuation.yield("SERVNAME,fxsim Lightstreamer")
            attach(session, socket: socket, continuation: continuation, now: now)
        case "bind_session":
            let id = parameters["LS_session"] ?? ""
            guard let session = sessions.withLock({ $0[id] }) else {
                continuation.yield(parameters["LS_recovery_from"] == nil ? "CONERR,20,Session not found" : "CONERR,4,Recovery failed: session not found")
                continuation.finish()
                return
            }
            // A recovery resends from the client's count; a plain bind (after `LOOP`) goes on from what the
            // last socket had (nothing is lost either way).
            let recoverable: Bool = session.state.withLock { state in
                guard let from = parameters["LS_recovery_from"] else { return true }
                guard let n = Int(from), n >= state.trimmed, n <= state.trimmed + state.log.count else { return false }
                state.delivered = n - state.trimmed
                return true
            }
            guard recoverable else {
                continuation.yield("CONERR,4,Recovery failed")
                continuation.finish()
                return
            }
            continuation.yield("CONOK,\(id),50000,\(Self.keepalive / 1_000_000),*")
            if let from = parameters["LS_recovery_from"] { continuation.yield("PROG,\(from)") }
            attach(session, socket: socket, continuation: continuation, now: now)
        case "control":
            guard let session = session(of: socket), let subID = Int(parameters["LS_subId"] ?? "") else {
                continuation.yield("REQERR,\(parameters["LS_reqId"] ?? "0"),15,Unsupported request")
                return
            }
            if parameters["LS_op"] == "delete" {
                let removed = session.state.withLock { state in
                    defer { state.subscriptions.removeAll { $0.id == subID } }
                    return state.subscriptions.contains { $0.id == subID }
                }
                if removed { session.notify([.line("UNSUB,\(subID)")], now: now) }
                if parameters["LS_ack"] != "false" { continuation.yield(removed ? "REQOK,\(parameters["LS_reqId"] ?? "0")" : "REQERR,\(parameters["LS_reqId"] ?? "0"),19,Unknown subscription") }
                return
            }
            guard parameters["LS_op"] == "add" else {
                continuation.yield("REQERR,\(parameters["LS_reqId"] ?? "0"),15,Unsupported request")
                return
            }
            if parameters["LS_ack"] != "false" { continuation.yield("REQOK,\(parameters["LS_reqId"] ?? "0")") }
            let items = (parameters["LS_group"] ?? "").split(separator: " ").map(String.init)
            let fields = (parameters["LS_schema"] ?? "").split(separator: " ")
            let market = items.allSatisfy { $0.hasPrefix("MARKET:") }
            let epics = items.map { item in
                market ? String(item.dropFirst("MARKET:".count)) : String(item.dropFirst("CHART:".count).dropLast(":TICK".count))
            }
            guard !items.isEmpty, items.allSatisfy({ market || ($0.hasPrefix("CHART:") && $0.hasSuffix(":TICK")) }),
                  epics.allSatisfy(knownEpic) else {
                continuation.yield("REQERR,\(parameters["LS_reqId"] ?? "0"),19,Invalid item group")
                return
            }
            var notes: [Session.Note] = [.line("SUBOK,\(subID),\(items.count),\(fields.count)")]
            if market, parameters["LS_snapshot"] == "true" {
                for (index, epic) in epics.enumerated() {
                    notes.append(.update(subscription: subID, item: index + 1, values: [marketOpen(epic) ? "TRADEABLE" : "CLOSED", Self.clock(now)]))
                }
            }
            session.notify(notes, subscribing: Subscription(id: subID, epics: epics, market: market), now: now)
        default:
            continuation.yield("REQERR,0,15,Unsupported request \(name.prefix(20))")
        }
    }

    /// The session goes on on this socket: what it has not delivered yet goes out first.
    private func attach(_ session: Session, socket: Int, continuation: AsyncStream<String>.Continuation, now: Int64) {
        session.state.withLock { state in
            if state.socketID != socket { state.socket?.finish() }
            state.socket = continuation
            state.socketID = socket
            state.detachedAt = nil
            state.lastSent = now
            state.flush(now: now)
        }
    }

    private func session(of socket: Int) -> Session? {
        sessions.withLock { $0.values.first { session in session.state.withLock { $0.socketID == socket } } }
    }

    // MARK: Market data

    /// A quote of `epic` to every session subscribed to its ticks.
    func quote(epic: String, bid: String, ask: String, now: Int64) {
        for session in sessions.withLock({ Array($0.values) }) {
            let notes = session.state.withLock { state in
                state.subscriptions.filter { !$0.market }.compactMap { subscription in
                    subscription.epics.firstIndex(of: epic).map {
                        Session.Note.update(subscription: subscription.id, item: $0 + 1, values: [bid, ask, nil, nil, nil, String(now / 1_000_000)])
                    }
                }
            }
            session.notify(notes, now: now)
        }
    }

    /// `MARKET_STATE` of `epic` to every session subscribed to it.
    func marketState(epic: String, open: Bool, now: Int64) {
        for session in sessions.withLock({ Array($0.values) }) {
            let notes = session.state.withLock { state in
                state.subscriptions.filter(\.market).compactMap { subscription in
                    subscription.epics.firstIndex(of: epic).map {
                        Session.Note.update(subscription: subscription.id, item: $0 + 1, values: [open ? "TRADEABLE" : "CLOSED", Self.clock(now)])
                    }
                }
            }
            session.notify(notes, now: now)
        }
    }

    /// Every step: `PROBE` on sockets idle for the keepalive; sessions without a socket for too long end;
    /// logs are bounded (the oldest notifications can then no longer be recovered).
    func tick(now: Int64) {
        let expired = sessions.withLock { sessions -> [String] in
            sessions.values.compactMap { session in
                session.state.withLock { state -> String? in
                    if state.log.count > Self.maxLog {
                        // The oldest can no longer be recovered (a recovery from before them is refused).
                        let dropped = state.log.count - Self.maxLog
                        state.log.removeFirst(dropped)
                        state.delivered = max(0, state.delivered - dropped)
                        state.trimmed += dropped
                    }
                    if state.silentUntil <= now, state.socket != nil { state.flush(now: now) }
                    if let detached = state.detachedAt { return now - detached > Self.sessionTimeout ? session.id : nil }
                    if state.silentUntil <= now, now - state.lastSent >= Self.keepalive, let socket = state.socket {
                        socket.yield("PROBE")
                        state.lastSent = now
                    }
                    return nil
                }
            }
        }
        sessions.withLock { sessions in for id in expired { sessions[id] = nil } }
    }

    // MARK: Faults

    /// Closes every socket (sessions kept, so each can be recovered); with `forget`, the sessions end too.
    func dropSockets(forget: Bool) -> Int {
        let all = sessions.withLock { sessions -> [Session] in
            defer { if forget { sessions = [:] } }
            return Array(sessions.values)
        }
        var dropped = 0
        for session in all {
            session.state.withLock { state in
                guard let socket = state.socket else { return }
                socket.finish()
                state.socket = nil
                state.socketID = 0
                state.detachedAt = WallClock.nanoseconds()
                dropped += 1
            }
        }
        return dropped
    }

    /// Nothing is sent (no data, no `PROBE`) for a while; data is still logged for a recovery.
    func silence(seconds: Double, now: Int64) -> Int {
        let all = sessions.withLock { Array($0.values) }
        for session in all { session.state.withLock { $0.silentUntil = now + Int64(seconds * 1_000_000_000) } }
        return all.count
    }

    /// A server-side line to every socket: `ov` (`OV`: the server says it dropped 3 updates of the first
    /// epic), `end48` (`END,48`: session over, socket closed, session gone), `end35` (`END,35`: another
    /// session of the user took over), `loop` (`LOOP`: rebind), or a raw line.
    func inject(_ fault: String, now: Int64) -> Int {
        let all = sessions.withLock { Array($0.values) }
        var count = 0
        for session in all {
            let socket = session.state.withLock { $0.socket }
            guard let socket else { continue }
            count += 1
            switch fault {
            case "ov":
                if let ticks = session.state.withLock({ $0.subscriptions.first { !$0.market } }) { session.notify([.line("OV,\(ticks.id),1,3")], now: now) }
            case "end48", "end35":
                socket.yield(fault == "end48" ? "END,48,Maximum session duration reached" : "END,35,Another session of this user was opened")
                socket.finish()
                sessions.withLock { $0[session.id] = nil }
            case "loop":
                socket.yield("LOOP,0")
                socket.finish()
            default:
                socket.yield(fault)
            }
        }
        return count
    }

    /// TLCP's update encoding against the item's previous values (none: the first update after `SUBOK`):
    /// an unchanged field is empty, a run of unchanged fields `^N`, null `#`, the empty string `$`; a value
    /// is percent-encoded where it would be ambiguous (`|`, `%`, CR, LF anywhere; a leading `#`, `$`, `^`).
    static func encode(_ values: [String?], previous: [String?]?) -> String {
        var tokens: [String] = []
        var unchanged = 0
        func flush() {
            if unchanged == 1 { tokens.append("") } else if unchanged > 1 { tokens.append("^\(unchanged)") }
            unchanged = 0
        }
        for (index, value) in values.enumerated() {
            if let previous, index < previous.count, previous[index] == value {
                unchanged += 1
                continue
            }
            flush()
            switch value {
            case nil: tokens.append("#")
            case ""?: tokens.append("$")
            case let text?: tokens.append(percentEncoded(text))
            }
        }
        flush()
        return tokens.joined(separator: "|")
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for (offset, byte) in text.utf8.enumerated() {
            let special = byte == UInt8(ascii: "|") || byte == UInt8(ascii: "%") || byte == 0x0D || byte == 0x0A
                || (offset == 0 && (byte == UInt8(ascii: "#") || byte == UInt8(ascii: "$") || byte == UInt8(ascii: "^")))
            if special || byte >= 0x80 {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out
    }

    private static func clock(_ now: Int64) -> String {
        let seconds = (now / 1_000_000_000) % 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(seconds / 3_600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }
}
