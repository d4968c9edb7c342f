// MARK: - Forward and backward through the whole network

extension Network {
    /// Runs every layer on `rows` rows of `input` and returns the output layer's logits,
    /// (rows, nOut), inside `workspace`.
    /// - Parameter input: (rows, nIn), row-major.
    func forward(_ input: UnsafePointer<Float>, rows: Int, _ workspace: Workspace) -> UnsafeMutablePointer<Float> {
        var a = input
        for (l, layer) in layers.enumerated() {
            let out = workspace.output(l)
            layer.forward(out: out, input: a, parameters: parameters, rows: rows)
            a = UnsafePointer(out)
        }
        return workspace.output(layers.count - 1)
    }

    /// The forward pass run in reverse: from dlogits, already in `workspace.delta`, writes
    /// every parameter's gradient into `workspace.gradients`. Layer l's backward gives d input,
    /// which the activation of layer l - 1 turns into that layer's dz.
    /// - Parameter input: the same (rows, nIn) input as the forward pass.
    func backward(_ input: UnsafePointer<Float>, rows: Int, _ workspace: Workspace) {
        let gradients = workspace.gradients!
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            let layerInput = l == 0 ? input : UnsafePointer(workspace.output(l - 1))
            let dinput = l == 0 ? nil : workspace.deltaOther
            layer.backward(dinput: dinput, gradients: gradients, dz: workspace.delta,
                           input: layerInput, parameters: parameters, rows: rows)
            if let dinput {
                layers[l - 1].activation.backward(dinput, output: layerInput, count: rows * layer.nIn)
                swap(&workspace.delta, &workspace.deltaOther)
            }
        }
    }

    /// Forward, cost and backward for one batch: returns the batch's mean cost and leaves
    /// the gradients in `workspace.gradients`.
    func costAndGradient(_ input: UnsafePointer<Float>, _ targets: Targets, rows: Int, _ workspace: Workspace) -> Double {
        let logits = forward(input, rows: rows, workspace)
        let sum = loss.forwardBackward(
            dlogits: workspace.delta, logits: logits, targets: targets,
            rows: rows, outputs: outputCount, normalizer: rows)
        backward(input, rows: rows, workspace)
        return sum / Double(rows)
    }
}
