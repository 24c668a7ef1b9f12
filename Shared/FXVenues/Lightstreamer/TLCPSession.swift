/// A Lightstreamer session (TLCP 2.5.0 over a WebSocket) as a value type: socket events and server
/// lines in, ``Action``s out; the caller owns the socket, the clock and the timers. It follows what the
/// official clients do:
/// - **Opening.** On a fresh socket: `wsok`, then `create_session` (asking for a 5 s keepalive; or `bind_session` with
///   `LS_recovery_from` when a session is being recovered). `CONOK` starts it; every subscription is
///   then added (`control`, `LS_op=add`), and per-item state starts again on each `SUBOK`.
/// - **Counting.** Data notifications (`U`, `SUBOK`, `SUBCMD`, `UNSUB`, `EOS`, `CS`, `OV`, `CONF`,
///   `MSGDONE`, `MSGFAIL`) are counted; after a recovery bind, `PROG,<n>` says the server restarts at
///   count n, and the next (count - n) notifications, already seen, are skipped. A `PROG` ahead of the
///   count cannot be reconciled: a new session.
/// - **Losses.** A dropped socket or a stall (no data and no `PROBE` for the keepalive + 2 s) is
///   recovered on a new socket; a refused recovery (`CONERR,4`) or any new session after one was
///   streaming is reported as ``Action/sessionReplaced(reason:)``, and `OV` as ``Action/lost(subscription:item:count:)``:
///   both are gaps.
/// - **Errors.** `CONERR` 5 retries at once (then after the retry delay); 4, 6, 20, 40, 41, 48 retry with a new session after the
///   retry delay; any other code (1: bad credentials, 60: version not allowed, ...) is
///   ``Action/fatal(code:message:)``. `END` 41 and 48 (takeover, maximum duration) open a new session at
///   once; `END,35` (another session of this user) is fatal; other `END`s retry with a new session.
///   `LOOP` rebinds the same session on a new socket.
public struct TLCPSession: Sendable {
    public struct Subscription: Sendable, Equatable {
        public var id: Int
        /// `MERGE` or `DISTINCT`.
        public var mode: String
        public var items: [String]
        public var fields: [String]
        public var snapshot: Bool

        public init(id: Int, mode: String, items: [String], fields: [String], snapshot: Bool) {
            self.id = id
            self.mode = mode
            self.items = items
            self.fields = fields
            self.snapshot = snapshot
        }
    }

    public enum Action: Sendable, Equatable {
        /// Write this text message on the socket.
        case send(String)
        /// Close the socket (if open) and open a new one after `delay`, then call ``opened()``.
        case reconnect(delay: Duration, reason: String)
        /// An item's values after an update (all fields, nil = null).
        case update(subscription: Int, item: Int, values: [String?])
        /// The server dropped `count` updates of an item (`OV`).
        case lost(subscription: Int, item: Int, count: Int)
        /// The streaming session ended and a new one starts: whatever the server sent in between is lost.
        case sessionReplaced(reason: String)
        /// The same session goes on on the new socket (a recovery, where the server resends what it sent
        /// since, or a `LOOP` rebind): nothing is lost.
        case recovered
        /// A subscription was refused (`REQERR`) or an update could not be read.
        case problem(String)
        /// The server refuses this client for good (bad credentials, version, ...): stop and say so.
        case fatal(code: Int, message: String)
    }

    enum Phase: Sendable, Equatable {
        /// No socket yet, or waiting to reconnect; `session` is one to recover, if any.
        case closed
        case creating
        /// Binding the session on a new socket: a recovery, or a `LOOP`'s rebind.
        case binding
        case streaming
    }

    public static let clientID = "mgQkwtwdysogQz2BJ4Ji kOj2Bg"
    public static let subprotocol = "TLCP-2.5.0.lightstreamer.com"
    public static let retryDelay = Duration.seconds(4)
    /// The keepalive asked for in `create_session` (the server's `CONOK` says what it grants).
    public static let requestedKeepalive = Duration.seconds(5)
    public static let stalledAfter = Duration.seconds(2)
    /// Recovery binds tried in a row before a new session is created instead.
    public static let recoveryAttempts = 3

