// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for FXStream, in their own package so the root build (`swift build`) is unaffected.
// Library targets are SYMLINKS to the real sources under `../Shared` (only files that import nothing
// heavier than FXCore/Foundation/Synchronization), so the fuzzed code is the shipped code and only it
// is instrumented. Build and run with `scripts/fuzz.sh` (scratch path `.build-fuzz` at the repo root).
// Linux only: needs a toolchain with libFuzzer (`swiftc -sanitize=fuzzer`).

let fuzzFlags: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-sanitize=fuzzer"]),
]
// Executables: `main.swift` hands control to libFuzzer's driver (`runFuzzer`, see FuzzSupport); the
// entry `LLVMFuzzerTestOneInput` is exported too, as libFuzzer expects.
let executableFlags = fuzzFlags
let fuzzLink: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer"])]

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: dependencies, path: "Sources/\(name)",
                      swiftSettings: executableFlags, linkerSettings: fuzzLink)
}

let package = Package(
    name: "FXStreamFuzz",
    products: [],
    targets: [
        // Every file of Shared/FXCore (a directory symlink: new files are picked up).
        .target(name: "FXCore", path: "Sources/FXCore", swiftSettings: fuzzFlags),
        // Every file of Shared/FXContracts (a directory symlink).
        .target(name: "FXContracts", dependencies: ["FXCore"], path: "Sources/FXContracts", swiftSettings: fuzzFlags),
        // Stand-in for swift-crypto, only so the real CoinbaseProvider.swift compiles (see the file).
        .target(name: "Crypto", path: "Sources/Crypto", swiftSettings: fuzzFlags),
        // Shared/FXVenues: normalizers, contract check, symbols, providers, history readers.
        .target(name: "FXVenues", dependencies: ["FXCore", "FXContracts", "Crypto"], path: "Sources/FXVenues", swiftSettings: fuzzFlags),
        // The pure part of Shared/FXIngest: the feed tracker and the book keeper.
        .target(name: "FXIngest", dependencies: ["FXCore", "FXContracts", "FXVenues"], path: "Sources/FXIngest", swiftSettings: fuzzFlags),
        // The pure part of Shared/FXMonitor: StreamBoard, PipelineBook, RateMeter and their value types.
        .target(name: "FXMonitor", dependencies: ["FXCore", "FXContracts", "FXVenues"], path: "Sources/FXMonitor", swiftSettings: fuzzFlags),

        // Helpers shared by the fuzz targets (input splitting, invariant checks).
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport", swiftSettings: fuzzFlags),

        fuzzTarget("FuzzJSON", ["FXCore", "FXContracts", "FuzzSupport"]),
        fuzzTarget("FuzzNormalizers", ["FXCore", "FXContracts", "FuzzSupport", "FXVenues", "FXIngest"]),
        fuzzTarget("FuzzTickCopy", ["FXCore", "FXContracts", "FuzzSupport"]),
        fuzzTarget("FuzzGapEvent", ["FXCore", "FXContracts", "FuzzSupport"]),
        fuzzTarget("FuzzMonitor", ["FXCore", "FXContracts", "FuzzSupport", "FXVenues", "FXMonitor"]),
        fuzzTarget("FuzzHistory", ["FXCore", "FXContracts", "FuzzSupport", "FXVenues"]),
        fuzzTarget("FuzzTLCP", ["FXCore", "FuzzSupport", "FXVenues"]),
        fuzzTarget("FuzzRawRecord", ["FXCore", "FXContracts", "FuzzSupport"]),
    ]
)
