// swift-tools-version:6.0
import PackageDescription

// voxd: the daemon (Host/), the plugin SDK (PluginSDK/), the in-tree plugins
// (Plugins/), tests and benchmarks. Each plugin is its own dynamic library
// product, loaded by the daemon with dlopen through PluginSDK/CVoxPlugin.
let package = Package(
    name: "voxd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "voxd", targets: ["voxd"]),
        .executable(name: "voxctl", targets: ["voxctl"]),
        .library(name: "VoxPluginKit", targets: ["VoxPluginKit"]),
        .library(name: "CVoxPlugin", targets: ["CVoxPlugin"]),
        // Plugins: libvox_<name>.so, found by voxd next to its own binary.
        .library(name: "vox_localtts", type: .dynamic, targets: ["LocalTTS"]),
        .library(name: "vox_examplec", type: .dynamic, targets: ["ExampleC"]),
        .library(name: "vox_openai", type: .dynamic, targets: ["OpenAI"]),
        .library(name: "vox_deepgram", type: .dynamic, targets: ["Deepgram"]),
        .library(name: "vox_groq", type: .dynamic, targets: ["Groq"]),
        .library(name: "vox_sarvam", type: .dynamic, targets: ["Sarvam"]),
        .library(name: "vox_elevenlabs", type: .dynamic, targets: ["ElevenLabs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        // The store: SQLite (WAL) with numbered migrations (Host/VoxHost/Store).
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // The C ABI: one header, the contract with third-party plugins.
        .target(name: "CVoxPlugin", path: "PluginSDK/CVoxPlugin"),
        .target(name: "VoxPluginKit", dependencies: ["CVoxPlugin"], path: "PluginSDK/VoxPluginKit"),

        .target(
            name: "VoxHost",
            dependencies: [
                "CVoxPlugin",
                "VoxPluginKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Host/VoxHost"
        ),
        .executableTarget(
            name: "voxd",
            dependencies: ["VoxHost", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Host/voxd"
        ),
        .executableTarget(
            name: "voxctl",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Host/voxctl"
        ),

        // espeak-ng, linked into LocalTTS (libespeak-ng-dev).
        .systemLibrary(name: "CEspeakNG", path: "Plugins/CEspeakNG", providers: [.apt(["libespeak-ng-dev"])]),
        .target(name: "LocalTTS", dependencies: ["VoxPluginKit", "CEspeakNG"], path: "Plugins/LocalTTS"),
        // Remote providers: VoxPluginKit and ProviderSupport (the shared client,
        // error mapping, settings, SSE, multipart, WAV, OpenAI-compatible chat),
        // linked into each plugin; the network is the host's (context.http).
        .target(name: "ProviderSupport", dependencies: ["VoxPluginKit"], path: "Plugins/ProviderSupport"),
        .target(name: "OpenAI", dependencies: ["VoxPluginKit", "ProviderSupport"], path: "Plugins/OpenAI"),
        .target(name: "Deepgram", dependencies: ["VoxPluginKit", "ProviderSupport"], path: "Plugins/Deepgram"),
        .target(name: "Groq", dependencies: ["VoxPluginKit", "ProviderSupport"], path: "Plugins/Groq"),
        .target(name: "Sarvam", dependencies: ["VoxPluginKit", "ProviderSupport"], path: "Plugins/Sarvam"),
        .target(name: "ElevenLabs", dependencies: ["VoxPluginKit", "ProviderSupport"], path: "Plugins/ElevenLabs"),
        // Plain C, written from the header alone (its own copy of nothing else).
        .target(name: "ExampleC", dependencies: ["CVoxPlugin"], path: "Plugins/ExampleC", exclude: ["README.md"],
                publicHeadersPath: ".", // a plugin exports only its entry symbol: no headers
                linkerSettings: [.linkedLibrary("m"), .linkedLibrary("pthread")]),

        .testTarget(
            name: "VoxHostTests",
            dependencies: ["VoxHost", "VoxPluginKit", "CVoxPlugin", "VoxTestSupport", "ProviderSupport", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "NIOEmbedded", package: "swift-nio")],
            path: "Tests/VoxHostTests"
        ),
        // Shared by the test targets: paths, the fixture compiler, the Morse
        // decoder, and the providers' loopback fakes.
        .target(
            name: "VoxTestSupport",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket")],
            path: "Tests/VoxTestSupport"
        ),
        // AsyncHTTPClient: the reliability tests' load client (hundreds of
        // streams over the unix socket from one process, not one curl each).
        .testTarget(name: "IntegrationTests",
                    dependencies: ["VoxTestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client")],
                    path: "Tests/IntegrationTests",
                    exclude: ["openai_sdk_check.py"]), // run by OpenAIThroughVoxdTests with python3
        // Pure parts of the Deepgram plugin (message mapping, query and
        // format building) tested without the ABI, linked in directly.
        .testTarget(name: "DeepgramTests", dependencies: ["Deepgram", "ProviderSupport", "VoxPluginKit"], path: "Tests/DeepgramTests"),

        .executableTarget(
            name: "VoxBench",
            dependencies: ["VoxHost", "VoxPluginKit", "CVoxPlugin", "VoxTestSupport",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdCore", package: "hummingbird"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "bench/VoxBench"
        ),
    ],
    swiftLanguageModes: [.v5]
)
