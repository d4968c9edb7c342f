#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A mutex with one condition variable (a monitor), over pthreads: the engine's only
/// synchronisation, used by the background file reader.
final class Monitor: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body` holding the lock.
    func locked<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }

    /// With the lock held: waits until `ready()` is true.
    func wait(until ready: () -> Bool) {
        while !ready() { pthread_cond_wait(&condition, &mutex) }
    }

    /// With the lock held: wakes every waiter.
    func broadcast() { pthread_cond_broadcast(&condition) }
}

/// Starts a joinable thread running `body`.
final class Thread {
    private var handle = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping () -> Void) throws(MiniBatchError) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&handle, nil, { context in
            let thread = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<Thread>.fromOpaque(context).release()
            throw MiniBatchError(.outOfMemory, "cannot start a thread (error \(result))")
        }
    }

    func join() { pthread_join(handle, nil) }
}
