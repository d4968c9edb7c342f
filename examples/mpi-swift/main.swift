// Trains a classifier on two moons across MPI ranks from Swift, and checks that the result is
// bit-identical to one process with the same layout:
//
//     mpirun -np 2 .build/release/minibatch-mpi-example
//
// Every rank makes the same data and the same model (same seeds), and runs the same
// training call with a communicator; each computes its own shards of every mini-batch.
import MiniBatch
import MiniBatchMPI

#if canImport(Glibc)
import Glibc
#endif

func run() throws(MiniBatchError) -> Int32 {
    try MPICommunicator.initialize()
    defer { MPICommunicator.finalize() }
    let world = try MPICommunicator()
    defer { world.free() }

    let (x, y) = try Moons.make(count: 1000, noise: 0.2, seed: 1)
    var options = TrainingOptions(epochs: 20, batchSize: .fixed(128), learningRate: 0.01, seed: 42, threads: 1)
    options.optimizer = .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
    options.shards = 4  // the layout: the same weights on any number of ranks

    // Across the ranks.
    let network = try Network(layerSizes: [2, 64, 64, 2], hiddenActivations: [.tanh, .tanh], loss: .crossEntropy, seed: 7)
    let history = History()
    var distributed = options
    distributed.distribution = Distribution(world, mode: .deterministic)
    try network.train(x: x, classes: y, features: 2, options: distributed, history: history)

    // One process, no communicator, the same layout: the reference.
    let alone = try Network(layerSizes: [2, 64, 64, 2], hiddenActivations: [.tanh, .tanh], loss: .crossEntropy, seed: 7)
    let aloneHistory = History()
    try alone.train(x: x, classes: y, features: 2, options: options, history: aloneHistory)

    let costs = try history.costs(), aloneCosts = try aloneHistory.costs()
    let same = network.parameterArray == alone.parameterArray && costs.batches == aloneCosts.batches
        && costs.epochs == aloneCosts.epochs
    if world.rank == 0 {
        let epochs = try history.costs().epochs
        print("ranks: \(world.size); epoch costs: \(epochs.first!) ... \(epochs.last!)")
        let (_, accuracy) = try network.evaluate(x: x, classes: y, features: 2)
        print("accuracy: \(accuracy)")
    }
    print("rank \(world.rank): \(same ? "bit-identical to one process" : "DIFFERS from one process")")
    return same ? 0 : 1
}

do {
    exit(try run())
} catch {
    print("error: \(error.message)")
    exit(2)
}
