// libFuzzer target: the C ABI's argument space (`make fuzz`; README "Fuzzing").
//
// The bytes are read as a small program of C calls with fuzzed arguments: sizes, enum values
// and whole options structs taken from the input (their pointer fields set to NULL or to
// valid buffers, since a caller's pointers are the caller's to get right). Every call must
// return a status, never trap; an MB_OK result must be what was asked for.
#if canImport(Glibc)
import Glibc
#endif
import CMiniBatch
import MiniBatchExports
import FuzzDriver

/// The size the communicator below was given (its user data).
nonisolated(unsafe) let fuzzedRanks = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

/// An interrupt the trainings may be given, its request set or cleared by the input (a
/// set one stops each training after its first mini-batch).
nonisolated(unsafe) let stopRequest: OpaquePointer = {
    var interrupt: OpaquePointer? = nil
    precondition(mb_interrupt_create(&interrupt) == MB_OK)
    return interrupt!
}()

/// A communicator whose `size` ranks are all this process: every rank's block is this one's,
/// every sum `size` times this one's value (`size` from `fuzzedRanks`; the engine calls it
/// only with a size it accepted).
nonisolated(unsafe) let identicalRanks = mb_communicator(
    struct_size: MemoryLayout<mb_communicator>.size, rank: 0, size: 1, user_data: UnsafeMutableRawPointer(fuzzedRanks),
    allreduce_sum: { data, count, user in
        guard let data, let user else { return 1 }
        let size = Float(user.load(as: Int32.self))
        for i in 0..<Int(count) { data[i] *= size }
        return 0
    },
    allgather: { send, receive, bytes, user in
        guard let send, let receive, let user else { return 1 }
        for r in 0..<Int(user.load(as: Int32.self)) { (receive + r * Int(bytes)).copyMemory(from: send, byteCount: Int(bytes)) }
        return 0
    },
    broadcast: { _, _, _, _ in 0 })

/// Small `.npy` files for the file functions, written once into a fresh directory: X (48, 4)
/// float32, y (48) int64 class labels 0/1, and paths for their outputs.
struct Files {
    let directory: String
    var x: String { directory + "/x.npy" }
    var y: String { directory + "/y.npy" }
    var xOut: String { directory + "/x-out.npy" }
    var yOut: String { directory + "/y-out.npy" }
    static let rows = 48, features = 4

