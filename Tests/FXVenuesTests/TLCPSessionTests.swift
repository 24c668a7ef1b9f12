import FXVenues
import Testing

/// The Lightstreamer session state machine: what the client sends and does for each server line and
/// socket event, as the official clients do. No network: the lines are given.
@Suite("Lightstreamer TLCP: the session state machine")
struct TLCPSessionTests {
    static let ticks = TLCPSession.Subscription(id: 1, mode: "DISTINCT", items: ["CHART:CS.D.EURUSD.CFD.IP:TICK"],
                                               fields: ["BID", "OFR", "LTP", "LTV", "TTV", "UTM"], snapshot: false)
    static let market = TLCPSession.Subscription(id: 2, mode: "MERGE", items: ["MARKET:CS.D.EURUSD.CFD.IP"],
                                                fields: ["MARKET_STATE", "UPDATE_TIME"], snapshot: true)

    static func session() -> TLCPSession {
        TLCPSession(user: "ABC123", password: "CST-abc|XST-def", adapterSet: nil, subscriptions: [ticks, market])
    }

    static func sent(_ actions: [TLCPSession.Action]) -> [String] {
        actions.compactMap { if case .send(let text) = $0 { text } else { nil } }
    }

    /// A session created and streaming, with `updates` updates of the tick item received.
    static func streaming(updates: Int = 0) -> TLCPSession {
        var session = session()
        _ = session.opened()
        _ = session.received("WSOK")
        _ = session.received("CONOK,S1,50000,5000,*")
        _ = session.received("SUBOK,1,1,6")
        _ = session.received("SUBOK,2,1,2")
        for index in 0..<updates { _ = session.received(Substring("U,1,1,1.0\(index)|1.1|#|#|#|173340000000\(index)")) }
        return session
    }

    @Test("a fresh socket: wsok, then create_session with the account, the CST/XST password percent-encoded and the official client id")
    func create() {
        var session = Self.session()
        let sent = Self.sent(session.opened())
        #expect(sent.first == "wsok")
        #expect(sent.last == "create_session\r\nLS_user=ABC123&LS_cid=mgQkwtwdysogQz2BJ4Ji%20kOj2Bg&LS_send_sync=false&LS_keepalive_millis=5000&LS_password=CST-abc%7CXST-def")
        #expect(TLCPSession.subprotocol == "TLCP-2.5.0.lightstreamer.com")
    }

