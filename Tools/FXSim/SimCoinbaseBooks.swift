import FXCore
import Synchronization

/// Coinbase's `level2_batch` channel over the venue's own book per product (``SimBook``): a `snapshot` of the
/// whole book on subscribe, then an `l2update` per step with every changed level (absolute sizes, `"0"` for a
/// level that left), as documented. No sequence numbers, as on the real channel.
///
/// Faults (`POST /control/coinbase?fault=`): `cross&symbol=&count=` (the next `count` updates of a product also
/// carry a bid above the best ask that the venue's book does not have: a crossed book for the subscriber;
/// `count=-1`: every one, a product that keeps failing), `late_snapshot&seconds=` (snapshots sent that much
/// after the subscription; changes in between are not sent to that subscriber), `error&symbol=` (an `error`
/// message naming the product, sent to its subscribers at the next step).
public final class SimCoinbaseBooks: Sendable {
    struct State: Sendable {
        var books: [String: SimBook] = [:]
        /// Product -> updates still to cross (-1: all).
        var crossed: [String: Int] = [:]
        var snapshotDelay: Int64 = 0
        /// Products whose subscribers get an `error` message at the next step.
        var errors: Set<String> = []
    }

    let seed: UInt64
    let state = Mutex(State())

    init(seed: UInt64) {
        self.seed = seed
    }

    /// `client` subscribed `products` to `level2_batch`: their snapshots now (or after the injected delay).
    func subscribe(_ client: SimClient, products: [String], now: Int64) {
        let (delay, snapshots) = state.withLock { state -> (Int64, [String]) in
            for product in products where state.books[product] == nil {
                state.books[product] = SimBook(venue: "coinbase", symbol: product, seed: seed, now: now)
            }
            return (state.snapshotDelay, state.snapshotDelay > 0 ? [] : products.map { snapshot($0, state.books[$0]!) })
        }
        client.state.withLock { client in
            for product in products { client.level2[product] = delay > 0 ? now + delay : 0 }
        }
        for line in snapshots { client.send(.text(line), now: now) }
    }

    func unsubscribe(_ client: SimClient, products: [String]) {
        client.state.withLock { client in
            for product in products { client.level2[product] = nil }
        }
    }

    /// One step: every product someone follows changes; each subscriber gets its update (or its late snapshot).
    func step(now: Int64, clients: [SimClient]) {
        let subscriptions = clients.map { client in (client, client.state.withLock { $0.level2 }) }
        let wanted = Set(subscriptions.flatMap { $0.1.keys })
        guard !wanted.isEmpty else { return }
        var outgoing: [(SimClient, String)] = []
        state.withLock { state in
            for product in wanted.sorted() {
                guard var book = state.books[product] else { continue }
                let change = book.step(now: now)
                state.books[product] = book
                var bids = change.bids
                if let left = state.crossed[product], left != 0, let ask = book.asks.keys.min() {
                    if left > 0 { state.crossed[product] = left - 1 }
                    bids.insert((ask + 1, 100_000_000), at: 0)
                }
                let time = Timestamps.rfc3339(nanoseconds: book.ts / 1_000 * 1_000)
                let changes = bids.map { #"["buy","\#(SimBook.price($0.0))","\#(SimBook.qty($0.1))"]"# }
                    + change.asks.map { #"["sell","\#(SimBook.price($0.0))","\#(SimBook.qty($0.1))"]"# }
                let update = #"{"type":"l2update","product_id":"\#(product)","changes":[\#(changes.joined(separator: ","))],"time":"\#(time)"}"#
                let error = state.errors.remove(product) != nil
                for (client, level2) in subscriptions {
                    guard let due = level2[product] else { continue }
                    if error {
                        outgoing.append((client, #"{"type":"error","message":"Internal error","reason":"level2_batch \#(product) could not be served in order"}"#))
                    }
                    if due == 0 {
                        outgoing.append((client, update))
                    } else if now >= due {
                        client.state.withLock { $0.level2[product] = 0 }
                        outgoing.append((client, snapshot(product, book)))
                    }
                }
            }
        }
        for (client, line) in outgoing { client.send(.text(line), now: now) }
    }

    public func fault(_ kind: String, symbol: String?, count: Int, seconds: Double) -> Int {
        switch kind {
        case "cross":
            guard let symbol else { return 0 }
            state.withLock { $0.crossed[symbol] = count }
            return 1
        case "late_snapshot":
            state.withLock { $0.snapshotDelay = Int64(seconds * 1e9) }
            return 1
        case "error":
            guard let symbol else { return 0 }
            state.withLock { _ = $0.errors.insert(symbol) }
            return 1
        default:
            return 0
        }
    }

    /// The venue's whole book of `product` now (nil: nobody subscribed it yet).
    public func book(_ product: String) -> (ts: Int64, bids: [(price: String, qty: String)], asks: [(price: String, qty: String)])? {
        state.withLock { state in
            guard let book = state.books[product] else { return nil }
            return (book.ts, book.top(.bid, 10_000).map { (SimBook.price($0.0), SimBook.qty($0.1)) },
                    book.top(.ask, 10_000).map { (SimBook.price($0.0), SimBook.qty($0.1)) })
        }
    }

    private func snapshot(_ product: String, _ book: SimBook) -> String {
        func levels(_ side: [(Int64, Int64)]) -> String {
            "[" + side.map { #"["\#(SimBook.price($0.0))","\#(SimBook.qty($0.1))"]"# }.joined(separator: ",") + "]"
        }
        return #"{"type":"snapshot","product_id":"\#(product)","bids":\#(levels(book.top(.bid, 10_000))),"asks":\#(levels(book.top(.ask, 10_000))),"time":"\#(Timestamps.rfc3339(nanoseconds: book.ts / 1_000 * 1_000))"}"#
    }
}
