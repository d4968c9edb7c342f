import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch

/// `TrainingInterrupt`: a stop asked from outside the loop ends training after the current
/// mini-batch with that batch's weights, or after the epoch when it is the epoch's last.
struct TrainingInterruptTests {
    static let moons = try! Moons.make(count: 1000, noise: 0.2, seed: 5)

    func network() throws -> Network {
        try Network(layerSizes: [2, 16, 2], hiddenActivation: .tanh, seed: 3)
    }

    func train(_ network: Network, _ options: TrainingOptions, history: History? = nil,
               progress: ((Progress) -> ProgressAction)? = nil) -> MiniBatchError? {
        Fixture.failure { () throws(MiniBatchError) in
            try network.train(x: Self.moons.x, classes: Self.moons.y, features: 2, options: options,
                              history: history, progress: progress)
        }
    }

    /// A request made before the call stops it after its first mini-batch, whose update is
    /// kept: the weights equal one step of gradient descent on that batch's rows (the
    /// first rows of the epoch's permutation), taken as a whole batch of their own.
    @Test func aStopAskedBeforeTheCallKeepsExactlyTheFirstBatch() throws {
        let interrupt = TrainingInterrupt()
        interrupt.requestStop()
        var options = TrainingOptions(epochs: 3, batchSize: .fixed(100), learningRate: 0.5, seed: 7, threads: 1)
        options.interrupt = interrupt
        let network = try network()
        let history = History()
        let failure = train(network, options, history: history)
        #expect(failure?.kind == .cancelled)
        #expect(failure?.message.contains("after batch 1 of 10 of epoch 1") == true)
        #expect(network.epochsTrained == 0 && history.batchCosts.count == 1 && history.epochCosts.isEmpty)
        #expect(interrupt.batchesDone == 1 && interrupt.examplesDone == 100 && interrupt.batchesPerEpoch == 10)

        let rows = try Permutation.make(count: 1000, seed: 7, epoch: 0).prefix(100)
        let x = rows.flatMap { [Self.moons.x[2 * $0], Self.moons.x[2 * $0 + 1]] }, y = rows.map { Self.moons.y[$0] }
        let reference = try self.network()
        try reference.train(x: x, classes: y, features: 2,
                            options: TrainingOptions(epochs: 1, batchSize: .fixed(100), learningRate: 0.5, threads: 1))
        for (a, b) in zip(network.parameterArray, reference.parameterArray) {
            #expect(abs(a - b) <= 1e-6 * (1 + abs(b)))
        }
    }

    /// A request from another thread while training runs: training stops within one
    /// mini-batch of it, with finite weights, counting only whole epochs; a resumed call
    /// runs the interrupted epoch again and then counts on.
    @Test func aStopFromAnotherThreadEndsTrainingWithinOneBatch() throws {
        let interrupt = TrainingInterrupt()
        var options = TrainingOptions(epochs: 1000, batchSize: .fixed(8), learningRate: 0.05, seed: 1, threads: 1)
        options.interrupt = interrupt
        let network = try network()
        let asker = Asker(interrupt, after: 300)
        let history = History()
        let failure = train(network, options, history: history)
        asker.join()
        #expect(failure?.kind == .cancelled)
        #expect(interrupt.batchesDone - asker.batchesWhenAsked <= 1)
        #expect(network.parameterArray.allSatisfy { $0.isFinite })
        let perEpoch = interrupt.batchesPerEpoch
        #expect(perEpoch == 125)
        #expect(network.epochsTrained == interrupt.batchesDone / perEpoch)
        #expect(history.batchCosts.count == interrupt.batchesDone)

        interrupt.clear()
        let trained = network.epochsTrained
        options.epochs = 2
        #expect(train(network, options, history: history) == nil)
        #expect(network.epochsTrained == trained + 2)
        #expect(history.epochCosts.count == trained + 2)
    }

    /// A request made during an epoch's progress callback ends training after that epoch,
    /// and resuming continues the run exactly: the weights of one uninterrupted call.
    @Test func aStopAtAnEpochsEndResumesExactly() throws {
        let interrupt = TrainingInterrupt()
        var options = TrainingOptions(epochs: 5, batchSize: .fixed(64), learningRate: 0.01, seed: 2, threads: 1,
                                      optimizer: .adam())
        options.interrupt = interrupt
        let interrupted = try network()
        let failure = train(interrupted, options) { progress in
            if progress.epoch == 2 { interrupt.requestStop() }
            return .proceed
        }
        #expect(failure?.kind == .cancelled)
        #expect(failure?.message.contains("after epoch 2 of 5") == true)
        #expect(interrupted.epochsTrained == 2)
        interrupt.clear()
        options.epochs = 3
        #expect(train(interrupted, options) == nil)

        options.epochs = 5
        options.interrupt = nil
        let whole = try network()
        #expect(train(whole, options) == nil)
        #expect(interrupted.parameterArray == whole.parameterArray)
    }

    /// A request at the end of the call's last epoch leaves nothing to stop: no error.
    @Test func aStopAfterTheLastEpochIsNotAnError() throws {
        let interrupt = TrainingInterrupt()
        var options = TrainingOptions(epochs: 2, batchSize: .fixed(250), learningRate: 0.1, threads: 1)
        options.interrupt = interrupt
        let network = try network()
        let failure = train(network, options) { progress in
            if progress.epoch == 2 { interrupt.requestStop() }
            return .proceed
        }
        #expect(failure == nil)
        #expect(network.epochsTrained == 2 && interrupt.batchesDone == 8)
    }
}

/// A thread that asks `interrupt` to stop once `after` mini-batches are done, and records
/// how many were done just after it asked.
private final class Asker: @unchecked Sendable {
    let interrupt: TrainingInterrupt
    let after: Int
    var batchesWhenAsked = 0
    var thread = pthread_t()

    init(_ interrupt: TrainingInterrupt, after: Int) {
        self.interrupt = interrupt
        self.after = after
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { box in
            let asker = Unmanaged<Asker>.fromOpaque(box!).takeRetainedValue()
            while asker.interrupt.batchesDone < asker.after { sched_yield() }
            asker.interrupt.requestStop()
            asker.batchesWhenAsked = asker.interrupt.batchesDone
            return nil
        }, box)
    }

    func join() { pthread_join(thread, nil) }
}
