import FXCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `fxsim`: Coinbase and Finnhub WebSocket feeds and REST candle endpoints on one HTTP port, plus a
/// control API for fault injection.
///
/// | endpoint | what |
/// |---|---|
/// | `GET /coinbase` (WebSocket) | Coinbase Exchange feed: `subscribe` with `product_ids` + `channels` (`matches`, `ticker`, `heartbeat`) |
/// | `GET /coinbase/products/{id}/candles?granularity&start&end` | `[[time, low, high, open, close, volume], ...]` newest first, ≤ 300 rows |
/// | `GET /finnhub?token=KEY` (WebSocket) | Finnhub feed: `{"type":"subscribe","symbol":...}` per symbol, ≤ `finnhubMaxSymbols` per connection |
/// | `GET /finnhub/api/v1/forex/candle?symbol&resolution&from&to&token` | `{"s":"ok","t":[],"o":[],"h":[],"l":[],"c":[],"v":[]}` |
/// | `POST /control/drop?venue=` | close every connection (of one venue) |
/// | `POST /control/silence?venue=&seconds=` | send nothing for a while, TCP kept open |
/// | `POST /control/skip?venue=&symbol=&count=` | skip the next `count` messages of a symbol (sequence numbers used up) |
/// | `POST /control/malformed?venue=&kind=&size=` | one bad frame: `json`, `utf8`, `nan`, `negative`, `zero`, `unknown_type`, `missing_field`, `oversized` |
/// | `POST /control/rate-limit?venue=&count=&retry_after=` | the next `count` REST answers are 429 with `Retry-After` |
/// | `POST /ig/session`, `GET /ig/lightstreamer` (WebSocket, TLCP) | IG: login, then Lightstreamer sessions that outlive their sockets |
/// | `POST /control/ig?fault=` | IG sessions: `drop`, `forget`, `ov`, `end48`, `end35`, `loop`, `refuse-login&count=` |
/// | `GET /kraken/v2` (WebSocket) | Kraken v2: `trade`, `ticker`, `book` (depth 10/25/100/500/1000, CRC32 checksums) |
/// | `GET /kraken/book?symbol=&depth=` | the venue's book of a pair at its latest change (`ts`) |
/// | `GET /kraken/0/public/OHLC?pair=&interval=1&since=` | Kraken's minute OHLC of the pair's trades, the last 720 minutes only |
/// | `GET /binance/stream`, `GET /binance/ws` (WebSocket) | Binance spot: `SUBSCRIBE` `<symbol>@trade`, `@bookTicker`, `@depth@100ms` (combined / raw) |
/// | `GET /binance/api/v3/depth?symbol=&limit=` | Binance's REST depth snapshot (`lastUpdateId`) |
/// | `GET /binance/api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=` | Binance minute candles of the trades streamed |
/// | `POST /control/binance?fault=` | `skip&symbol=&count=` (-1: always), `late_snapshot&seconds=`, `shutdown`, `drop` |
/// | `POST /control/coinbase?fault=` | `level2_batch` books: `cross&symbol=&count=` (-1: always), `late_snapshot&seconds=`, `error&symbol=` |
/// | `GET /coinbase/book?product=` | the venue's whole `level2` book of a product at its latest change (`ts`) |
/// | `POST /control/kraken?fault=` | `checksum&symbol=&count=` (-1: always), `late_snapshot&seconds=`, `drop` |
/// | `GET /control/stats` | clients, instruments, messages sent, REST requests |
public final class SimulatorService: Service, Sendable {
    public let market: SimMarket
    private let configuration: SimConfiguration
    private let logger: Logger
    private let listening = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    public init(configuration: SimConfiguration, logger: Logger) {
        self.configuration = configuration
        self.market = SimMarket(configuration: configuration)
        self.logger = logger
    }

    /// The bound port, once the server listens.
    public func port() async -> Int {
        await withCheckedContinuation { continuation in
            let port = listening.withLock { state -> Int? in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }

    public func run() async throws {
        let http = Router()
        SimRESTRoutes(market: market).add(to: http)
        SimOandaRoutes(market: market).add(to: http)
        SimIGRoutes(market: market).add(to: http)
        let webSockets = Router(context: BasicWebSocketRequestContext.self)
        SimWebSocketRoutes(market: market, configuration: configuration, logger: logger).add(to: webSockets)
        let app = Application(
            router: http,
            server: .http1WebSocketUpgrade(webSocketRouter: webSockets,
                                           configuration: .init(maxFrameSize: 1 << 24, autoPing: .enabled(timePeriod: .seconds(30)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "fxsim"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                self.logger.notice("fxsim listening on \(self.configuration.host):\(port)")
                let waiters = self.listening.withLock { state in
                    state.port = port
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: port) }
            },
            logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await app.runService() }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        self.market.step(now: WallClock.nanoseconds())
                        self.market.kraken.step(now: WallClock.nanoseconds())
                        self.market.binance.step(now: WallClock.nanoseconds())
                        self.market.coinbaseBooks.step(now: WallClock.nanoseconds(), clients: self.market.clients(of: .coinbase))
                        try? await Task.sleep(for: self.configuration.stepInterval)
                    }
                    // Stopping: end every client's stream, so that the server's graceful shutdown does not wait for
                    // a held-open HTTP response (OANDA's pricing stream) that would never write again.
                    _ = self.market.dropConnections(nil)
                    _ = self.market.kraken.drop()
                    _ = self.market.binance.drop()
                }
            }
        }
    }
}
