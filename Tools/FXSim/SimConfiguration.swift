/// The simulator's settings (flags of `fxsim`, see its `--help`).
public struct SimConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); `fxsim` defaults to 8790.
    public var port = 8790
    /// Seeds every instrument's random walk (with the symbol's own hash), so a symbol's price path is
    /// the same on every run with the same seed.
    public var seed: UInt64 = 42
    /// Market step: every step each instrument trades with probability `tradeProbability`.
    public var stepInterval: Duration = .milliseconds(100)
    public var tradeProbability = 0.3
    /// Coinbase heartbeat period per product.
    public var heartbeatInterval: Duration = .seconds(1)
    /// Finnhub sends `{"type":"ping"}` to a connection idle this long.
    public var finnhubPingIdle: Duration = .seconds(10)
    /// Finnhub's per-connection symbol limit (the free plan's 50).
    public var finnhubMaxSymbols = 50
    /// Coinbase closes a connection that has not subscribed within this time.
    public var coinbaseSubscribeTimeout: Duration = .seconds(5)
    /// Instruments created at start (others are created on first subscription).
    public var coinbaseProducts: [String] = ["BTC-USD", "ETH-USD"]
    public var finnhubSymbols: [String] = ["OANDA:EUR_USD", "OANDA:GBP_USD", "OANDA:USD_JPY"]
    public var oandaInstruments: [String] = ["EUR_USD", "GBP_USD", "USD_JPY"]
    public var igEpics: [String] = ["CS.D.EURUSD.CFD.IP", "CS.D.GBPUSD.CFD.IP", "CS.D.USDJPY.CFD.IP"]
    /// OANDA sends a `HEARTBEAT` line this often on every pricing stream.
    public var oandaHeartbeatInterval: Duration = .seconds(5)
    /// Per-client outbound buffer; a client that falls this far behind is disconnected (as real venues do).
    public var clientBuffer = 50_000
    /// Minutes of history generated at start for the instruments above (a trade every 10 s), so the REST
    /// candles have something to repair from; 0: history starts with the simulator.
    public var historyMinutes = 0

    public init() {}
}
