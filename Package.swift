// swift-tools-version:6.0
import PackageDescription

/// The linker script that keeps everything but `mb_*` private to libminibatch.so.
let exportsMap = "\(Context.packageDirectory)/Sources/MiniBatchExports/exports.map"

let package = Package(
    name: "minibatch",
    products: [
        // libminibatch.so: the C ABI (include/minibatch.h), self-contained (Swift runtime
        // linked in statically), exporting only mb_* symbols.
        .library(name: "minibatch", type: .dynamic, targets: ["MiniBatchExports"]),
        // The engine for Swift users: `import MiniBatch`.
        .library(name: "MiniBatch", targets: ["MiniBatch"]),
        // The command-line tool: the demo on the built-in dataset.
        .executable(name: "minibatch-cli", targets: ["MiniBatchCLI"]),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS"),
        .systemLibrary(name: "CMiniBatch"),
        .systemLibrary(name: "CIntrinsics"),
        .target(
            name: "MiniBatch",
            dependencies: ["COpenBLAS", "CIntrinsics"]
        ),
        .target(
            name: "MiniBatchExports",
            dependencies: ["MiniBatch", "CMiniBatch"],
            exclude: ["exports.map"],
            linkerSettings: [
                .unsafeFlags(["-static-stdlib", "-Xlinker", "--version-script=\(exportsMap)"]),
            ]
        ),
        .executableTarget(name: "MiniBatchCLI", dependencies: ["MiniBatch"]),
        .testTarget(name: "MiniBatchTests", dependencies: ["MiniBatch"]),
    ]
)