    @Test("CONOK subscribes every item (mode, group, schema, snapshot) and keeps the keepalive; SUBOK, U and OV are decoded")
    func subscribeAndUpdates() {
        var session = Self.session()
        _ = session.opened()
        let sent = Self.sent(session.received("CONOK,S1,50000,3000,*"))
        #expect(sent == [
            "control\r\nLS_reqId=1&LS_op=add&LS_subId=1&LS_mode=DISTINCT&LS_group=CHART:CS.D.EURUSD.CFD.IP:TICK&LS_schema=BID%20OFR%20LTP%20LTV%20TTV%20UTM&LS_snapshot=false&LS_ack=false",
            "control\r\nLS_reqId=2&LS_op=add&LS_subId=2&LS_mode=MERGE&LS_group=MARKET:CS.D.EURUSD.CFD.IP&LS_schema=MARKET_STATE%20UPDATE_TIME&LS_snapshot=true&LS_ack=false",
        ])
        #expect(session.stallLimit == .seconds(5), "keepalive 3 s + 2 s")
        #expect(session.received("SUBOK,2,1,2").isEmpty)
        #expect(session.received("U,2,1,TRADEABLE|13:07:00") == [.update(subscription: 2, item: 1, values: ["TRADEABLE", "13:07:00"])])
        #expect(session.received("U,2,1,|13:07:01") == [.update(subscription: 2, item: 1, values: ["TRADEABLE", "13:07:01"])])
        #expect(session.received("OV,2,1,7") == [.lost(subscription: 2, item: 1, count: 7)])
        #expect(session.received("PROBE").isEmpty && session.received("NOOP,x").isEmpty && session.received("SYNC,10").isEmpty)
        #expect(session.count == 4, "SUBOK, two U and OV are data notifications; PROBE, NOOP, SYNC are not")
        // A new SUBOK starts the item's state again.
        _ = session.received("SUBOK,2,1,2")
        #expect(session.received("U,2,1,|13:08:00") == [.update(subscription: 2, item: 1, values: [nil, "13:08:00"])])
        guard case .problem? = session.received("U,2,1,a|b|c").first else { Issue.record("a bad update is not reported"); return }
    }

    @Test("a dropped socket is recovered: bind_session with LS_recovery_from = notifications received; after PROG the replayed ones are skipped")
    func recovery() {
        var session = Self.streaming(updates: 3)
        #expect(session.count == 5)
        #expect(session.socketLost("connection reset") == [.reconnect(delay: .zero, reason: "recovering the session: connection reset")])
        let sent = Self.sent(session.opened())
        #expect(sent == ["wsok", "bind_session\r\nLS_session=S1&LS_send_sync=false&LS_recovery_from=5"])
        #expect(session.received("CONOK,S1,50000,5000,*") == [.recovered], "the same session: no resubscription, no loss")
        #expect(session.received("PROG,3").isEmpty)
        // The server resends notifications 4 and 5 (already seen), then the new ones.
        #expect(session.received("U,1,1,1.02|1.1|#|#|#|1733400000002").isEmpty)
        #expect(session.received("U,1,1,1.03|1.1|#|#|#|1733400000003").isEmpty)
        let fresh = session.received("U,1,1,1.04||||^1|1733400000004")
        #expect(fresh == [.update(subscription: 1, item: 1, values: ["1.04", "1.1", nil, nil, nil, "1733400000004"])], "state carried across the recovery")
        #expect(session.count == 6)
    }

    @Test("a refused recovery (CONERR,4) starts a new session and resubscribes: a session replaced, which is a gap")
    func refusedRecovery() {
        var session = Self.streaming(updates: 2)
        _ = session.socketLost("reset")
        _ = session.opened()
        #expect(session.received("CONERR,4,Recovery failed") == [.reconnect(delay: .zero, reason: "recovery refused (CONERR,4): Recovery failed")])
        #expect(Self.sent(session.opened()).last?.hasPrefix("create_session\r\n") == true)
        let actions = session.received("CONOK,S2,50000,5000,*")
        #expect(actions.first == .sessionReplaced(reason: "a new session"))
        #expect(Self.sent(actions).count == 2, "both subscriptions added again")
        #expect(session.count == 0)
        // A PROG ahead of what was received cannot be reconciled either.
        var ahead = Self.streaming(updates: 1)
        _ = ahead.socketLost("reset")
        _ = ahead.opened()
        _ = ahead.received("CONOK,S1,50000,5000,*")
        guard case .reconnect? = ahead.received("PROG,99").first else { Issue.record("PROG ahead accepted"); return }
        #expect(Self.sent(ahead.opened()).last?.hasPrefix("create_session") == true)
    }

    @Test("LOOP rebinds the same session on a new socket without recovery and without a loss")
    func loop() {
        var session = Self.streaming(updates: 1)
        #expect(session.received("LOOP,0") == [.reconnect(delay: .zero, reason: "LOOP: rebinding the session")])
        #expect(Self.sent(session.opened()) == ["wsok", "bind_session\r\nLS_session=S1&LS_send_sync=false"])
        #expect(session.received("CONOK,S1,50000,5000,*") == [.recovered])
    }

    @Test("CONERR and END: 5 retries at once, 4/6/20/40/41/48 with a new session, 1 and 60 are fatal; END 41/48 reopen at once, END 35 is fatal, other ENDs retry")
    func errors() {
        func first(_ line: Substring, streaming: Bool = true) -> TLCPSession.Action? {
            var session = streaming ? Self.streaming() : Self.session()
            if !streaming { _ = session.opened() }
            return session.received(line).first
        }
        #expect(first("CONERR,5,Server busy", streaming: false) == .reconnect(delay: .zero, reason: "server busy (CONERR,5): Server busy"))
        for code in [6, 20, 40, 41, 48] {
            #expect(first(Substring("CONERR,\(code),x"), streaming: false) == .reconnect(delay: TLCPSession.retryDelay, reason: "CONERR,\(code): x"))
        }
        #expect(first("CONERR,1,User/password check failed", streaming: false) == .fatal(code: 1, message: "User/password check failed"))
        #expect(first("CONERR,60,Client version not supported", streaming: false) == .fatal(code: 60, message: "Client version not supported"))
        #expect(first("END,48,Maximum session duration") == .reconnect(delay: .zero, reason: "END,48: Maximum session duration"))
        #expect(first("END,41,x") == .reconnect(delay: .zero, reason: "END,41: x"))
        guard case .fatal(35, _)? = first("END,35,Same user") else { Issue.record("END,35 not fatal"); return }
        #expect(first("END,31,Destroyed") == .reconnect(delay: TLCPSession.retryDelay, reason: "END,31: Destroyed"))
        // After an END the next socket creates a new session, and its CONOK reports the loss.
        var session = Self.streaming(updates: 1)
        _ = session.received("END,48,x")
        _ = session.opened()
        #expect(session.received("CONOK,S9,50000,5000,*").first == .sessionReplaced(reason: "a new session"))
    }

    @Test("an unreachable server is not hammered: recovery at once, then after a pause, and after three failures a new session after the retry delay")
    func backoff() {
        var session = Self.streaming(updates: 1)
        #expect(session.socketLost("reset").first == .reconnect(delay: .zero, reason: "recovering the session: reset"))
        #expect(session.socketLost("refused").first == .reconnect(delay: TLCPSession.retryDelay / 4, reason: "recovering the session: refused"))
        #expect(session.socketLost("refused").first == .reconnect(delay: TLCPSession.retryDelay / 4, reason: "recovering the session: refused"))
        #expect(session.socketLost("refused").first == .reconnect(delay: TLCPSession.retryDelay, reason: "refused"))
        #expect(TLCPSessionTests.sent(session.opened()).last?.hasPrefix("create_session") == true, "given up: a new session")
        var busy = Self.session()
        _ = busy.opened()
        #expect(busy.received("CONERR,5,busy").first == .reconnect(delay: .zero, reason: "server busy (CONERR,5): busy"))
        _ = busy.opened()
        #expect(busy.received("CONERR,5,busy").first == .reconnect(delay: TLCPSession.retryDelay, reason: "server busy (CONERR,5): busy"))
    }
}