    init() {
        // In memory where there is a tmpfs: the writes end in fsync, which a disk makes slow.
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array("\(base)/fuzz-arguments-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        directory = String(cString: made)
        let xs = (0..<(Files.rows * Files.features)).map { Float($0 % 7) / 7 - 0.4 }
        Files.write(x, descr: "<f4", shape: "(\(Files.rows), \(Files.features))", xs.withUnsafeBytes { Array($0) })
        let ys = (0..<Files.rows).map { Int64($0 % 2) }
        Files.write(y, descr: "<i8", shape: "(\(Files.rows),)", ys.withUnsafeBytes { Array($0) })
        atexit { files.remove() }
    }

    func remove() {
        for path in [x, y, xOut, yOut, directory + "/missing.npy"] { unlink(path) }
        rmdir(directory)
    }

    /// A format 1.0 `.npy` file: magic, version, header length, the padded header, the data.
    static func write(_ path: String, descr: String, shape: String, _ data: [UInt8]) {
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + data
        guard let file = fopen(path, "wb"), fwrite(bytes, 1, bytes.count, file) == bytes.count, fclose(file) == 0 else {
            fatalError("cannot write \(path)")
        }
    }
}

nonisolated(unsafe) let files = Files()

/// Reads fuzzed values off the input.
struct Input {
    var bytes: UnsafeBufferPointer<UInt8>
    var at = 0
    mutating func next<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        var value: T = 0
        for k in 0..<MemoryLayout<T>.size where at < bytes.count {
            value |= T(truncatingIfNeeded: bytes[at]) << (8 * k)
            at += 1
        }
        return value
    }
    /// A size near the interesting edges: small, or around a power of two, or anything.
    mutating func size() -> Int64 {
        switch next(UInt8.self) % 4 {
        case 0: return Int64(next(UInt8.self) % 9)
        case 1: let shift = Int64(next(UInt8.self) % 64); return (1 << shift) &+ Int64(next(Int8.self))
        case 2: return Int64(next(UInt16.self))
        default: return next(Int64.self)
        }
    }
    mutating func raw<T>(_: T.Type) -> T {
        let value = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        defer { value.deallocate() }
        for k in 0..<MemoryLayout<T>.size { value.storeBytes(of: next(UInt8.self), toByteOffset: k, as: UInt8.self) }
        return value.load(as: T.self)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArguments(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    var input = Input(bytes: UnsafeBufferPointer(start: data, count: size))
    // Buffers large enough for every call whose sizes stay small; larger sizes must be refused
    // before anything is written (or written within the small ones: m <= 64 below).
    // x: 64 rows of up to 16 features (or 256 moons of 2); y: 64 rows of up to 16 float
    // targets, or 256 labels.
    var x = [Float](repeating: 0.5, count: 64 * 16), y = [Int32](repeating: 0, count: 64 * 16)
    var out64 = [Int64](repeating: 0, count: 64), outU = [UInt64](repeating: 0, count: 64)
    var starts = [Int64](repeating: 0, count: 64), counts = [Int64](repeating: 0, count: 64), n: Int64 = 0
    while input.at < input.bytes.count {
        switch input.next(UInt8.self) % 7 {
        case 0:
            let m = input.size(), b = input.size()
            let last = mb_last_batch(rawValue: input.next(UInt32.self) % 3)
            let capacity = min(Int64(64), max(0, input.size()))
            if mb_partition(m, b, last, &starts, &counts, capacity, &n) == MB_OK {
                precondition(n >= 0 && n <= capacity)
            }
            _ = mb_partition(m, b, last, nil, nil, 0, &n)
        case 1:
            let count = input.size()
            _ = mb_random(input.next(), input.next(), &outU, min(count, 64) == count ? count : count | (1 << 62))
            _ = mb_permutation(min(input.size(), 64) | (input.next(UInt8.self) & 1 == 0 ? 0 : 1 << 61), input.next(), input.next(), &out64)
        case 2:
            let m = input.size()
            let noise = Float(bitPattern: input.next(UInt32.self))
            _ = mb_make_moons(m <= 256 ? m : m | (1 << 61), noise, input.next(), &x, &y)
        case 3:
            var sizes = (0..<8).map { _ in min(input.size(), 16) }
            var options = input.raw(mb_model_options.self)
            let activations = UnsafeMutablePointer<mb_activation>.allocate(capacity: 8)
            defer { activations.deallocate() }
            // (0...8 the activations of 0.5.0, 9 none)
            for i in 0..<8 { activations[i] = mb_activation(rawValue: input.next(UInt32.self) % 10) }
            let givesActivations = input.next(UInt8.self) & 1 == 1
            options.activations = givesActivations ? UnsafePointer(activations) : nil
            var model: OpaquePointer? = nil
            let layers = Int64(input.next(UInt8.self) % 9)
            if mb_model_create(&sizes, layers, &options, &model) == MB_OK {
                precondition(model != nil)
                var train = input.raw(mb_train_options.self)
                train.progress = nil
                train.user_data = nil
                train.epochs = min(max(train.epochs, -1), 3)
                mostlyInRange(&train, &input)
                // Pointers the harness cannot make valid: the validation set is the
                // training data or none; struct_size mostly the real one.
                let validation = input.next(UInt8.self) % 3
                if validation != 1 {
                    train.validation_x = nil
                    train.validation_y = nil
                }
                if validation == 1 { train.validation_m = min(max(train.validation_m, -1), 64) }
                // No dataset handle here; sample weights are the X buffer's (any floats) or none.
                train.validation_dataset = nil
                train.interrupt = interrupt(&input)
                // No communicator, or one whose ranks are all this process (fuzzed rank and
                // size: `size` identical ranks, or sizes and ranks that must be refused).
                var communicator = identicalRanks
                communicator.rank = Int32(truncatingIfNeeded: input.next(Int8.self))
                communicator.size = Int32(truncatingIfNeeded: input.next(Int8.self))
                fuzzedRanks.pointee = communicator.size
                let distributed = input.next(UInt8.self) % 4 == 0
                let weighted = input.next(UInt8.self) % 2 == 1
                // Class weights (0.5.0): none, or the X buffer's first floats with a fuzzed
                // count that stays inside it (or is negative, or 0 with the pointer set).
                let classWeighted = input.next(UInt8.self) % 2 == 1
                train.class_weight_count = min(max(train.class_weight_count, -1), Int64(x.count))
                // Milestones (0.7.0): none, or 8 fuzzed epochs with a count that stays inside
                // them (or is negative, or 0 with the pointer set).
                let milestoned = input.next(UInt8.self) % 2 == 1
                let milestones = (0..<8).map { _ in Int64(input.next(Int16.self)) }
                train.milestone_count = min(max(train.milestone_count, -1), Int64(milestones.count))
                train.milestones = nil
                if input.next(UInt8.self) % 8 != 0 { train.struct_size = MemoryLayout<mb_train_options>.size }
                let rows = min(max(Int64(input.next(UInt8.self) % 65), 0), 64)
                let targets = mb_targets(rawValue: input.next(UInt32.self) % 3)
                x.withUnsafeBufferPointer { xs in
                    y.withUnsafeBufferPointer { ys in
                        if validation == 1 {
                            train.validation_x = xs.baseAddress
                            train.validation_y = UnsafeRawPointer(ys.baseAddress)
                        }
                        train.sample_weight = weighted ? xs.baseAddress : nil
                        // (0.7.0) the validation rows' weights: the X buffer's floats or none
                        train.validation_sample_weight = validation == 1 && weighted ? xs.baseAddress : nil
                        train.class_weight = classWeighted ? xs.baseAddress : nil
                        milestones.withUnsafeBufferPointer { ms in
                            train.milestones = milestoned ? ms.baseAddress : nil
                            withUnsafePointer(to: &communicator) { c in
                                train.communicator = distributed ? c : nil
                                _ = mb_train(model, xs.baseAddress, ys.baseAddress, targets, rows, sizes[0], &train, nil)
                            }
                        }
                    }
                }
                var bytes = 0
                _ = mb_working_memory(model, input.size(), &bytes)
                var batch: Int64 = 0
                _ = mb_auto_batch_size(model, input.size(), Int(truncatingIfNeeded: input.next(UInt64.self)), &batch)
                mb_model_free(model)
            } else {
                precondition(model == nil)
            }
        case 4:
            var options = input.raw(mb_dataset_options.self)
            var dataset: OpaquePointer? = nil
            _ = mb_dataset_open_npy("/nonexistent-x.npy", "/nonexistent-y.npy", &options, &dataset)
            precondition(dataset == nil)
        case 5:
            fuzzFiles(&input)
        default:
            _ = mb_status_name(mb_status(rawValue: input.next(UInt32.self)))
            // (0.8.0) mb_train_fail: a NULL communicator, or one whose ranks are all this
            // process (fuzzed rank, size and struct_size), a fuzzed status, and a message of
            // up to 2,047 fuzzed bytes (NULs in it end it early) or NULL.
            var communicator = identicalRanks
            communicator.rank = Int32(truncatingIfNeeded: input.next(Int8.self))
            communicator.size = Int32(truncatingIfNeeded: input.next(Int8.self))
            if input.next(UInt8.self) % 8 == 0 { communicator.struct_size = Int(input.next(UInt8.self)) }
            fuzzedRanks.pointee = communicator.size
            let status = mb_status(rawValue: input.next(UInt32.self))
            let length = Int(input.next(UInt16.self) % 2048)
            let message = (0..<length).map { _ in CChar(bitPattern: input.next(UInt8.self)) } + [0]
            let (given, null) = (input.next(UInt8.self) % 4 != 0, input.next(UInt8.self) % 8 == 0)
            withUnsafePointer(to: &communicator) { c in
                message.withUnsafeBufferPointer { text in
                    _ = mb_train_fail(null ? nil : c, status, given ? text.baseAddress : nil)
                }
            }
        }
    }
    return 0
}

/// The file functions on real files: a dataset opened with fuzzed options, trained on with
/// fuzzed training options, evaluated and predicted into buffers of fuzzed capacity; a `.npy`
/// file predicted into another, and the pair shuffled into two more, with fuzzed budgets
/// and paths that are files, missing, a directory or the wrong file.
/// The flags and enums of the training options mostly in their range, so that training runs
/// with each form (a bit of each left to the bytes, for their refusals): schedule_per_batch;
/// 0.10.0's cycle_momentum, three_phase, anneal_strategy and decoupled_weight_decay, the cycle's ends mostly in
/// (0, 1) and the coupled weight decay mostly small; 0.11.0's plateau and cyclic schedules and
/// the Adadelta rule now and then (a raw word is rarely 9, 10 or 8), their modes mostly in
/// range and their counts small.
func mostlyInRange(_ train: inout mb_train_options, _ input: inout Input) {
    if train.schedule_per_batch & 0x100 == 0 { train.schedule_per_batch &= 1 }
    if train.cycle_momentum & 0x100 == 0 { train.cycle_momentum &= 1 }
    if train.three_phase & 0x100 == 0 { train.three_phase &= 1 }
    if train.decoupled_weight_decay & 0x100 == 0 { train.decoupled_weight_decay &= 1 }
    if train.anneal_strategy.rawValue & 0x100 == 0 { train.anneal_strategy = mb_anneal_strategy(rawValue: train.anneal_strategy.rawValue & 1) }
    let byte = input.next(UInt8.self)
    if byte & 1 == 0 { train.base_momentum = Double(input.next(UInt8.self)) / 256 }
    if byte & 2 == 0 { train.max_momentum = Double(input.next(UInt8.self)) / 256 }
    if byte & 4 == 0 { train.coupled_weight_decay = Float(input.next(UInt8.self)) / 1024 }
    if train.plateau_threshold_mode.rawValue & 0x100 == 0 {
        train.plateau_threshold_mode = mb_threshold_mode(rawValue: train.plateau_threshold_mode.rawValue & 1)
    }
    if train.cyclic_mode.rawValue & 0x100 == 0 { train.cyclic_mode = mb_cyclic_mode(rawValue: train.cyclic_mode.rawValue % 3) }
    // 0.12.0's denormals mostly one of its two values, reserved mostly 0
    if train.denormals.rawValue & 0x100 == 0 { train.denormals = mb_denormals(rawValue: train.denormals.rawValue & 1) }
    if train.reserved & 0x300 != 0x300 { train.reserved = 0 }
    if byte & 0xC0 == 0xC0 {  // 0.11.0's Adadelta, its rho and epsilon mostly in range
        train.optimizer = MB_OPTIMIZER_ADADELTA
        train.rho = Float(input.next(UInt8.self)) / 250
        train.epsilon = Float(input.next(UInt8.self)) / 65536
    }
    if byte & 0x18 == 0x18 {
        train.schedule = MB_SCHEDULE_CYCLIC
        train.min_learning_rate = Double(input.next(UInt8.self)) / 4096
        train.cyclic_step_size_up = Int64(input.next(Int8.self) % 5)
        train.cyclic_step_size_down = Int64(input.next(Int8.self) % 5)
        train.gamma = Double(input.next(UInt8.self)) / 255
    }
    if byte & 0x18 == 0 {
        train.schedule = MB_SCHEDULE_PLATEAU
        train.gamma = Double(input.next(UInt8.self)) / 256
        train.plateau_patience = Int64(input.next(Int8.self) % 4)
        train.plateau_cooldown = Int64(input.next(Int8.self) % 4)
        train.plateau_threshold = Double(input.next(UInt8.self)) / 512
        train.plateau_eps = Double(input.next(UInt8.self)) / 65536
        if byte & 32 == 0 { train.min_learning_rate = Double(input.next(UInt8.self)) / 4096 }
    }
}

/// None, or `stopRequest` with its request set or cleared by the input.
func interrupt(_ input: inout Input) -> OpaquePointer? {
    switch input.next(UInt8.self) % 4 {
    case 0: mb_interrupt_request_stop(stopRequest)
    case 1: mb_interrupt_clear(stopRequest)
    default: return nil
    }
    return stopRequest
}

func fuzzFiles(_ input: inout Input) {
    let paths = [files.x, files.y, files.directory, files.directory + "/missing.npy", "", files.xOut]
    func path(_ input: inout Input) -> String { input.next(UInt8.self) % 4 == 0 ? paths[Int(input.next(UInt8.self)) % paths.count] : files.x }
    // Options of fields in or near their range, or raw bytes.
    var options = input.raw(mb_dataset_options.self)
    if input.next(UInt8.self) % 4 != 0 {
        options.shuffle = mb_file_shuffle(rawValue: input.next(UInt32.self) % 3)
        options.page_cache = mb_page_cache(rawValue: input.next(UInt32.self) % 4)
        options.block_bytes = Int(truncatingIfNeeded: input.size())
        options.memory_budget = input.next(UInt8.self) % 2 == 0 ? Int(truncatingIfNeeded: input.size()) : Int(input.next(UInt16.self)) << 4
    }
    let givesOptions = input.next(UInt8.self) % 4 != 0
    var dataset: OpaquePointer? = nil
    let xPath = path(&input), yPath = input.next(UInt8.self) % 4 == 0 ? path(&input) : files.y
    let opened = givesOptions ? mb_dataset_open_npy(xPath, yPath, &options, &dataset) : mb_dataset_open_npy(xPath, yPath, nil, &dataset)
    precondition((opened == MB_OK) == (dataset != nil))
    // A model of 4 inputs (or another count) and 1 to 3 outputs, with a fuzzed loss.
    var sizes: [Int64] = [input.next(UInt8.self) % 8 == 0 ? Int64(input.next(UInt8.self) % 6) : 4,
                          Int64(1 + input.next(UInt8.self) % 6), Int64(1 + input.next(UInt8.self) % 3)]
    var modelOptions = mb_model_options()
    mb_model_options_init(&modelOptions)
    modelOptions.loss = mb_loss(rawValue: input.next(UInt32.self) % 4)
    var model: OpaquePointer? = nil
    guard mb_model_create(&sizes, 3, &modelOptions, &model) == MB_OK, let model else {
        mb_dataset_free(dataset)
        return
    }
    var out = [Float](repeating: 0, count: Files.rows * 3)
    var classes = [Int32](repeating: 0, count: Files.rows)
    if let dataset {
        var info = mb_dataset_info()
        _ = mb_dataset_get_info(dataset, &info)
        var train = input.raw(mb_train_options.self)
        train.progress = nil
        train.user_data = nil
        train.validation_x = nil
        train.validation_y = nil
        train.sample_weight = nil
        train.class_weight = nil  // (refused for a file dataset whatever its count)
        train.milestones = nil  // (a count with it NULL is refused for multi-step)
        train.validation_sample_weight = nil
        train.communicator = nil
        train.interrupt = interrupt(&input)
        train.validation_dataset = input.next(UInt8.self) % 2 == 0 ? dataset : nil
        train.epochs = min(max(train.epochs, -1), 2)
        mostlyInRange(&train, &input)
        if input.next(UInt8.self) % 8 != 0 { train.struct_size = MemoryLayout<mb_train_options>.size }
        _ = mb_train_dataset(model, dataset, &train, nil)
        var cost = 0.0, accuracy = 0.0
        _ = mb_evaluate_dataset(model, dataset, &cost, &accuracy)
        let capacity = Int64(input.next(UInt8.self)) % Int64(Files.rows * 3 + 1)
        _ = mb_predict_dataset(model, dataset, &out, input.next(UInt8.self) % 8 == 0 ? input.size() : capacity)
        _ = mb_predict_classes_dataset(model, dataset, &classes, min(capacity, Int64(Files.rows)))
        mb_dataset_free(dataset)
    }
    let budget = input.next(UInt8.self) % 2 == 0 ? Int(truncatingIfNeeded: input.size()) : Int(input.next(UInt16.self)) << 4
    _ = mb_predict_npy(model, path(&input), input.next(UInt8.self) % 4 == 0 ? path(&input) : files.xOut,
                       CInt(input.next(UInt8.self) % 3), budget)
    mb_model_free(model)
    let tempDirectory = [nil, files.directory, files.x, files.directory + "/missing"][Int(input.next(UInt8.self) % 4)]
    _ = mb_shuffle_npy(path(&input), input.next(UInt8.self) % 4 == 0 ? path(&input) : files.y,
                       files.xOut, input.next(UInt8.self) % 8 == 0 ? files.xOut : files.yOut, input.next(),
                       input.next(UInt8.self) % 2 == 0 ? Int(truncatingIfNeeded: input.size()) : Int(input.next(UInt16.self)) << 4,
                       tempDirectory)
}

@main
enum Main {
    static func main() { FuzzDriver.main({ data, size in fuzzArguments(data, size) }) }
}
