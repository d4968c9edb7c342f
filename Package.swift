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
        // Distributed training over MPI for Swift users: `import MiniBatchMPI` (needs an MPI:
        // Debian's libopenmpi-dev). The C form is libminibatch_mpi.so, built by the Makefile.
        .library(name: "MiniBatchMPI", targets: ["MiniBatchMPI"]),
        // The command-line tool: train, resume, eval, predict, info, shuffle, demo.
        .executable(name: "minibatch-cli", targets: ["MiniBatchCLI"]),
    ],
    dependencies: [
        // For the command-line tool only: the library products depend on nothing.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.3.0"),
    ],
    targets: [
        .systemLibrary(name: "CMiniBatch"),
        .systemLibrary(name: "CIntrinsics"),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // The matrix-product backend: libxsmm's JIT kernels (Debian's libxsmm-dev, static)
        // where they were measured faster, OpenBLAS (scipy-openblas32, vendored) for the rest.
        // No unsafe flags in this target or in MiniBatch and MiniBatchMPI: SwiftPM refuses them
        // in a dependency resolved by version. OpenBLAS is libscipy_openblas.so from the pinned
        // wheel (`make vendor` unpacks it into .build/vendor/lib), found in the folder of the
        // binaries: SwiftPM links every product with -L and a RUNPATH $ORIGIN to that folder,
        // the Makefile copies the library there, and so does a package that depends on this one
        // (README, Swift). update.c asks for its square root without errno in the source; C
        // is compiled -O2 in release builds.
        .target(
            name: "CMatrix",
            linkerSettings: [
                .linkedLibrary("xsmm"), .linkedLibrary("xsmmnoblas"), .linkedLibrary("dl"),
                .linkedLibrary("scipy_openblas"),
            ]
        ),
        .target(
            name: "MiniBatch",
            dependencies: ["CMatrix", "CIntrinsics"]
        ),
        .target(
            name: "MiniBatchExports",
            dependencies: ["MiniBatch", "CMiniBatch", "CMatrix"],
            exclude: ["exports.map"],
            linkerSettings: [
                .unsafeFlags(["-static-stdlib", "-Xlinker", "--version-script=\(exportsMap)"]),
                // No debug information in the release library: the C kernels' DWARF 5 (clang's
                // default) stops valgrind 3.19 from reading the library at all (`make test-c`),
                // and -gdwarf-4 on CMatrix would be an unsafe flag in MiniBatch's dependency.
                .unsafeFlags(["-Xlinker", "--strip-debug"], .when(configuration: .release)),
            ]
        ),
        // `make install` puts the tool in PREFIX/bin: the Swift runtime linked in, and OpenBLAS
        // found in PREFIX/lib as well as beside it in the build folder.
        .executableTarget(
            name: "MiniBatchCLI",
            dependencies: ["MiniBatch", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: [
                .unsafeFlags(["-static-stdlib", "-Xlinker", "-rpath=$ORIGIN/../lib"]),
                // ArgumentParser imports FoundationEssentials, whose static library needs these
                // two, which -static-stdlib does not add.
                .linkedLibrary("_FoundationCShims"), .linkedLibrary("_FoundationCollections"),
            ]),
        // MPICommunicator; C/ holds libminibatch_mpi's source, which the Makefile builds.
        .target(name: "MiniBatchMPI", dependencies: ["MiniBatch", "CMPI"], exclude: ["C"]),
        // A Swift program that trains across MPI ranks (run by `make test-mpi`).
        .executableTarget(name: "minibatch-mpi-example", dependencies: ["MiniBatch", "MiniBatchMPI"], path: "examples/mpi-swift"),
        .testTarget(name: "MiniBatchTests", dependencies: ["MiniBatch", "CMatrix"]),
        // libFuzzer targets over the engine (`make fuzz`: built with -sanitize=fuzzer,address
        // and -DFUZZING; built plainly they replay the files named on their command line).
        .target(name: "FuzzDriver", path: "Tests/Fuzz/Driver"),
        .executableTarget(name: "fuzz-model-file", dependencies: ["MiniBatch", "FuzzDriver"], path: "Tests/Fuzz/ModelFile"),
        .executableTarget(name: "fuzz-npy", dependencies: ["MiniBatch", "FuzzDriver"], path: "Tests/Fuzz/Npy"),
        .executableTarget(
            name: "fuzz-arguments", dependencies: ["MiniBatchExports", "CMiniBatch", "FuzzDriver"],
            path: "Tests/Fuzz/Arguments"),
    ]
)
