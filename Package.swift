// swift-tools-version:6.0
import PackageDescription

/// The linker script that keeps everything but `mb_*` private to libminibatch.so.
let exportsMap = "\(Context.packageDirectory)/Sources/MiniBatchExports/exports.map"

/// OpenBLAS from the pinned scipy-openblas32 wheel, unpacked here by `make vendor`
/// (libscipy_openblas.so). Every binary that links it finds it beside itself ($ORIGIN):
/// the Makefile copies it next to libminibatch.so, the tool and the tests.
let vendorLib = "\(Context.packageDirectory)/.build/vendor/lib"

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
        // The command-line tool: the demo on the built-in dataset.
        .executable(name: "minibatch-cli", targets: ["MiniBatchCLI"]),
    ],
    targets: [
        .systemLibrary(name: "CMiniBatch"),
        .systemLibrary(name: "CIntrinsics"),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // The matrix-product backend: libxsmm's JIT kernels (Debian's libxsmm-dev, static)
        // where they were measured faster, OpenBLAS (scipy-openblas32, vendored) for the rest.
        .target(
            name: "CMatrix",
            cSettings: [.unsafeFlags(["-O2", "-fno-math-errno", "-gdwarf-4"])],
            linkerSettings: [
                .linkedLibrary("xsmm"), .linkedLibrary("xsmmnoblas"), .linkedLibrary("dl"),
                .linkedLibrary("scipy_openblas"),
                .unsafeFlags(["-L\(vendorLib)", "-Xlinker", "-rpath=$ORIGIN"]),
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
            ]
        ),
        .executableTarget(name: "MiniBatchCLI", dependencies: ["MiniBatch"]),
        // MPICommunicator; C/ holds libminibatch_mpi's source, which the Makefile builds.
        .target(name: "MiniBatchMPI", dependencies: ["MiniBatch", "CMPI"], exclude: ["C"]),
        // A Swift program that trains across MPI ranks (run by Tests/mpi/run.sh).
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
