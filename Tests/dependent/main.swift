// The program of a package that depends on minibatch the way a user's package would
// (Tests/dependent/test_dependent.sh makes the package around it): the README's C example,
// examples/example.c, in Swift. Exits 1 below 95 % training accuracy.
import Glibc
import MiniBatch

let (x, y) = try Moons.make(count: 2000, noise: 0.1, seed: 42)  // x: 2000 x 2, row-major
let network = try Network(layerSizes: [2, 16, 2], hiddenActivation: .relu, loss: .crossEntropy, seed: 1)
let history = History()
// A progress callback, and a report made outside the library to test it (Progress's init is
// public): it stops when the epoch cost is below `target`.
let target = 1e-12
let stopsWhenLow: (Progress) -> ProgressAction = { $0.epochCost < target ? .stop : .proceed }
let made = Progress(epoch: 1, epochs: 1, epochsTrained: 1, batchSize: 64, batches: 32, epochCost: 0, lastBatchCost: 0)
guard stopsWhenLow(made) == .stop else { exit(1) }
try network.train(x: x, classes: y, features: 2,
                  options: TrainingOptions(epochs: 200, batchSize: .fixed(64), learningRate: 0.3),
                  history: history, progress: stopsWhenLow)
let (cost, accuracy) = try network.evaluate(x: x, classes: y, features: 2)
print("minibatch \(MiniBatch.version), two moons: \(history.epochCosts.count) epochs, "
      + "cost \(cost), accuracy \(accuracy)")
exit(accuracy >= 0.95 ? 0 : 1)
