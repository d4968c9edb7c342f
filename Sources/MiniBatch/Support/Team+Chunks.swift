import CIntrinsics
import CMatrix

/// Forward-only work shared among threads: predictions and evaluations, chunk by chunk.
///
/// A chunk is a forward pass of `Network.chunkRows` rows, computed by one member with
/// OpenBLAS on one thread, so every value is the same whichever member computes it and
/// however many there are. Until 0.12.6 each chunk ran on the calling thread, its products on
/// OpenBLAS's own threads; OpenBLAS's idle threads then spin for about 0.1 s after its last
/// product (2^28 cycles, its `THREAD_TIMEOUT`), and a training call that started within that
/// time shared its cores with them: measured on 784-128-10, 2 threads, batch 256 (2 vCPUs of
/// an Intel Xeon, family 6 model 207), an epoch right after a prediction of 2,000 rows took
/// 0.17-0.18 s against 0.13 s alone. A team's members sleep after about 0.1 ms (`Signal`).
extension Team {
    /// The members for `chunks` chunks: the threads OpenBLAS may use outside training
    /// (`BLASThreads.available`: `OPENBLAS_NUM_THREADS`, threadpoolctl), at most one per
    /// chunk (and at most the kept training team's size, where there is one: `forEachChunk`). One chunk runs on the calling thread, as it did before, its products on as
    /// many OpenBLAS threads as OpenBLAS gives a product of its size.
    static func chunkMembers(_ chunks: Int) -> Int {
        chunks < 2 ? 1 : min(BLASThreads.available, chunks)
    }

    /// Runs `body(member, chunk)` for every chunk in 0..<chunks: chunk c on member c % n,
    /// n = min(members, the team's size), each member's chunks in order, OpenBLAS on one
    /// thread meanwhile; every member computes with the caller's floating-point control word (subnormals flushed or
    /// kept as the caller's thread has them). A member stops at its first error; the error of
    /// the lowest chunk is thrown (the one a pass in order would have stopped at), after every
    /// member has stopped. With one member (or if a team's threads cannot be made, or while
    /// the process exits: another thread's products then wait for its end, `mbm_backend_closed`),
    /// every chunk runs in order on the calling thread, OpenBLAS's threads as they are.
    static func forEachChunk(
        _ chunks: Int, members: Int, _ body: (_ member: Int, _ chunk: Int) throws(MiniBatchError) -> Void
    ) throws(MiniBatchError) {
        guard members > 1, chunks > 1, mbm_backend_closed() == 0, let team = borrowForChunks(members) else {
            for c in 0..<chunks { try body(0, c) }
            return
        }
        defer { team.giveBack() }
        let members = min(members, team.size)
        BLASThreads.acquire()
        defer { BLASThreads.release() }
        let word = minibatch_fp_word()
        // Each member's first failure: its chunk and its error.
        let failures = UnsafeMutableBufferPointer<(chunk: Int, error: MiniBatchError)?>.allocate(capacity: team.size)
        failures.initialize(repeating: nil)
        defer {
            failures.deinitialize()
            failures.deallocate()
        }
        withoutActuallyEscaping(body) { body in
            team.run { t in
                guard t < members else { return }
                let own = minibatch_fp_word()
                minibatch_restore_fp(word)
                defer { minibatch_restore_fp(own) }
                for c in stride(from: t, to: chunks, by: members) {
                    do throws(MiniBatchError) {
                        try body(t, c)
                    } catch {
                        failures[t] = (c, error)
                        return
                    }
                }
            }
        }
        if let first = failures.compactMap({ $0 }).min(by: { $0.chunk < $1.chunk }) { throw first.error }
    }

    /// The team for chunks: the kept one (`borrowKept`: training's, whatever its size, so
    /// that a prediction between training calls neither stops it nor makes threads the next
    /// call would stop again), else a new one of `members`; nil if its threads cannot be made.
    private static func borrowForChunks(_ members: Int) -> Team? {
        if let kept = borrowKept() { return kept }
        do { return try borrow(size: members) } catch { return nil }
    }
}