    public private(set) var user: String
    public private(set) var password: String
    public let adapterSet: String?
    public let subscriptions: [Subscription]
    private(set) var phase: Phase = .closed
    /// The session to recover or rebind (nil: create a new one).
    public private(set) var sessionID: String?
    /// Data notifications received in this session.
    public private(set) var count = 0
    private var skip = 0
    /// The keepalive the server promised in `CONOK`.
    public private(set) var keepalive: Duration = .seconds(5)
    private var rebinding = false
    private var streamedBefore = false
    private var states: [Int: TLCPItemState] = [:]
    private var nextRequest = 1
    /// Socket failures and busy answers in a row (reset by a `CONOK`).
    private var failures = 0

    public init(user: String, password: String, adapterSet: String?, subscriptions: [Subscription]) {
        self.user = user
        self.password = password
        self.adapterSet = adapterSet
        self.subscriptions = subscriptions
        for subscription in subscriptions { states[subscription.id] = TLCPItemState(fieldCount: subscription.fields.count) }
    }

    /// How long the stream may be silent (no data, no `PROBE`) before it counts as stalled.
    public var stallLimit: Duration { keepalive + Self.stalledAfter }

    /// Whether the next socket creates a new session (and so needs a fresh login first) rather than
    /// binding the current one.
    public var needsNewSession: Bool { sessionID == nil }

    /// New credentials (a fresh login's tokens) for the next session; the current one, if any, is given up.
    public mutating func renew(user: String, password: String) {
        self.user = user
        self.password = password
        sessionID = nil
        phase = .closed
    }

    /// A new socket is open: the handshake and the session request.
    public mutating func opened() -> [Action] {
        var parameters: [(String, String)]
        if let sessionID {
            phase = .binding
            parameters = [("LS_session", sessionID), ("LS_send_sync", "false")]
            if !rebinding { parameters.append(("LS_recovery_from", String(count))) }
            rebinding = false
            return [.send("wsok"), .send(Self.request("bind_session", parameters))]
        }
        phase = .creating
        parameters = []
        if let adapterSet { parameters.append(("LS_adapter_set", adapterSet)) }
        parameters += [("LS_user", user), ("LS_cid", Self.clientID), ("LS_send_sync", "false"),
                       ("LS_keepalive_millis", String(Self.requestedKeepalive.components.seconds * 1_000)), ("LS_password", password)]
        return [.send("wsok"), .send(Self.request("create_session", parameters))]
    }

    /// The socket closed or failed, could not be opened, or the caller found it stalled: the session is
    /// recovered on a new socket (at once, then after a pause), and after ``recoveryAttempts`` failures in a
    /// row it is given up for a new one after the retry delay, so an unreachable server is never hammered.
    public mutating func socketLost(_ reason: String) -> [Action] {
        phase = .closed
        failures += 1
        if sessionID != nil, failures <= Self.recoveryAttempts {
            return [.reconnect(delay: failures == 1 ? .zero : Self.retryDelay / 4, reason: "recovering the session: \(reason)")]
        }
        sessionID = nil
        return [.reconnect(delay: Self.retryDelay, reason: reason)]
    }

    /// One line the server sent (without its CRLF).
    public mutating func received(_ line: Substring) -> [Action] {
        let parts = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
        let tag = parts.first ?? ""
        func int(_ index: Int) -> Int? { index < parts.count ? Int(parts[index]) : nil }
        func text(_ index: Int) -> String { index < parts.count ? String(parts[index...].joined(separator: ",")) : "" }
        switch tag {
        case "WSOK", "PROBE", "NOOP", "SYNC", "SERVNAME", "CLIENTIP", "CONS", "REQOK":
            return []
        case "CONOK":
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            return conok(id: fields.count > 1 ? String(fields[1]) : "", keepalive: fields.count > 3 ? Int(fields[3]) : nil)
        case "CONERR", "ERROR":
            return conerr(code: int(1) ?? 0, message: text(2))
        case "END":
            return end(code: int(1) ?? 0, message: text(2))
        case "LOOP":
            rebinding = true
            phase = .closed
            return [.reconnect(delay: .zero, reason: "LOOP: rebinding the session")]
        case "PROG":
            guard let progress = int(1), progress >= 0 else { return [.problem("PROG without a count")] }
            if progress > count { return newSession("PROG,\(progress) is ahead of the \(count) notifications received") }
            skip = count - progress
            count = progress
            return []
        case "REQERR":
            return [.problem("request \(int(1).map(String.init) ?? "?") refused: \(int(2).map(String.init) ?? "?") \(text(3))")]
        case "U", "SUBOK", "SUBCMD", "UNSUB", "EOS", "CS", "OV", "CONF", "MSGDONE", "MSGFAIL":
            count += 1
            if skip > 0 {
                skip -= 1
                return []
            }
            return data(tag, parts)
        default:
            return [.problem("unknown notification '\(tag.prefix(16))'")]
        }
    }

