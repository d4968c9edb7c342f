import CMatrix
import Testing
@testable import MiniBatch

#if canImport(Glibc)
import Glibc
#endif

/// The matrix backend (`mbm_sgemm`: libxsmm where it runs a product, OpenBLAS otherwise)
/// against a float64 reference at every shape the engine multiplies, and what it reports
/// against the CPU's flags.
struct MatrixBackendTests {
    /// One product the engine makes: row-major C (m, n) = alpha op(A) op(B) + beta C.
    struct Product: CustomStringConvertible, Sendable {
        let transA: Bool, transB: Bool
        let m: Int, n: Int, k: Int
        var alpha: Float = 1
        var beta: Float = 0
        /// A's leading dimension when it is wider than op(A) needs (dW of a share of units).
        var lda: Int? = nil
        var description: String {
            "\(transA ? "T" : "N")\(transB ? "T" : "N") \(m)x\(n)x\(k) alpha \(alpha) beta \(beta)"
        }
    }

    /// The layer's three products at `rows` (Dense.forward, Dense.backward's d input and
    /// weightGradient), dW also added to what C holds (chunks) and scaled by -rate into W
    /// (the fused first-layer update); and a first layer's two as training runs them with W
    /// kept transposed (`forwardTransposed`, dW^T = x^T dz, also added to C).
    static func layer(rows: Int, nIn: Int, nOut: Int) -> [Product] {
        [Product(transA: false, transB: true, m: rows, n: nOut, k: nIn),
         Product(transA: false, transB: false, m: rows, n: nOut, k: nIn),  // forward as x (W^T)
         Product(transA: false, transB: false, m: rows, n: nIn, k: nOut),
         Product(transA: true, transB: false, m: nOut, n: nIn, k: rows),
         Product(transA: true, transB: false, m: nOut, n: nIn, k: rows, beta: 1),
         Product(transA: true, transB: false, m: nIn, n: nOut, k: rows),  // dW^T
         Product(transA: true, transB: false, m: nIn, n: nOut, k: rows, beta: 1),
         Product(transA: true, transB: false, m: nOut / 2 + 1, n: nIn, k: rows, alpha: -0.05, beta: 1, lda: nOut),
         Product(transA: false, transB: false, m: rows, n: nIn, k: nOut, alpha: 0.3, beta: 0)]
    }

    static func products() -> [Product] {
        // W1 (784-128-10) at shards of 4 to 32 rows, batches 64-512 and 256-row chunks; a
        // small model and odd sizes; a wide layer past libxsmm's transposed-B limit.
        var all: [Product] = []
        for rows in [4, 16, 32, 64, 128, 256, 512] {
            all += layer(rows: rows, nIn: 784, nOut: 128) + layer(rows: rows, nIn: 128, nOut: 10)
        }
        all += layer(rows: 7, nIn: 2, nOut: 16) + layer(rows: 13, nIn: 16, nOut: 1)
        all += layer(rows: 1, nIn: 5, nOut: 3) + layer(rows: 256, nIn: 1024, nOut: 1024)
        // B past 5/8 of a 2 MiB L2, which AVX-512 kernels take in chunks along k
        // (`mbm_libxsmm_k_chunk`): x (W^T kept) of odd sizes, and A^T B (dW^T) with a last,
        // shorter chunk, added to C and scaled.
        all += [Product(transA: false, transB: false, m: 40, n: 1000, k: 790),
                Product(transA: false, transB: false, m: 40, n: 1000, k: 790, beta: 1),
                Product(transA: true, transB: false, m: 96, n: 1024, k: 520),
                Product(transA: true, transB: false, m: 96, n: 1024, k: 520, alpha: -0.05, beta: 1),
                // n % 64 = 16 (the kernels' last rows in partial sums) and a last chunk of 6
                Product(transA: false, transB: false, m: 24, n: 1040, k: 790),
                Product(transA: true, transB: false, m: 30, n: 400, k: 900, beta: 1),
                // x W^T through a copy of W^T (`COPIED_B_LIMIT`), added to C; just past the limit
                Product(transA: false, transB: true, m: 130, n: 37, k: 50, beta: 1),
                Product(transA: false, transB: true, m: 128, n: 257, k: 512)]
        return all
    }

