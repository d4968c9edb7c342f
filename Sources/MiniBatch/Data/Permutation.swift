/// The order in which an epoch visits the examples.
///
/// `permutation(m, seed, epoch)` starts from 0, 1, ..., m-1 and runs Fisher-Yates from the
/// last position down, drawing from stream `(seed, epoch)`: for i = m-1 down to 1,
/// swap positions i and `below(i + 1)`. Shuffled row k is original row perm[k].
public enum Permutation {
    /// Writes the permutation of `0..<perm.count` for `(seed, epoch)` into `perm`.
    /// - Complexity: O(m), one generator draw per position (plus rare rejections).
    public static func fill(_ perm: UnsafeMutableBufferPointer<Int>, seed: UInt64, epoch: UInt64) {
        guard let base = perm.baseAddress else { return }
        let m = perm.count
        for i in 0..<m { base[i] = i }
        var generator = Generator(seed: seed, stream: epoch)
        forEachSwap(count: m, &generator) { i, j in
            let t = base[i]; base[i] = base[j]; base[j] = t
        }
    }

    /// The permutation for `(seed, epoch)` as an array. Throws `.invalidArgument` for a
    /// negative count, `.outOfMemory` for one whose array would not fit the memory the process
    /// may use.
    public static func make(count: Int, seed: UInt64, epoch: UInt64) throws(MiniBatchError) -> [Int] {
        guard count >= 0 else { throw .invalid("count must be >= 0, got \(count)") }
        try Validate.fitsMemory(count, elementBytes: MemoryLayout<Int>.stride, "a permutation of \(count) rows")
        return [Int](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer, seed: seed, epoch: epoch)
            initialized = count
        }
    }

    /// Calls `swap(i, j)` for the Fisher-Yates swaps of `count` positions, in order.
    /// Applying them to any array of rows shuffles it by the same permutation.
    static func forEachSwap(count: Int, _ generator: inout Generator, _ swap: (Int, Int) -> Void) {
        var i = count - 1
        while i > 0 {
            let j = Int(generator.below(UInt64(i + 1)))
            if i != j { swap(i, j) }
            i -= 1
        }
    }
}
