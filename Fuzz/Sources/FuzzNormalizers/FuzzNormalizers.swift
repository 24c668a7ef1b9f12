import FXContracts
import FXCore
import FXVenues
import FXIngest
import FuzzSupport

// Provider frames -> normalizer -> NormalizedEvent.checkedAgainstContract -> FeedTracker.observe, wired
// as FeedConnection.handle does (FeedConnection itself needs NIO/WebSocket: its 10 lines of wiring are
// repeated here). TickRecord (the aggregator's reader, symlinked) checks what the ingestor publishes.
//
// Input: byte 0 = provider (bit 0: Coinbase / Finnhub; bit 4: OANDA, whose frames are chunks of its HTTP
// line stream, read by a LineReader; bit 5: Kraken v2, whose book updates go through a BookKeeper; bit 6:
// Binance, whose depth updates go through a BinanceDepthSync then a BookKeeper; Coinbase's level2_batch
// books go through a BookKeeper too), sequence check (bits 1-2), tracker announces starts (bit 3); the
// rest is frames separated by NUL LF. An empty frame = the connection drops and reconnects. Invariants:
// - every event that passes the contract check keeps the contract (names, times, seq, decimals);
// - every published tick's message (`Tick.jsonBytes()`) is accepted by the aggregator's TickRecord with
//   the same values (crossed quotes excepted: the aggregator rejects them by design);
// - gap events have from <= to, times in the consumers' window, and round-trip through GapEvent(json:);
// - order books: every message the keeper publishes reads back (BookMessage(json:)), and a BookBuilder
//   fed with them holds the keeper's very book whenever both are in sync; a kept book is never deeper
//   than its depth, and never crossed.

private let subscribed: [String: [(venue: String, symbol: String, hours: MarketHours)]] = [
    "coinbase": [("BTC-USD", "BTC/USD", .continuous), ("ETH-USD", "ETH/USD", .continuous), ("SOL-EUR", "SOL/EUR", .continuous)],
    "finnhub": [("OANDA:EUR_USD", "EUR/USD", .forex), ("BINANCE:BTCUSDT", "BTC/USDT", .continuous), ("OANDA:USD_JPY", "USD/JPY", .forex)],
    "oanda": [("EUR_USD", "EUR/USD", .continuous), ("USD_JPY", "USD/JPY", .continuous)],
    "kraken": [("BTC/USD", "BTC/USD", .continuous), ("ETH/USD", "ETH/USD", .continuous)],
    "binance": [("BTCUSDT", "BTC/USDT", .continuous), ("ETHUSDT", "ETH/USDT", .continuous)],
]
/// Levels per side each venue's books are kept at (nil: whole books).
private let bookDepths: [String: Int?] = ["kraken": 10, "binance": 1000, "coinbase": nil]
private let binance = BinanceNormalizer(maxFrameBytes: 65_536)
private let kraken = KrakenNormalizer(maxFrameBytes: 65_536)
private let coinbase = CoinbaseNormalizer()
private let finnhub = FinnhubNormalizer()
private let oanda = OandaNormalizer(maxFrameBytes: 4_096)
/// 2026-11-23T12:00:00Z (a Monday: forex open), ns.
private let baseNow: Int64 = 1_795_435_200_000_000_000

private func plausibleNumber(_ value: Int64) -> Int64? { ContractLimits.isPlausibleSequence(value) ? value : nil }

private func checkTick(_ tick: Tick, now: Int64) {
    require(ContractLimits.isValidSource(tick.source), "source \(tick.source.debugDescription)")
    require(ContractLimits.isValidSymbol(tick.symbol), "symbol \(tick.symbol.debugDescription)")
    require(ContractLimits.isValidVenueSymbol(tick.venueSymbol), "venue symbol \(tick.venueSymbol.debugDescription)")
    require(ContractLimits.isPlausibleEventTime(tick.timestamp, now: now), "ts \(tick.timestamp)")
    require(tick.sequence.map(ContractLimits.isPlausibleSequence) ?? true, "seq \(String(describing: tick.sequence))")
    switch tick.payload {
    case .trade(let price, let size, _, let tradeID):
        require(price.isPositive && !size.isNegative, "trade price \(price) size \(size)")
        require(tradeID.map { ContractLimits.isValidTradeID($0) } ?? true, "trade id \(String(describing: tradeID))")
    case .quote(let bid, let ask, let bidSize, let askSize):
        require(bid != nil || ask != nil, "quote without prices")
        require((bid?.isPositive ?? true) && (ask?.isPositive ?? true), "quote prices \(String(describing: bid)) \(String(describing: ask))")
        require(!(bidSize?.isNegative ?? false) && !(askSize?.isNegative ?? false), "quote sizes")
    }
    // What the aggregator makes of the published message.
    let message = tick.jsonBytes()
    do {
        let record = try TickRecord(json: message)
        require(record.source == tick.source && record.symbol == tick.symbol && record.ts == tick.timestamp && record.seq == tick.sequence,
                "TickRecord read other values: \(record) from \(preview(message, max: 400))")
        switch tick.payload {
        case .trade(let price, let size, _, let tradeID):
            require(record.kind == .trade && record.price == price && record.size == size && record.tradeID == tradeID,
                    "TickRecord trade differs: \(record) from \(preview(message, max: 400))")
        case .quote(let bid, let ask, let bidSize, let askSize):
            require(record.kind == .quote && record.bid == bid && record.ask == ask && record.bidSize == bidSize && record.askSize == askSize,
                    "TickRecord quote differs: \(record) from \(preview(message, max: 400))")
        }
    } catch {
        // Crossed quotes (ask < bid) are published by the ingestor and refused by the aggregator: by design.
        if case .quote(let bid?, let ask?, _, _) = tick.payload, ask < bid, error.reason == "crossed_quote" { return }
        require(false, "the aggregator rejects a published tick (\(error.reason): \(error.detail)): \(preview(message, max: 400))")
    }
}