    @Test(arguments: products())
    func productMatchesFloat64Reference(_ p: Product) {
        let rowsA = p.transA ? p.k : p.m, colsA = p.transA ? p.m : p.k
        let lda = p.lda ?? colsA
        let rowsB = p.transB ? p.n : p.k, colsB = p.transB ? p.k : p.n
        let a = Fixture.uniform(rowsA * lda, seed: 11, scale: 2)
        let b = Fixture.uniform(rowsB * colsB, seed: 12)
        let c0 = Fixture.uniform(p.m * p.n, seed: 13)
        var c = c0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    mbm_sgemm(p.transA ? 1 : 0, p.transB ? 1 : 0, Int32(p.m), Int32(p.n), Int32(p.k), p.alpha,
                              a.baseAddress, Int32(lda), b.baseAddress, Int32(colsB), p.beta, c.baseAddress, Int32(p.n))
                }
            }
        }
        _ = rowsA
        // float64 reference; a float32 sum of k products errs by at most about k u sum|a b|.
        var worst = 0.0
        for i in 0..<p.m {
            for j in 0..<p.n {
                var sum = 0.0, magnitude = 0.0
                for q in 0..<p.k {
                    let x = Double(p.transA ? a[q * lda + i] : a[i * lda + q])
                    let y = Double(p.transB ? b[j * colsB + q] : b[q * colsB + j])
                    sum += x * y
                    magnitude += abs(x * y)
                }
                let expected = Double(p.alpha) * sum + Double(p.beta) * Double(c0[i * p.n + j])
                let bound = Double(p.k + 2) * 1.2e-7 * (abs(Double(p.alpha)) * magnitude + abs(Double(c0[i * p.n + j]))) + 1e-30
                worst = max(worst, abs(Double(c[i * p.n + j]) - expected) / bound)
            }
        }
        #expect(worst <= 1, "\(p): error \(worst) x the float32 bound (libxsmm: \(mbm_uses_libxsmm(p.transA ? 1 : 0, p.transB ? 1 : 0, Int32(p.m), Int32(p.n), Int32(p.k), p.alpha, p.beta)))")
    }

    /// The stated rule: libxsmm for products whose B is not transposed, beta 0 or 1, A^T B
    /// only while B has fewer than 2^18 floats unless the kernels are AVX-512, and an alpha
    /// other than 1 only for an op(A)
    /// of at most 2^18 floats (scaled into a buffer first); A B^T (alpha 1) through a copy of
    /// B^T where B has at most 2^17 floats and A at least 128 rows (32 where OpenBLAS's
    /// kernels are narrower than libxsmm's AVX-512 ones), outside a training step's products
    /// only below 2^19 multiply-adds; where libxsmm's kernels are narrower than AVX-512, only
    /// while A, B and C together fit a core's L2.
    @Test func libxsmmRunsTheProductsTheRuleNames() {
        let fit = mbm_libxsmm_fit_floats()
        let wide = MatrixBackend.info.libxsmmISA == "avx512"
        let narrowerOpenBLAS = wide && MatrixBackend.info.openBLASISA != "avx512"
        #expect(wide == (fit == 0), "libxsmm \(MatrixBackend.info.libxsmmISA), fit \(fit)")
        if !wide {
            let l2 = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
            #expect(fit == (l2 > 0 ? l2 : 256 * 1024) / 4, "L2 \(l2) bytes, fit \(fit) floats")
        }
        // (trans A, trans B, m, n, k, alpha, beta), what the rule says before the L2 test
        let products: [(Int32, Int32, Int32, Int32, Int32, Float, Float, Bool)] = [
            (1, 0, 128, 784, 128, 1, 0, true),      // dW at 128 rows
            (1, 0, 128, 784, 256, 1, 1, true),      // dW, chunk added
            (1, 0, 784, 128, 16, 1, 0, true),       // dW^T at 16 rows
            (1, 0, 784, 128, 256, 1, 0, true),      // dW^T at 256 rows
            (0, 0, 16, 128, 784, 1, 0, true),       // forward x (W^T kept), 16 rows
            (0, 0, 256, 128, 784, 1, 0, true),      // forward x (W^T kept), 256 rows
            (0, 0, 128, 128, 10, 1, 0, true),       // d input
            (0, 1, 128, 128, 784, 1, 0, true),      // forward x W^T, 128 rows: W^T copied
            (0, 1, 256, 10, 128, 1, 1, true),       // the output layer's, 256 rows, added to C
            (0, 1, 127, 10, 128, 1, 0, narrowerOpenBLAS), // below 128 rows: only past OpenBLAS's kernels
            (0, 1, 32, 10, 128, 1, 0, narrowerOpenBLAS),
            (0, 1, 31, 10, 128, 1, 0, false),       // below 32 rows: OpenBLAS
            (0, 1, 128, 256, 512, 1, 0, true),      // W of 2^17 floats
            (0, 1, 256, 16, 256, 1, 0, true),       // 2^20 multiply-adds, fitting a 512 KiB L2
            (0, 1, 512, 512, 257, 1, 0, false),     // W of more than 2^17 floats
            (0, 1, 256, 10, 128, 0.5, 0, false),    // alpha
            (1, 1, 256, 10, 128, 1, 0, false),      // A transposed too
            (1, 0, 64, 784, 128, -0.1, 1, true),    // fused update, scaled dz
            (1, 0, 1024, 784, 300, -0.1, 1, false), // a dz of 300k floats
            (1, 0, 64, 784, 128, .nan, 1, false),
        ]
        for (ta, tb, m, n, k, alpha, beta, base) in products {
            let footprint = Int64(m) * Int64(k) + Int64(k) * Int64(n) + Int64(m) * Int64(n)
            let expected = base && (wide || footprint <= fit)
            #expect(mbm_libxsmm_rule(ta, tb, m, n, k, alpha, beta, 1) == (expected ? 1 : 0),
                    "\((ta, tb, m, n, k, alpha, beta)): libxsmm \(MatrixBackend.info.libxsmmISA), fit \(fit)")
            // Outside a training step's products, B transposed only below 2^19 multiply-adds
            // (OpenBLAS runs those on one thread anyway).
            let small = Int64(m) * Int64(n) * Int64(k) < 1 << 19
            #expect(mbm_libxsmm_rule(ta, tb, m, n, k, alpha, beta, 0) == (expected && (tb == 0 || small) ? 1 : 0),
                    "\((ta, tb, m, n, k, alpha, beta)) outside training")
            // and the rule as it stands: this thread's flag, whatever other threads do
            #expect(mbm_uses_libxsmm(ta, tb, m, n, k, alpha, beta) == mbm_libxsmm_rule(ta, tb, m, n, k, alpha, beta, 0))
            let was = mbm_set_training_products(1)
            #expect(was == 0)
            #expect(mbm_uses_libxsmm(ta, tb, m, n, k, alpha, beta) == mbm_libxsmm_rule(ta, tb, m, n, k, alpha, beta, 1))
            #expect(mbm_set_training_products(was) == 1)
        }
        // A^T B with a B of 2^18 floats and more: AVX-512 kernels only (in chunks, below).
        #expect(mbm_uses_libxsmm(1, 0, 1024, 1024, 256, 1, 0) == (wide ? 1 : 0))
        #expect(mbm_uses_libxsmm(1, 0, 784, 1024, 512, 1, 1) == (wide ? 1 : 0))
    }

    /// A B^T through the copy (`mbm_sgemm_copied_b`, mbm_sgemm's path where the rule gives
    /// it to libxsmm) is libxsmm's product with B^T written out, bit for bit, in one call
    /// (no chunks): the copy changes no bit; and it is within float32's error of a float64
    /// reference (W1's output layer and a hidden layer, a B with a leading dimension wider
    /// than its rows, beta 0 and 1). A leading dimension shorter than B's rows is refused,
    /// C untouched.
    @Test func transposedBThroughTheCopyIsLibxsmmsProduct() {
        for (m, n, k, ldb) in [(128, 10, 128, 128), (256, 128, 784, 784), (300, 33, 70, 75), (40, 7, 3, 3)] {
            let a = Fixture.uniform(m * k, seed: 31, scale: 2), b = Fixture.uniform(n * ldb, seed: 32)
            var transposed = [Float](repeating: 0, count: k * n)
            for j in 0..<n { for q in 0..<k { transposed[q * n + j] = b[j * ldb + q] } }
            for beta: Float in [0, 1] {
                let c0 = Fixture.uniform(m * n, seed: 33)
                var c = c0, expected = c0
                #expect(mbm_sgemm_copied_b(Int32(m), Int32(n), Int32(k), a, Int32(k), b, Int32(ldb), beta, &c, Int32(n)) == 1)
                let ran = mbm_sgemm_libxsmm(
                    0, Int32(m), Int32(n), Int32(k), a, Int32(k), transposed, Int32(n), beta, &expected, Int32(n), Int32(k))
                #expect(ran == 1)
                #expect(c.map(\.bitPattern) == expected.map(\.bitPattern), "\((m, n, k, ldb)) beta \(beta)")
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = Double(beta) * Double(c0[i * n + j]), magnitude = abs(sum)
                        for q in 0..<k {
                            let product = Double(a[i * k + q]) * Double(b[j * ldb + q])
                            sum += product
                            magnitude += abs(product)
                        }
                        worst = max(worst, abs(Double(c[i * n + j]) - sum) / (Double(k + 2) * 1.2e-7 * magnitude + 1e-30))
                    }
                }
                #expect(worst <= 1, "\((m, n, k, ldb)) beta \(beta): \(worst) x the float32 bound")
            }
        }
        var c = [Float](repeating: 7, count: 4)
        let a = [Float](repeating: 1, count: 8), b = [Float](repeating: 1, count: 8)
        #expect(mbm_sgemm_copied_b(2, 2, 4, a, 4, b, 3, 0, &c, 2) == 0)
        #expect(c == [7, 7, 7, 7])
        // mbm_sgemm takes that path where the rule says: W1's output layer at 128 rows (any
        // thread), an output layer of 16 x 256 at 256 rows in a training step's products only
        // (seen where the two ways round differently: under OPENBLAS_CORETYPE=Haswell here,
        // libxsmm summing the columns of C past the last multiple of 64 in partial sums;
        // OpenBLAS's SkylakeX kernels gave libxsmm's bits at these shapes).
        for (m, n, k, training) in [(128, 10, 128, Int32(0)), (256, 16, 256, 1), (256, 16, 256, 0)] {
            let was = mbm_set_training_products(training)
            defer { mbm_set_training_products(was) }
            let copied = mbm_uses_libxsmm(0, 1, Int32(m), Int32(n), Int32(k), 1, 0) == 1
            let fits = MatrixBackend.info.libxsmmISA == "avx512" || Int64(m * k + k * n + m * n) <= mbm_libxsmm_fit_floats()
            if (n == 10 || training == 1) && fits { #expect(copied, "\((m, n, k)) training \(training)") }
            if training == 0 && m * n * k >= 1 << 19 { #expect(!copied, "\((m, n, k)) outside training") }
            let a = Fixture.uniform(m * k, seed: 34, scale: 2), b = Fixture.uniform(n * k, seed: 35)
            var c = [Float](repeating: 0, count: m * n), viaCopy = c, viaOpenBLAS = c
            mbm_sgemm(0, 1, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
            #expect(mbm_sgemm_copied_b(Int32(m), Int32(n), Int32(k), a, Int32(k), b, Int32(k), 0, &viaCopy, Int32(n)) == 1)
            mbm_sgemm_openblas(0, 1, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &viaOpenBLAS, Int32(n))
            #expect(c.map(\.bitPattern) == (copied ? viaCopy : viaOpenBLAS).map(\.bitPattern), "\((m, n, k)) training \(training)")
        }
    }

    /// A product in chunks along k (each kernel call adding to C after the first) gives the
    /// bits of one call: every C element still takes its k products in order, in one float
    /// accumulation (for n % 64 outside 1...16 and n > 16: below that libxsmm's AVX-512
    /// kernels sum the last rows of C^T in partial sums grouped by the call's k, and the
    /// float64 reference test checks those shapes). And the stated rule for the chunk: with AVX-512 kernels, a B of more
    /// than 5/8 of a core's L2 in chunks of rows holding a quarter of it (a multiple of 16).
    @Test func chunksAlongKGiveTheBitsOfOneCall() {
        let wide = MatrixBackend.info.libxsmmISA == "avx512"
        let l2 = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
        let floats = (l2 > 0 ? l2 : 256 * 1024) / 4
        for (n, k) in [(128, 784), (1024, 784), (1000, 790), (2048, 784), (1024, 128), (1024, 520), (8192, 8192), (1 << 20, 64)] {
            var expected = k
            if wide && k * n > floats / 8 * 5 { expected = min(k, max(16, floats / 4 / n / 16 * 16)) }
            #expect(Int(mbm_libxsmm_k_chunk(Int32(n), Int32(k))) == expected, "\(n) x \(k)")
        }
        for (ta, m, n, k) in [(Int32(0), 40, 1000, 790), (0, 7, 33, 100), (1, 96, 1024, 520), (1, 13, 17, 61)] {
            let a = Fixture.uniform(m * k, seed: 21, scale: 2), b = Fixture.uniform(k * n, seed: 22)
            let lda = ta == 1 ? m : k
            for beta: Float in [0, 1] {
                var results: [[UInt32]] = []
                for chunk in [k, 16, 23, 128, k - 1] {
                    var c = Fixture.uniform(m * n, seed: 23)
                    let ran = mbm_sgemm_libxsmm(ta, Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(n), beta, &c, Int32(n), Int32(chunk))
                    #expect(ran == 1, "\((ta, m, n, k)) chunk \(chunk)")
                    results.append(c.map(\.bitPattern))
                }
                for (i, r) in results.enumerated().dropFirst() {
                    #expect(r == results[0], "\((ta, m, n, k)) beta \(beta): chunking \(i) differs")
                }
            }
        }
    }

    /// The transpose that puts the first layer's W into training's layout and back: exact;
    /// and the stated rule for which W training keeps transposed (fewer than 2^18 floats, or
    /// any with AVX-512 kernels).
    @Test func firstWeightsTransposeWhereTheRuleSays() throws {
        let w = Fixture.uniform(128 * 784, seed: 5)
        var t = [Float](repeating: 0, count: w.count)
        mbm_transpose(w, 128, 784, &t)
        var mismatches = 0
        for i in 0..<128 {
            for j in 0..<784 where t[j * 128 + i] != w[i * 784 + j] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        var back = [Float](repeating: 0, count: w.count)
        mbm_transpose(t, 784, 128, &back)
        #expect(back == w)
        #expect(mbm_training_transposes_first_weights(128, 784) == 1)
        #expect(mbm_training_transposes_first_weights(255, 1024) == 1)
        #expect(mbm_training_transposes_first_weights(0, 784) == 0)
        // From 2^18 floats: only with AVX-512 kernels (which take a large W^T in chunks).
        let wide = String(cString: mbm_libxsmm_isa()) == "avx512"
        for (n, k) in [(256, 1024), (512, 784), (1024, 784), (4096, 4096)] {
            #expect(mbm_training_transposes_first_weights(Int32(n), Int32(k)) == (wide ? 1 : 0), "\(n) x \(k)")
        }
        for sizes in [[784, 128, 10], [784, 256, 10], [512, 511, 2], [512, 512, 2], [784, 512, 10], [784, 1024, 10]] {
            let network = try Network(layerSizes: sizes)
            let weights = sizes[0] * sizes[1]
            #expect(TrainingStep.fusesFirstWeights(network) == (weights >= 1 << 18), "\(sizes)")
            #expect(TrainingStep.transposesFirstWeights(network) == (weights < 1 << 18 || wide), "\(sizes)")
        }
        #expect(!TrainingStep.transposesFirstWeights(try Network(layerSizes: [5, 3])))
        #expect(MatrixBackend.info.trainingForward.hasPrefix("libxsmm on the first layer's W kept transposed"))
        #expect(MatrixBackend.info.trainingForward.contains("any size") == wide)
    }

    /// The instruction sets reported match /proc/cpuinfo: an AVX-512 CPU runs AVX-512
    /// kernels (OpenBLAS's only where OPENBLAS_CORETYPE does not choose others).
    @Test func reportedInstructionSetsMatchTheCPUFlags() throws {
        guard let flags = Self.cpuFlags() else {
            print("skipped: /proc/cpuinfo has no flags line (not Linux on x86-64)")
            return
        }
        let widest = flags.contains("avx512f") ? "avx512" : flags.contains("avx2") && flags.contains("fma") ? "avx2"
            : flags.contains("avx") ? "avx" : "sse"
        let info = MatrixBackend.info
        #expect(info.cpuISA == widest, "\(info)")
        #expect(info.libxsmmISA == widest, "\(info)")
        if getenv("OPENBLAS_CORETYPE") == nil {
            #expect(info.openBLASISA == widest, "\(info)")
        } else {
            #expect(info.openBLASISA != "generic", "\(info)")
        }
        #expect(info.backend.hasPrefix("libxsmm 1.17"), "\(info)")
        #expect(info.openBLASVersion.hasPrefix("0.3.34"), "\(info)")
        #expect(info.threads >= 1)
    }

    static func cpuFlags() -> Set<Substring>? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            if text.hasPrefix("flags") {
                return Set(text.split(separator: ":", maxSplits: 1).last!.split(whereSeparator: { $0 == " " || $0 == "\n" }))
            }
        }
        return nil
    }
}
