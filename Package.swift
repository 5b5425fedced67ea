// swift-tools-version:6.1
import PackageDescription

// Layers (see docs/architecture.md):
//   WardenCore    pure model: config, validation, plans, state machines. No Glibc, no I/O.
//   WardenLinux   thin effects: spawn, cgroupfs, /proc, signals, sd_notify, libcap.
//   WardenRuntime wires core decisions to effects (the supervisor loop).
//   warden        the command line.
// Release builds of Warden's own targets are optimised for size: the daemon's binary
// is resident as a whole for as long as it runs (the kernel maps a file's cached
// pages around every fault), so its size is most of its PSS (docs/benchmarks.md).
let sizeOptimized: [SwiftSetting] = [.unsafeFlags(["-Osize"], .when(configuration: .release))]
// The release binaries carry the Swift runtime inside them (`-static-stdlib`), and the
// C++ runtime and libgcc under it: it costs less memory and start-up, since the kernel
// keeps the whole of a shared library's symbol tables resident for a program that uses
// part of it, and the dynamic loader resolves its symbols at every start
// (docs/benchmarks.md, "Memory"; `warden run` is a start of the command line, then of the
// daemon). Swift's static link asks for `-lstdc++` with no way to say "static": the
// linker script link/libstdc++.so answers it with the archive.
// Linked by lld with packed relative relocations (glibc 2.36 reads them) and without
// exporting every symbol: the relocation table and dynamic symbols a static runtime
// brings would otherwise be read, so resident, at each start.
let staticRuntime = [
    "-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-Xlinker", "--no-export-dynamic",
    "-L", Context.packageDirectory + "/link", "-Xclang-linker", "-static-libgcc",
]
// The functions the daemon runs are placed first, side by side, in the order of
// link/hot-functions.txt (scripts/hot-functions records them under callgrind): the kernel
// maps cached pages around every fault, so running code spread over all of the text would
// keep most of the text resident. scripts/check-link (a tier of `make test`) fails when
// the list no longer names the daemon's functions; the figures with and without it are in
// docs/benchmarks.md ("Memory").
let selfContained: [LinkerSetting] = [
    .unsafeFlags(
        staticRuntime + [
            "-Xlinker", "--symbol-ordering-file=" + Context.packageDirectory + "/link/hot-functions.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
        ], .when(configuration: .release))
]
// The command line brings ArgumentParser's FoundationEssentials, whose static module does
// not name the two libraries it is built on.
let selfContainedCommandLine: [LinkerSetting] = [
    .unsafeFlags(
        staticRuntime + ["-Xlinker", "-l_FoundationCollections", "-Xlinker", "-l_FoundationCShims"],
        .when(configuration: .release))
]

let package = Package(
    name: "Warden",
    products: [
        .executable(name: "warden", targets: ["warden"]),
        // What `warden run` executes: the daemon without the command line's parser (and
        // the FoundationEssentials it brings), for a smaller resident daemon.
        .executable(name: "warden-daemon", targets: ["warden-daemon"]),
        .executable(name: "warden-demo", targets: ["warden-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        // Prometheus text exposition for `MetricsListen=`: pure Swift, no NIO.
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        // Property-based tests of the governor's invariants (test targets only).
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
    ],
    targets: [
        .target(name: "WardenCore", swiftSettings: sizeOptimized),
        .target(name: "CWardenShims"),
        // TLS for https alert webhooks under Warden's one HTTP client: OpenSSL's libssl,
        // loaded with dlopen at the first https webhook so a daemon without one maps none
        // of it (why not libcurl: Sources/CTLS/include/warden_tls.h); libssl-dev gives
        // the headers.
        .target(name: "CTLS", dependencies: ["CWardenShims"]),
        // libsystemd (sd_notify, the journal, sd-bus), loaded with dlopen at first use like
        // libssl: a daemon not under systemd maps none of it (with libgcrypt, liblz4,
        // libzstd and liblzma about 0.8 MB of PSS). libsystemd-dev gives the headers.
        .target(name: "CSystemd", dependencies: ["CWardenShims"]),
        .systemLibrary(
            name: "CLibcap", pkgConfig: "libcap",
            providers: [.apt(["libcap-dev"])]),
        .target(
            name: "WardenLinux",
            dependencies: [
                "WardenCore", "CWardenShims", "CTLS", "CSystemd", "CLibcap",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sizeOptimized),
        .target(
            name: "WardenRuntime",
            dependencies: [
                "WardenCore", "WardenLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: sizeOptimized),
        .executableTarget(
            name: "warden",
            dependencies: [
                "WardenCore", "WardenLinux", "WardenRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: selfContainedCommandLine),
        .executableTarget(
            name: "warden-daemon",
            dependencies: ["WardenRuntime"],
            swiftSettings: sizeOptimized,
            linkerSettings: selfContained),
        .executableTarget(name: "warden-demo", dependencies: ["CWardenShims"]),
        // Benchmarks (docs/benchmarks.md): the driver. The C component it supervises is built
        // by scripts/bench with gcc (Tests/bench/warden-bench-child.c): linked by swiftc it
        // would load libswiftCore and libstdc++ at every start, 1.5 ms of dynamic loading on
        // the build machine that the restart figure would count as Warden's.
        .executableTarget(name: "warden-bench", dependencies: ["WardenCore"]),
        .testTarget(
            name: "WardenCoreTests",
            dependencies: ["WardenCore", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "WardenLinuxTests", dependencies: ["WardenLinux", "WardenCore"]),
        .testTarget(
            name: "WardenRuntimeTests", dependencies: ["WardenRuntime", "WardenLinux", "WardenCore"]),
    ]
)
