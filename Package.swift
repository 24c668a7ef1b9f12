// swift-tools-version: 6.0
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
    ],
    targets: [
        // C bridges (system libraries).
        .systemLibrary(name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),

        // Shared libraries.
        .target(name: "FXCore", path: "Shared/FXCore"),
        .target(name: "FXIngest", dependencies: [
            "FXCore", "FXKafka", "FXServiceChassis",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Shared/FXIngest"),
        .target(name: "FXSim", dependencies: [
            "FXCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ], path: "Shared/FXSim"),
        .target(name: "FXKafka", dependencies: [
            "CRdKafka", "FXCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/FXKafka"),
        .target(name: "FXPostgres", dependencies: [
            "CLibPQ", "FXCore",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/FXPostgres", resources: [.copy("Migrations")]),
        .target(name: "FXServiceChassis", dependencies: [
            "FXCore", "FXKafka", "FXPostgres",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Shared/FXServiceChassis"),

        // Thin executables.
        .executableTarget(name: "Ingestor", dependencies: ["FXServiceChassis", "FXIngest"], path: "Services/Ingestor"),
        .executableTarget(name: "FXSimulator", dependencies: ["FXSim",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Services/FXSim"),
        .executableTarget(name: "Aggregator", dependencies: ["FXServiceChassis"], path: "Services/Aggregator"),
        .executableTarget(name: "Backfiller", dependencies: ["FXServiceChassis"], path: "Services/Backfiller"),
        .executableTarget(name: "Monitor", dependencies: ["FXServiceChassis"], path: "Services/Monitor"),
        .executableTarget(name: "FXAdmin", dependencies: ["FXServiceChassis"], path: "Services/FXAdmin"),
        .executableTarget(name: "FXBench", dependencies: ["FXKafka", "FXPostgres", "FXIngest", "FXCore", "CRdKafka", "CLibPQ",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Benchmarks/FXBench"),

        // Tests.
        .target(name: "FXTestSupport", dependencies: ["FXKafka", "FXPostgres",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/FXTestSupport"),
        .testTarget(name: "FXCoreTests", dependencies: ["FXCore"], path: "Tests/FXCoreTests"),
        .testTarget(name: "FXIngestTests", dependencies: ["FXIngest", "FXCore", "FXSim", "FXKafka", "FXTestSupport", "FXServiceChassis",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], path: "Tests/FXIngestTests"),
        .testTarget(name: "FXKafkaTests", dependencies: ["FXKafka", "FXTestSupport", "CRdKafka"], path: "Tests/FXKafkaTests"),
        .testTarget(name: "FXPostgresTests", dependencies: ["FXPostgres", "FXTestSupport"], path: "Tests/FXPostgresTests"),
        .testTarget(name: "FXServiceChassisTests", dependencies: ["FXServiceChassis", "FXTestSupport"], path: "Tests/FXServiceChassisTests"),
    ]
)
