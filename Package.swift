// swift-tools-version: 6.1
import PackageDescription

// librdkafka >= 2.8 comes from `scripts/install-deps.sh` (system or project-local, see README):
// builds run through the project's scripts, which export PKG_CONFIG_PATH for it.
let package = Package(
    name: "FXStream",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ingestor", targets: ["Ingestor"]),
        .executable(name: "aggregator", targets: ["Aggregator"]),
        .executable(name: "backfiller", targets: ["Backfiller"]),
        .executable(name: "monitor", targets: ["Monitor"]),
        .executable(name: "fxadmin", targets: ["FXAdmin"]),
        .executable(name: "fxsim", targets: ["FXSimulator"]),
        .executable(name: "fxbench", targets: ["FXBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C bridges (system libraries).
        .systemLibrary(name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),

        // Shared libraries.
        .target(name: "FXCore", path: "Shared/FXCore"),
        // The topic contracts: each message type with its one encoder and one decoder (ticks, gaps,
        // heartbeats per role, rejects, gap statuses, connection states), used by writers, readers and tests.
        .target(name: "FXContracts", dependencies: ["FXCore"], path: "Shared/FXContracts"),
        .target(name: "FXMetrics", dependencies: [
            "FXCore", "FXContracts",
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], path: "Shared/FXMetrics"),
        .target(name: "FXConfiguration", dependencies: [
            "FXCore",
            .product(name: "Yams", package: "Yams"),
        ], path: "Shared/FXConfiguration"),
        // Venue knowledge: each venue's WebSocket normalizer, REST history reader, symbols and market hours
        // behind one protocol (adding a venue = one folder here, plus its simulator protocol and tests).
        .target(name: "FXVenues", dependencies: [
            "FXContracts", "FXCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Shared/FXVenues"),
        .target(name: "FXIngest", dependencies: [
            "FXContracts", "FXCore", "FXVenues", "FXKafka", "FXConfiguration", "FXMetrics", "FXServiceChassis",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "DequeModule", package: "swift-collections"),
        ], path: "Shared/FXIngest"),
        // Candles: the tick reading, the candle combination, writing, repairs and finals in PostgreSQL,
        // shared by the aggregator (which adds its offset fencing) and the backfiller.
        .target(name: "FXCandles", dependencies: [
            "FXContracts", "FXCore", "FXPostgres", "FXKafka", "FXConfiguration",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/FXCandles"),
        .target(name: "FXAggregate", dependencies: [
            "FXContracts", "FXCore", "FXCandles", "FXKafka", "FXPostgres", "FXConfiguration", "FXServiceChassis", "FXDatabaseChassis", "FXMetrics",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/FXAggregate"),
        // The backfiller's library: gap ledger, shared REST rate limiter, history clients, repair worker.
        .target(name: "FXBackfill", dependencies: [
            "FXContracts", "FXCore", "FXPostgres", "FXConfiguration", "FXKafka", "FXMetrics", "FXDatabaseChassis", "FXServiceChassis", "FXCandles", "FXVenues",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/FXBackfill"),
        // The monitor's library: stream states, instance liveness, latency percentiles.
        .target(name: "FXMonitor", dependencies: [
            "FXContracts", "FXCore", "FXVenues", "FXKafka", "FXConfiguration", "FXServiceChassis", "FXMetrics", "FXPostgres", "FXDatabaseChassis",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Shared/FXMonitor"),
        .target(name: "FXSim", dependencies: [
            "FXCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ], path: "Tools/FXSim"),
        .target(name: "FXKafka", dependencies: [
            "CRdKafka", "FXCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/FXKafka"),
        .target(name: "FXPostgres", dependencies: [
            "CLibPQ", "FXCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/FXPostgres", resources: [.copy("Migrations")]),
        // The chassis of every service (configuration, logging, metrics, health, Kafka); no libpq.
        .target(name: "FXServiceChassis", dependencies: [
            "FXContracts", "FXCore", "FXKafka", "FXConfiguration",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Shared/FXServiceChassis"),
        // What services that use PostgreSQL add to the chassis: database settings, migrations, schema gate.
        .target(name: "FXDatabaseChassis", dependencies: [
            "FXServiceChassis", "FXPostgres", "FXConfiguration", "FXKafka",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/FXDatabaseChassis"),

        // Thin executables.
        .executableTarget(name: "Ingestor", dependencies: ["FXServiceChassis", "FXConfiguration", "FXIngest",
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Ingestor"),
        .executableTarget(name: "FXSimulator", dependencies: ["FXSim",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Tools/FXSimulator"),
        .executableTarget(name: "Aggregator", dependencies: ["FXServiceChassis", "FXDatabaseChassis", "FXConfiguration", "FXAggregate",
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Aggregator"),
        .executableTarget(name: "Backfiller", dependencies: ["FXServiceChassis", "FXDatabaseChassis", "FXConfiguration", "FXBackfill",
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Backfiller"),
        .executableTarget(name: "Monitor", dependencies: ["FXServiceChassis", "FXDatabaseChassis", "FXMonitor", "FXConfiguration",
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Services/Monitor"),
        .executableTarget(name: "FXAdmin", dependencies: ["FXDatabaseChassis",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/FXAdmin"),
        .executableTarget(name: "FXBench", dependencies: ["FXContracts", "FXKafka", "FXPostgres", "FXVenues", "FXIngest", "FXCandles", "FXAggregate", "FXBackfill", "FXMonitor", "FXSim", "FXCore", "FXMetrics", "CRdKafka", "CLibPQ",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Tools/FXBench"),

        // Tests.
        .target(name: "FXTestSupport", dependencies: ["FXContracts", "FXCore", "FXKafka", "FXPostgres", "CRdKafka",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ], path: "Tests/FXTestSupport"),
        .testTarget(name: "FXContractsTests", dependencies: ["FXContracts", "FXCore", "FXTestSupport"], path: "Tests/FXContractsTests"),
        .testTarget(name: "FXCoreTests", dependencies: ["FXContracts", "FXCore"], path: "Tests/FXCoreTests"),
        .testTarget(name: "FXVenuesTests", dependencies: ["FXContracts", "FXVenues", "FXCore"], path: "Tests/FXVenuesTests"),
        .testTarget(name: "FXIngestTests", dependencies: ["FXContracts", "FXIngest", "FXVenues", "FXCore", "FXSim", "FXKafka", "FXTestSupport", "FXServiceChassis", "FXConfiguration",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Tests/FXIngestTests"),
        .testTarget(name: "FXKafkaTests", dependencies: ["FXKafka", "FXTestSupport", "CRdKafka"], path: "Tests/FXKafkaTests"),
        .testTarget(name: "FXAggregateTests", dependencies: ["FXContracts", "FXAggregate", "FXCandles", "FXCore", "FXKafka", "FXPostgres", "FXTestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Tests/FXAggregateTests"),
        .testTarget(name: "FXBackfillTests", dependencies: ["FXContracts", "FXBackfill", "FXCandles", "FXVenues", "FXPostgres", "FXConfiguration", "FXTestSupport", "FXCore", "FXKafka",
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Tests/FXBackfillTests"),
        .testTarget(name: "FXMonitorTests", dependencies: ["FXContracts", "FXMonitor", "FXCore", "FXKafka", "FXTestSupport"], path: "Tests/FXMonitorTests"),
        .testTarget(name: "FXPostgresTests", dependencies: ["FXPostgres", "FXTestSupport"], path: "Tests/FXPostgresTests"),
        .testTarget(name: "FXServiceChassisTests", dependencies: ["FXContracts", "FXServiceChassis", "FXDatabaseChassis", "FXConfiguration", "FXCore", "FXKafka", "FXPostgres", "FXTestSupport", "FXCandles", "FXAggregate", "FXIngest", "FXBackfill", "FXMonitor"], path: "Tests/FXServiceChassisTests"),
    ]
)

// One list of compiler settings for every Swift target: Swift 6 language mode (complete strict
// concurrency checking) and explicit `any` for existentials.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