private func checkGap(_ gap: GapEvent) {
    require(gap.from <= gap.to, "gap from \(gap.from) > to \(gap.to)")
    require(ContractLimits.isPlausibleEventTime(gap.from) && ContractLimits.isPlausibleEventTime(gap.to), "gap times \(gap.from) \(gap.to)")
    do {
        let again = try GapEvent(json: gap.jsonBytes())
        require(again == gap, "gap round trip: \(gap) -> \(again)")
    } catch {
        require(false, "a published gap event is refused by its readers (\(error)): \(preview(gap.jsonBytes(), max: 400))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let selector = bytes.first else { return 0 }
    let source = selector & 0x40 != 0 ? "binance" : selector & 0x20 != 0 ? "kraken" : selector & 0x10 != 0 ? "oanda"
        : selector & 1 == 0 ? "coinbase" : "finnhub"
    let normalizer: any FrameNormalizer = switch source {
    case "binance": binance
    case "kraken": kraken
    case "oanda": oanda
    case "coinbase": coinbase
    default: finnhub
    }
    let depth = bookDepths[source] ?? nil
    var keepers: [String: BookKeeper] = bookDepths[source] == nil ? [:] : Dictionary(uniqueKeysWithValues: subscribed[source]!.map {
        ($0.venue, BookKeeper(source: source, symbol: $0.symbol, venueSymbol: $0.venue, instance: "fuzz-1", settings: .init(depth: depth)))
    })
    var syncs = source == "binance" ? Dictionary(uniqueKeysWithValues: subscribed[source]!.map { ($0.venue, BinanceDepthSync(maxBuffered: 100)) }) : [:]
    var builder = BookBuilder()
    var lines = LineReader(maxLineBytes: 4_096)
    let check = FeedTracker.SequenceCheck.allCases[Int((selector >> 1) & 3) % FeedTracker.SequenceCheck.allCases.count]
    let symbols = subscribed[source]!
    let venues = Set(symbols.map(\.venue))
    var now = baseNow
    var tracker = FeedTracker(source: source, connectionID: "\(source)-0", instance: "fuzz-1",
                              settings: .init(connectionStaleAfter: .seconds(30), symbolStaleAfter: .seconds(120), sequenceCheck: check),
                              symbols: symbols, now: now, announcesStart: selector & 8 != 0)
    tracker.connected(now: now)
    tracker.subscribed(now: now, acknowledged: false)
    var gaps: [GapEvent] = []
    for frame in splitMessages(bytes.dropFirst()) {
        now += 1_000_000_000
        if frame.isEmpty {
            if source == "oanda", let rest = lines.finish() {
                switch rest {
                case .line(let bytes): require(!bytes.isEmpty && !bytes.contains(0x0A), "a half line holds a line end")
                case .oversized(let prefix, let length): require(prefix.count <= LineReader.keptBytes && length > 4_096, "oversized \(prefix.count)/\(length)")
                }
            }
            tracker.disconnected(now: now, detail: "fuzz drop")
            for key in keepers.keys { keepers[key]!.connectionLost() }
            for key in syncs.keys { syncs[key]!.reset() }
            tracker.connected(now: now)
            tracker.subscribed(now: now, acknowledged: false)
            continue
        }
        var messages = [frame]
        if source == "oanda" {
            messages = lines.append(frame).compactMap { line in
                switch line {
                case .line(let bytes):
                    require(!bytes.isEmpty && !bytes.contains(0x0A) && bytes.count <= 4_096, "a line of \(bytes.count) bytes with a line end or over the limit")
                    return bytes
                case .oversized(let prefix, let length):
                    require(prefix.count <= LineReader.keptBytes && length > 4_096, "oversized \(prefix.count)/\(length)")
                    return nil
                }
            }
        }
        let events = messages.flatMap { normalizer.normalize($0, receivedAt: now) }.map {
            $0.checkedAgainstContract(now: now, isSubscribed: { venues.contains($0) })
        }
        tracker.frameReceived(now: now)
        for event in events {
            switch event {
            case .tick(let tick):
                checkTick(tick, now: now)
                var tradeID: Int64?
                if case .trade(_, _, _, let id) = tick.payload { tradeID = id.flatMap { Int64($0) }.flatMap(plausibleNumber) }
                gaps += tracker.observe(venueSymbol: tick.venueSymbol, eventTs: tick.timestamp, sequence: tick.sequence, tradeID: tradeID, now: now)
            case .replayedTick(let tick):
                checkTick(tick, now: now)
            case .heartbeat(let venue, let sequence, let lastTradeID, let timestamp):
                require(venues.contains(venue), "heartbeat for unsubscribed \(venue)")
                require(sequence.map(ContractLimits.isPlausibleSequence) ?? true, "heartbeat seq")
                require(timestamp.map { ContractLimits.isPlausibleEventTime($0, now: now) } ?? true, "heartbeat time \(String(describing: timestamp))")
                gaps += tracker.observe(venueSymbol: venue, eventTs: timestamp ?? now, sequence: sequence,
                                        lastTradeID: lastTradeID.flatMap { Int64($0) }.flatMap(plausibleNumber), now: now)
            case .control(let what):
                if what == "subscriptions" { tracker.subscribed(now: now, acknowledged: true) }
            case .reconnect(let reason):
                require(!reason.isEmpty, "a reconnect without a reason")
            case .providerError(let message):
                tracker.providerError(message)
            case .marketState(let venue, let open, let reason, let timestamp):
                require(venues.contains(venue), "market state for unsubscribed \(venue)")
                require(ContractLimits.isPlausibleEventTime(timestamp, now: now), "market state time \(timestamp)")
                gaps += tracker.marketState(venueSymbol: venue, open: open, reason: reason, eventTs: timestamp, now: now)
            case .reject(_, let detail):
                _ = detail
            case .book(let update):
                require(venues.contains(update.venueSymbol) && keepers[update.venueSymbol] != nil, "book of unsubscribed \(update.venueSymbol)")
                var updates = [update]
                if source == "binance", let first = update.firstUpdateID, let last = update.lastUpdateID {
                    // Binance: aligned by update ids first; a requested snapshot is answered at once, empty, just
                    // before this update (the REST fetch's place).
                    updates = []
                    var actions = syncs[update.venueSymbol]!.receive(.init(firstUpdateID: first, finalUpdateID: last, bids: update.bids, asks: update.asks, eventTime: now))
                    var rounds = 0
                    while let action = actions.first {
                        actions.removeFirst()
                        switch action {
                        case .requestSnapshot:
                            rounds += 1
                            require(rounds < 4, "snapshots asked for again and again")
                            actions += syncs[update.venueSymbol]!.receive(snapshot: .init(lastUpdateID: first - 1, bids: [], asks: []))
                        case .publishSnapshot(let snapshot):
                            updates.append(BookUpdate(venueSymbol: update.venueSymbol, kind: .snapshot, bids: snapshot.bids, asks: snapshot.asks,
                                                      firstUpdateID: snapshot.lastUpdateID, lastUpdateID: snapshot.lastUpdateID))
                        case .publishUpdate(let applied):
                            require(applied.firstUpdateID <= applied.finalUpdateID, "an update applied with U > u")
                            updates.append(BookUpdate(venueSymbol: update.venueSymbol, kind: .update, bids: applied.bids, asks: applied.asks,
                                                      firstUpdateID: applied.firstUpdateID, lastUpdateID: applied.finalUpdateID))
                        case .gap(let expected, let received):
                            require(received > expected, "a gap that is none: \(expected) \(received)")
                        }
                    }
                }
                for action in updates.flatMap({ keepers[update.venueSymbol]!.receive($0, receivedAt: now) }) {
                    guard case .publish(let messages) = action else { continue }
                    for message in messages {
                        do {
                            let read = try BookMessage(json: message.jsonBytes())
                            require(read == message, "book message round trip: \(message) -> \(read)")
                            _ = builder.apply(read)
                        } catch {
                            require(false, "a published book message is refused by its reader (\(error)): \(preview(message.jsonBytes(), max: 400))")
                        }
                    }
                }
                let keeper = keepers[update.venueSymbol]!
                if keeper.status == .inSync {
                    require(depth.map { keeper.book.count(.bid) <= $0 && keeper.book.count(.ask) <= $0 } ?? true, "a book deeper than its depth")
                    require(!keeper.book.isCrossed, "a crossed book kept in sync")
                    if let rebuilt = builder.book("\(source):\(keeper.symbol)") {
                        require(rebuilt == keeper.book, "the builder's book differs from the keeper's: \(rebuilt) vs \(keeper.book)")
                    }
                }
            }
        }
        _ = tracker.watchdog(now: now)
    }
    gaps += tracker.closeAll(now: now + 1_000_000_000)
    for gap in gaps { checkGap(gap) }
    return 0
}
