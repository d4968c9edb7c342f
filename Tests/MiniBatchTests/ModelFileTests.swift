import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch

/// Save and load: a round trip keeps everything; damaged files are refused.
struct ModelFileTests {
    func temporaryDirectory() -> String {
        var template = Array("/tmp/minibatch-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func bytes(_ path: String) throws -> [UInt8] {
        try File.withContents(path, limit: 1 << 30, what: "file", accept: { _ in true }, refused: "") { Array($0) }
    }

    func write(_ bytes: [UInt8], _ path: String) throws {
        try bytes.withUnsafeBytes { try File.writeAtomically($0, to: path) }
    }

    /// The temporary name of an atomic write: next to the target, in the target's directory,
    /// its last component cut (at a UTF-8 character's start) to fit 255 bytes with the suffix.
    @Test func temporaryNamesStayNextToTheirTarget() {
        let suffix = ".tmp-XXXXXX"
        #expect(AtomicFile.template(for: "model.mbm") == "model.mbm" + suffix)
        #expect(AtomicFile.template(for: "/a/b/model.mbm") == "/a/b/model.mbm" + suffix)
        // "/" followed by a combining mark is one Character: the directory still ends there
        // (a search by characters put the file in the parent directory).
        let combining = "/d/" + String(repeating: "P", count: 245) + "/\u{301}" + String(repeating: "b", count: 10)
        let t = AtomicFile.template(for: combining)
        #expect(t.utf8.starts(with: ("/d/" + String(repeating: "P", count: 245) + "/").utf8))
        #expect(t.hasSuffix(suffix))
        for length in [243, 244, 245, 250, 255] {
            let name = String(repeating: "n", count: length)
            let last = AtomicFile.template(for: "/x/" + name).utf8.split(separator: UInt8(ascii: "/")).last!
            #expect(last.count == min(length + suffix.utf8.count, 255))
        }
        // 127 two-byte characters and one byte: cut before a whole character.
        let wide = String(repeating: "\u{e9}", count: 127) + "x"
        let cut = AtomicFile.template(for: "/x/" + wide)
        let name = Array(cut.utf8.dropFirst(3))
        #expect(name.count <= 255 && String(validating: name, as: UTF8.self) != nil)
        #expect(cut == "/x/" + String(repeating: "\u{e9}", count: 122) + suffix)
    }

    @Test func roundTripKeepsEverything() throws {
        let dir = temporaryDirectory()
        let network = try Network(layerSizes: [3, 5, 4, 2], hiddenActivations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 8)
        network.epochsTrained = 7
        try network.save(to: dir + "/model.mb")
        let loaded = try Network.load(from: dir + "/model.mb")
        #expect(loaded.layerSizes == [3, 5, 4, 2])
        #expect(loaded.hiddenActivations == [.tanh, .sigmoid])
        #expect(loaded.loss == .binaryCrossEntropy)
        #expect(loaded.epochsTrained == 7)
        #expect(loaded.parameterArray.map(\.bitPattern) == network.parameterArray.map(\.bitPattern))
        // Nothing else is left in the directory (the temporary file was renamed).
        let listing = try entries(dir)
        #expect(listing == ["model.mb"])
        unlink(dir + "/model.mb")
        rmdir(dir)
    }

    @Test func poissonModelsRoundTrip() throws {
        let dir = temporaryDirectory()
        let network = try Network(layerSizes: [3, 4, 2], hiddenActivations: [.relu], loss: .poisson, seed: 8)
        try network.save(to: dir + "/model.mb")
        let loaded = try Network.load(from: dir + "/model.mb")
        #expect(loaded.loss == .poisson)
        let x = Fixture.uniform(6, seed: 3)
        #expect(try loaded.predict(x: x, features: 3) == (try network.predict(x: x, features: 3)))
        unlink(dir + "/model.mb")
        rmdir(dir)
    }

    /// The counters a model file keeps may be anything up to Int.max (a crafted file held
    /// Int.max, loaded, and the next epoch trapped): training adds to them saturating, so
    /// they stay at Int.max. And epochs = Int.max on a network that has trained (the cosine
    /// schedule's default period is the two added) trapped on the second call.
    @Test func countersAtTheirLargestValueStayThere() throws {
        let dir = temporaryDirectory()
        let path = dir + "/model.mb"
        let x: [Float] = (0..<64).map { Float($0 % 7) / 7 }
        let y: [Int32] = (0..<32).map { Int32($0 % 2) }
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(8), learningRate: 0.01, optimizer: .adam(),
                                      schedule: .cosine(), earlyStopping: EarlyStopping(patience: 5))
        let network = try Network(layerSizes: [2, 4, 2], seed: 3)
        try network.train(x: x, classes: y, features: 2, options: options)
        network.epochsTrained = Int.max - 1
        network.trainingState.step = Int.max - 2
        network.trainingState.examplesSeen = Int.max - 20
        network.trainingState.best = -.infinity  // no epoch improves: epochs without improvement grow
        network.trainingState.badEpochs = Int.max - 1  // (and so the first epoch stops the call)
        try network.save(to: path)
        let loaded = try Network.load(from: path)
        try loaded.train(x: x, classes: y, features: 2, options: options)
        #expect(loaded.epochsTrained == Int.max)
        #expect(loaded.trainingState.step == Int.max && loaded.trainingState.examplesSeen == Int.max)
        #expect(try loaded.parameterArray.allSatisfy(\.isFinite))
        unlink(path)
        rmdir(dir)

        let again = try Network(layerSizes: [2, 4, 2], seed: 3)
        for call in 0..<2 {
            #expect(throws: MiniBatchError.self) {
                try again.train(x: x, classes: y, features: 2,
                                options: TrainingOptions(epochs: Int.max, batchSize: .fixed(8), schedule: .cosine()),
                                progress: { _ in .stop })
            }
            #expect(again.epochsTrained == call + 1)
        }
    }

    @Test func damagedFilesAreRefused() throws {
        let dir = temporaryDirectory()
        let path = dir + "/model.mb"
        try Network(layerSizes: [4, 3, 2]).save(to: path)
        let good = try bytes(path)
        var cases: [(String, [UInt8])] = [
            ("empty", []),
            ("truncated header", Array(good[0..<20])),
            ("truncated parameters", Array(good.dropLast(9))),
            ("missing checksum", Array(good.dropLast(4))),
            ("foreign", Array("hello, this is not a model file at all".utf8)),
        ]
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        cases.append(("corrupted byte", flipped))
        var version = good
        version[8] = 9
        cases.append(("other version", version))
        for (name, content) in cases {
            try write(content, path)
            let failure = Fixture.failure { () throws(MiniBatchError) in _ = try Network.load(from: path) }
            #expect(failure?.kind == .format, "\(name): \(String(describing: failure))")
        }
        unlink(path)
        #expect(throws: MiniBatchError(.io, "cannot open '\(path)': No such file or directory")) { try Network.load(from: path) }
        #expect(throws: MiniBatchError.self) { try Network(layerSizes: [2, 2]).save(to: dir + "/missing/dir/model.mb") }
        // A path with a NUL byte (a Swift String can hold one; the system's calls end the path
        // there): refused, not a load of the path's first part (until 0.12.5), nor a save there.
        let network = try Network(layerSizes: [2, 2])
        try network.save(to: path)
        let message = "the path '\(path)@zzz' (NUL shown as @) contains a NUL byte, where a path ends for the system"
        #expect(throws: MiniBatchError(.invalidArgument, message)) { try Network.load(from: path + "\u{0}zzz") }
        unlink(path)
        #expect(throws: MiniBatchError(.invalidArgument, message)) { try network.save(to: path + "\u{0}zzz") }
        #expect(try entries(dir).isEmpty)
        #expect(throws: MiniBatchError(.invalidArgument, "the path '\(dir)/x@.npy' (NUL shown as @) contains a NUL byte, where a path ends for the system")) {
            try FileDataset(x: dir + "/x\u{0}.npy", y: dir + "/y.npy")
        }
        rmdir(dir)
    }

    func entries(_ dir: String) throws -> [String] {
        guard let handle = opendir(dir) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
