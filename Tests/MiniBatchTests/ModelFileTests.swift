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

    func bytes(_ path: String) throws -> [UInt8] { try File.read(path, limit: 1 << 30) }

    func write(_ bytes: [UInt8], _ path: String) throws {
        try bytes.withUnsafeBytes { try File.writeAtomically($0, to: path) }
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
