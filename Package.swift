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
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", exact: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", exact: "1.6.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-collections", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        // Their dependencies, pinned too (no target uses them directly): with every version exact, a build
        // resolves the same graph everywhere (a committed Package.resolved cannot be: local copies' commits differ).
        .package(url: "https://github.com/adam-fowler/compress-nio.git", exact: "1.5.0"),
        .package(url: "https://github.com/apple/swift-algorithms.git", exact: "1.2.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", exact: "1.4.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", exact: "1.7.3"),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", exact: "1.7.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-transport-services.git", exact: "1.28.0"),
        .package(url: "https://github.com/apple/swift-numerics", exact: "1.1.1"),
        .package(url: "https://github.com/apple/swift-service-context.git", exact: "1.5.1"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
    ],
    targets: [
        // C bridges (system libraries).
        .systemLibrary(name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        // zstd, for the raw capture's export files (librdkafka links it already).
        .systemLibrary(name: "CZstd", path: "Shared/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),

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
            "FXContracts", "FXCore", "FXVenues", "FXKafka", "FXConfiguration", "FXMetrics", "FXServiceChassis", "CZstd",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
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
        .executableTarget(name: "FXAdmin", dependencies: ["FXDatabaseChassis", "FXIngest", "FXContracts", "FXCore",
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
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
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
