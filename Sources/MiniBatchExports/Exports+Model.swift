import CMiniBatch
import MiniBatch

// MARK: - Models: create, describe, parameters

@c @implementation
public func mb_model_options_init(_ options: UnsafeMutablePointer<mb_model_options>?) {
    guard let options else { return }
    options.pointee = mb_model_options(
        hidden_activation: MB_ACTIVATION_RELU, activations: nil, loss: MB_LOSS_CROSS_ENTROPY,
        init: MB_INIT_AUTO, seed: 0)
}

@c @implementation
public func mb_model_create(
    _ layer_sizes: UnsafePointer<Int64>?, _ n_layers: Int64, _ options: UnsafePointer<mb_model_options>?,
    _ model: UnsafeMutablePointer<OpaquePointer?>?
) -> mb_status {
    model?.pointee = nil
    return run { () throws(MiniBatchError) in
        let out = try required(model, "model")
        let sizesPointer = try required(layer_sizes, "layer_sizes")
        guard n_layers >= 2 else {
            throw .init(.invalidArgument, "n_layers must be at least 2 (inputs and outputs), got \(n_layers)")
        }
        guard n_layers <= 1 << 20 else { throw .init(.invalidArgument, "n_layers is too large: \(n_layers)") }
        var defaults = mb_model_options()
        mb_model_options_init(&defaults)
        let o = options?.pointee ?? defaults
        // The options' own values first: an options struct that was never initialised is
        // refused by its enums before its activations pointer is followed.
        // hidden_activation is checked even where no layer uses it (no hidden layer, or
        // activations given): an enum out of range is bad input wherever it is.
        let loss = try convert(o.loss), initialization = try convert(o.`init`)
        let shared = try convert(o.hidden_activation, "hidden_activation")
        let sizes = (0..<Int(n_layers)).map { Int(sizesPointer[$0]) }
        let hidden = Int(n_layers) - 2
        var activations: [Activation] = []
        if o.activations == nil, hidden > 0 {
            activations = Array(repeating: shared, count: hidden)
        } else if let given = o.activations {
            for i in 0..<hidden { activations.append(try convert(given[i], "activations[\(i)]")) }
        }
        let network = try Network(
            layerSizes: sizes, hiddenActivations: activations, loss: loss,
            initialization: initialization, seed: o.seed)
        out.pointee = handle(network)
    }
}

@c @implementation
public func mb_model_free(_ model: OpaquePointer?) {
    release(model, as: Network.self)
}

@c @implementation
public func mb_model_get_info(_ model: OpaquePointer?, _ info: UnsafeMutablePointer<mb_model_info>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let out = try required(info, "info")
        out.pointee = mb_model_info(
            n_layers: Int64(network.layers.count + 1), n_inputs: Int64(network.inputCount),
            n_outputs: Int64(network.outputCount), n_parameters: Int64(network.parameterCount),
            epochs_trained: Int64(try network.readEpochsTrained()), loss: cValue(network.loss))
    }
}

@c @implementation
public func mb_model_layer(_ model: OpaquePointer?, _ layer: Int64, _ info: UnsafeMutablePointer<mb_layer_info>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let out = try required(info, "info")
        guard layer >= 0, layer < network.layers.count else {
            throw .init(.invalidArgument, "layer must be in [0, \(network.layers.count)), got \(layer)")
        }
        let dense = network.layers[Int(layer)]
        let activation: Activation = Int(layer) == network.layers.count - 1 && network.loss == .binaryCrossEntropy
            ? .sigmoid : dense.activation
        out.pointee = mb_layer_info(
            n_in: Int64(dense.nIn), n_out: Int64(dense.nOut), activation: cValue(activation),
            weight_offset: Int64(dense.weightOffset), bias_offset: Int64(dense.biasOffset))
    }
}

@c @implementation
public func mb_model_get_parameters(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ count: Int64) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let out = try required(out, "out")
        guard count >= 0 else { throw .init(.invalidArgument, "count must not be negative, got \(count)") }
        try network.copyParameters(to: UnsafeMutableBufferPointer(start: out, count: Int(count)))
    }
}

@c @implementation
public func mb_model_set_parameters(_ model: OpaquePointer?, _ params: UnsafePointer<Float>?, _ count: Int64) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let params = try required(params, "params")
        guard count >= 0 else { throw .init(.invalidArgument, "count must not be negative, got \(count)") }
        try network.setParameters(UnsafeBufferPointer(start: params, count: Int(count)))
    }
}

// MARK: - Forward only

@c @implementation
public func mb_predict(
    _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ m: Int64, _ n_features: Int64, _ out: UnsafeMutablePointer<Float>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        try network.predict(try required(x, "x"), count: Int(m), features: Int(n_features), into: try required(out, "out"))
    }
}

@c @implementation
public func mb_predict_classes(
    _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ m: Int64, _ n_features: Int64, _ out: UnsafeMutablePointer<Int32>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        try network.predictClasses(try required(x, "x"), count: Int(m), features: Int(n_features), into: try required(out, "out"))
    }
}

@c @implementation
public func mb_evaluate(
    _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafeRawPointer?, _ y_type: mb_targets,
    _ m: Int64, _ n_features: Int64, _ cost: UnsafeMutablePointer<Double>?, _ accuracy: UnsafeMutablePointer<Double>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let result = try network.evaluate(try dataView(x, y, y_type, m, n_features))
        cost?.pointee = result.cost
        accuracy?.pointee = result.accuracy
    }
}

@c @implementation
public func mb_gradient(
    _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafeRawPointer?, _ y_type: mb_targets,
    _ m: Int64, _ n_features: Int64, _ cost: UnsafeMutablePointer<Double>?,
    _ grad: UnsafeMutablePointer<Float>?, _ count: Int64
) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        let costOut = try required(cost, "cost")
        let grad = try required(grad, "grad")
        guard count >= 0 else { throw .init(.invalidArgument, "count must not be negative, got \(count)") }
        costOut.pointee = try network.gradient(
            try dataView(x, y, y_type, m, n_features), into: UnsafeMutableBufferPointer(start: grad, count: Int(count)))
    }
}

// MARK: - Files

@c @implementation
public func mb_model_save(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let network = try network(model)
        try network.save(to: try string(path, "path"))
    }
}

@c @implementation
public func mb_model_load(_ path: UnsafePointer<CChar>?, _ model: UnsafeMutablePointer<OpaquePointer?>?) -> mb_status {
    model?.pointee = nil
    return run { () throws(MiniBatchError) in
        let out = try required(model, "model")
        out.pointee = handle(try Network.load(from: try string(path, "path")))
    }
}

@c @implementation
public func mb_model_reset_training_state(_ model: OpaquePointer?) -> mb_status {
    run { () throws(MiniBatchError) in try network(model).resetTrainingState() }
}

@c @implementation
public func mb_model_restore_best_weights(_ model: OpaquePointer?, _ epoch: UnsafeMutablePointer<Int64>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let best = try network(model).restoreBestWeights()
        epoch?.pointee = Int64(best)
    }
}
