import FXCore

extension Heartbeat {
    /// One order book an ingestor connection keeps (venues with books), in its heartbeat:
    /// `{"symbol":"BTC/USD","venue_symbol":"BTC/USD","state":"in_sync","epoch":3,"seq":1841,"resyncs":2,
    /// "last_checksum_failure_ts":1796036400000000000,"last_error":"checksum mismatch: …"}`. `state` is
    /// `awaiting_snapshot`, `in_sync` or `resyncing`; `resyncs` counts since the instance started.
    public struct Book: Sendable, Equatable {
        public var symbol: String
        public var venueSymbol: String
        public var state: String
        public var epoch: Int64
        public var seq: Int64
        public var resyncs: Int64
        public var lastChecksumFailureTs: Int64?
        public var lastError: String?

        public static let states = ["awaiting_snapshot", "in_sync", "resyncing"]
        /// Books listed per connection, at most.
        public static let maxPerConnection = 1_000

        public init(symbol: String, venueSymbol: String, state: String, epoch: Int64, seq: Int64, resyncs: Int64,
                    lastChecksumFailureTs: Int64?, lastError: String?) {
            self.symbol = symbol
            self.venueSymbol = venueSymbol
            self.state = state
            self.epoch = epoch
            self.seq = seq
            self.resyncs = resyncs
            self.lastChecksumFailureTs = lastChecksumFailureTs
            self.lastError = lastError
        }

        func write(to w: inout JSONWriter) {
            w.beginObject()
            w.key("symbol"); w.string(symbol)
            w.key("venue_symbol"); w.string(venueSymbol)
            w.key("state"); w.string(state)
            w.key("epoch"); w.number(epoch)
            w.key("seq"); w.number(seq)
            w.key("resyncs"); w.number(resyncs)
            w.key("last_checksum_failure_ts"); w.number(lastChecksumFailureTs)
            w.key("last_error"); w.string(lastError.map { String($0.prefix(300)) })
            w.endObject()
        }

        /// Reads one entry; nil when a field is outside the contract.
        static func read(_ value: JSONValue) -> Book? {
            guard let symbol = value["symbol"]?.stringValue, ContractLimits.isValidSymbol(symbol),
                  let venueSymbol = value["venue_symbol"]?.stringValue, ContractLimits.isValidVenueSymbol(venueSymbol),
                  let state = value["state"]?.stringValue, states.contains(state),
                  let epoch = value["epoch"]?.int64Value, ContractLimits.isPlausibleSequence(epoch),
                  let seq = value["seq"]?.int64Value, ContractLimits.isPlausibleSequence(seq),
                  let resyncs = value["resyncs"]?.int64Value, ContractLimits.isPlausibleSequence(resyncs) else { return nil }
            let failure = value["last_checksum_failure_ts"]?.int64Value
            if let failure, !ContractLimits.isPlausibleEventTime(failure) { return nil }
            return Book(symbol: symbol, venueSymbol: venueSymbol, state: state, epoch: epoch, seq: seq, resyncs: resyncs,
                        lastChecksumFailureTs: failure, lastError: value["last_error"]?.stringValue.map { String($0.prefix(300)) })
        }
    }
}