    private mutating func conok(id: String, keepalive milliseconds: Int?) -> [Action] {
        if let milliseconds, milliseconds > 0 { keepalive = .milliseconds(milliseconds) }
        failures = 0
        // A bind (recovery or LOOP) continues the same session: nothing to subscribe, nothing lost.
        let continued = phase != .creating && sessionID == id
        sessionID = id
        phase = .streaming
        if continued { return [.recovered] }
        count = 0
        skip = 0
        var actions: [Action] = streamedBefore ? [.sessionReplaced(reason: "a new session")] : []
        streamedBefore = true
        for subscription in subscriptions {
            var parameters = [("LS_reqId", String(nextRequest)), ("LS_op", "add"), ("LS_subId", String(subscription.id)),
                              ("LS_mode", subscription.mode), ("LS_group", subscription.items.joined(separator: " ")),
                              ("LS_schema", subscription.fields.joined(separator: " ")), ("LS_snapshot", subscription.snapshot ? "true" : "false")]
            parameters.append(("LS_ack", "false"))
            nextRequest += 1
            actions.append(.send(Self.request("control", parameters)))
        }
        return actions
    }

    private mutating func conerr(code: Int, message: String) -> [Action] {
        switch code {
        case 4: return newSession("recovery refused (CONERR,4): \(message)")
        case 5:
            phase = .closed
            failures += 1
            return [.reconnect(delay: failures == 1 ? .zero : Self.retryDelay, reason: "server busy (CONERR,5): \(message)")]
        case 6, 20, 40, 41, 48: return newSession("CONERR,\(code): \(message)", delay: Self.retryDelay)
        default:
            phase = .closed
            return [.fatal(code: code, message: message)]
        }
    }

    private mutating func end(code: Int, message: String) -> [Action] {
        switch code {
        case 41, 48: return newSession("END,\(code): \(message)")
        case 35:
            phase = .closed
            sessionID = nil
            return [.fatal(code: code, message: "another session of this user took over (END,35): \(message)")]
        default: return newSession("END,\(code): \(message)", delay: Self.retryDelay)
        }
    }

    /// Forgets the session: the next socket creates a new one (and resubscribes).
    private mutating func newSession(_ reason: String, delay: Duration = .zero) -> [Action] {
        sessionID = nil
        phase = .closed
        return [.reconnect(delay: delay, reason: reason)]
    }

    private mutating func data(_ tag: Substring, _ parts: [Substring]) -> [Action] {
        guard parts.count >= 2, let subscription = Int(parts[1]) else { return [] }
        switch tag {
        case "SUBOK":
            states[subscription]?.reset()
            return []
        case "U":
            guard parts.count == 4, let item = Int(parts[2]), var state = states[subscription] else {
                return [.problem("update of an unknown subscription or without values")]
            }
            do {
                let values = try state.apply(item: item, encoded: parts[3])
                states[subscription] = state
                return [.update(subscription: subscription, item: item, values: values)]
            } catch {
                return [.problem("update \(subscription),\(item): \(error)")]
            }
        case "OV":
            guard parts.count >= 4, let item = Int(parts[2]), let lost = Int(parts[3]), item >= 1, lost >= 0 else { return [.problem("OV without counts")] }
            return [.lost(subscription: subscription, item: item, count: lost)]
        default:
            return []
        }
    }

    /// `<name>\r\n<k=v&k=v>`, values percent-encoded except unreserved characters.
    static func request(_ name: String, _ parameters: [(String, String)]) -> String {
        name + "\r\n" + parameters.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
    }

    static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
