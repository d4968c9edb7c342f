import CMatrix

/// What runs the engine's matrix products on this machine.
///
/// Every product goes through `mbm_sgemm` (Sources/CMatrix): libxsmm's JIT kernels, made for
/// the instruction set CPUID reports, where libxsmm supports the product and was measured
/// faster; minibatch's own OpenBLAS (scipy-openblas32, shipped beside the library) for the
/// rest. Neither is the OpenBLAS that numpy or the system load: `OPENBLAS_NUM_THREADS` and
/// `OPENBLAS_CORETYPE` apply to minibatch's OpenBLAS as to any other; libxsmm's kernels
/// follow the CPU alone.
public enum MatrixBackend {
    /// The libraries, their versions, the instruction sets their kernels use, and threads.
    public struct Info: Sendable, Equatable, CustomStringConvertible {
        /// "libxsmm 1.17.0 + OpenBLAS 0.3.34.481.3".
        public let backend: String
        public let openBLASVersion: String
        /// OpenBLAS's kernel set on this CPU ("SkylakeX", "Haswell" when
        /// `OPENBLAS_CORETYPE=Haswell`).
        public let openBLASCore: String
        /// The instruction set of those kernels: "avx512", "avx2", "avx", "sse" or "generic".
        public let openBLASISA: String
        public let libxsmmVersion: String
        /// libxsmm's code target on this CPU ("cpx", "skx", "hsw", ...).
        public let libxsmmTarget: String
        /// The instruction set of the code libxsmm generates.
        public let libxsmmISA: String
        /// The widest instruction set the CPU and the OS support (CPUID and XCR0).
        public let cpuISA: String
        /// OpenBLAS's threads outside training (`OPENBLAS_NUM_THREADS`, else the CPUs); the
        /// automatic training team has as many members.
        public let threads: Int
        /// What runs training's forward products x W^T: libxsmm for the first layer, whose W
        /// training keeps transposed (fewer than 2^18 floats; any size with AVX-512 kernels,
        /// since 0.12.1); for the others, libxsmm through a copy of W^T where W has at most 2^17
        /// floats and the product 128 rows or more (32 where OpenBLAS's kernels are narrower
        /// than libxsmm's AVX-512 ones; since 0.12.2), OpenBLAS otherwise; where libxsmm's
        /// kernels are narrower than AVX-512, libxsmm only while a product's operands fit a
        /// core's L2. Predictions and validation take the copy below 2^19 multiply-adds only
        /// (OpenBLAS runs those on one thread anyway); larger ones stay on OpenBLAS.
        public let trainingForward: String
        /// What runs tanh, logistic and GELU hidden layers (since 0.10.0 SiLU, ELU and SELU
        /// too): glibc's vector tanhf, expf, expm1f and erfcf (libmvec) at a vector width, or
        /// the scalar ones. Since 0.9.0.
        public let activations: String

        public var description: String {
            "\(backend): libxsmm target \(libxsmmTarget) (\(libxsmmISA)), OpenBLAS core "
                + "\(openBLASCore) (\(openBLASISA)); CPU \(cpuISA); \(threads) threads; "
                + "training's forward products: \(trainingForward); tanh, logistic, GELU, SiLU, ELU and SELU layers: \(activations)"
        }
    }

    /// The backend as loaded in this process.
    public static var info: Info {
        let openBLASVersion = String(cString: mbm_openblas_version())
        let libxsmmVersion = String(cString: mbm_libxsmm_version())
        return Info(
            backend: String(cString: mbm_backend_name()),
            openBLASVersion: openBLASVersion,
            openBLASCore: String(cString: mbm_openblas_core()),
            openBLASISA: String(cString: mbm_openblas_isa()),
            libxsmmVersion: libxsmmVersion,
            libxsmmTarget: String(cString: mbm_libxsmm_target()),
            libxsmmISA: String(cString: mbm_libxsmm_isa()),
            cpuISA: String(cString: mbm_cpu_isa()),
            threads: BLASThreads.available,
            trainingForward: String(cString: mbm_training_forward()),
            activations: String(cString: mbm_vector_math_name()))
    }

    /// `body` with the calling thread marked as running a training step's products
    /// (`mbm_set_training_products`), which decides where a product with W untransposed runs
    /// (matrix.c): a training team member's phases, and `Network.gradient`, which computes
    /// what a one-thread training step computes. Put back after.
    static func trainingProducts<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let was = mbm_set_training_products(1)
        defer { mbm_set_training_products(was) }
        return try body()
    }
}
