// swift-tools-version:6.0
// The sandbox: one module per process role (see DESIGN.md, "Layout").

import PackageDescription

/// Settings every Swift target shares: Swift 6 mode, existential `any`, explicit imports.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Sandbox",
    products: [
        .executable(name: "runsc", targets: ["Runsc"]),
        .executable(name: "flipcall-bench", targets: ["FlipcallBench"]),
        .executable(name: "gofer-bench", targets: ["GoferBench"]),
        .executable(name: "netstack-bench", targets: ["NetstackBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C where Swift cannot go: variadic syscalls, CMSG macros, post-fork child code.
        .target(name: "CShim"),
        .systemLibrary(name: "CSeccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CNuma", providers: [.apt(["libnuma-dev"])]),

        .target(name: "LinuxABI", swiftSettings: swiftSettings),
        .target(
            name: "HostSys",
            dependencies: [
                "CShim", "CSeccomp", "CNuma", "LinuxABI",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Flipcall",
            dependencies: [
                "HostSys", "LinuxABI",
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Gofer",
            dependencies: ["Flipcall", "HostSys", "LinuxABI", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(name: "Netstack", dependencies: ["Flipcall", "HostSys", "LinuxABI"], swiftSettings: swiftSettings),
        .target(
            name: "Sentry",
            dependencies: [
                "CShim", "Flipcall", "Gofer", "Netstack", "HostSys", "LinuxABI", .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Loader/README.md", "Syscalls/README.md", "Platform/README.md", "MM/README.md", "Kernel/README.md"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "Runsc",
            dependencies: [
                "Sentry", "Gofer", "Netstack", "HostSys", "LinuxABI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "FlipcallBench",
            dependencies: [
                "Flipcall", "HostSys", "LinuxABI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        .executableTarget(
            name: "NetstackBench",
            dependencies: ["Netstack", "HostSys", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "GoferBench",
            dependencies: [
                "Gofer", "Flipcall", "HostSys", "LinuxABI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // The second process of the HostSys and Flipcall tests (a peer endpoint, a child under
        // a seccomp filter): a separate executable, so tests cross a real process boundary.
        .executableTarget(
            name: "sandbox-test-helper", dependencies: ["Flipcall", "Gofer", "HostSys", "LinuxABI"],
            path: "Tests/TestHelper", swiftSettings: swiftSettings),

        // Shared by the test targets: finds and runs sandbox-test-helper.
        .target(
            name: "TestSupport", dependencies: ["HostSys", "LinuxABI"], path: "Tests/TestSupport",
            swiftSettings: swiftSettings),
        .testTarget(name: "LinuxABITests", dependencies: ["LinuxABI", "CShim"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HostSysTests", dependencies: ["HostSys", "LinuxABI", "TestSupport", "sandbox-test-helper"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FlipcallTests", dependencies: ["Flipcall", "HostSys", "LinuxABI", "TestSupport", "sandbox-test-helper"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "GoferTests",
            dependencies: ["Gofer", "Flipcall", "HostSys", "LinuxABI", "TestSupport", "sandbox-test-helper", "Runsc"],
            swiftSettings: swiftSettings),
        .testTarget(name: "NetstackTests", dependencies: ["Netstack"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SentryTests",
            dependencies: ["Sentry", "Gofer", "HostSys", "LinuxABI", "TestSupport", "sandbox-test-helper"],
            exclude: ["Programs"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "RunscTests", dependencies: ["Runsc", "Sentry", "Netstack", "HostSys", "LinuxABI", "TestSupport"], exclude: ["Programs"],
            swiftSettings: swiftSettings),
    ]
)
