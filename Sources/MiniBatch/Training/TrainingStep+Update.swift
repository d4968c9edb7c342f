/// The update of a step: the plain path, the general one (the update rule on every member's
/// slice), the fused one, and the roll-back after a batch whose cost is not finite (see
/// `TrainingStep`'s notes).
extension TrainingStep {
    /// Applies the gradient of the last `costAndGradient`: false, with the parameters
    /// unchanged, if any new value would not be finite.
    func update() -> Bool {
        if !plain { return generalUpdate() }
        if pending != nil, fusedUpdate() { return true }
        let members = updateMembers
        run(.update, members: members)
        for t in 0..<members where !finite[t] { return false }
        swap(&spare, &network.parameters)
        if pending != nil { measureWeights() }
        keepsPrevious = true
        return true
    }

    /// Puts back the parameters and the rule's state from before the last update, when they
    /// are still kept (`keepsPrevious`): after a batch whose cost is not finite, the weights
    /// that last gave a finite cost. Whether it did.
    func rollBack() -> Bool {
        guard keepsPrevious else { return false }
        keepsPrevious = false
        swap(&spare, &network.parameters)
        if !plain {
            for k in 0..<stateSpares.count { swap(&stateSpares[k], &state.slots[k]) }
            state.step -= 1
        }
        measureWeights()
        return true
    }

    /// The L2 penalty of the last gradient's batch, 0.5 * l2 * sum(W^2) / rows, for its cost
    /// (on the calling thread, in the members' subnormal mode: `withSubnormalMode`).
    func penalty() -> Double {
        guard l2 > 0 else { return 0 }
        return withSubnormalMode { 0.5 * Double(l2) * weightSquares() / penaltyNormalizer }
    }

    /// sum(W^2) over the weights, in float runs of 4,096 summed in double.
    private func weightSquares() -> Double {
        var squares = 0.0
        for segment in segments where segment.isWeight {
            var partial: Float = 0
            var run = 0
            for i in segment.range {
                let w = network.parameters[i]
                partial += w * w
                run += 1
                if run == 4096 {
                    squares += Double(partial)
                    partial = 0
                    run = 0
                }
            }
            squares += Double(partial)
        }
        return squares
    }

    /// The general update: the norm first if clipping, then the rule on every member's
    /// slice. False, with parameters and state unchanged, if any new parameter is not finite.
    private func generalUpdate() -> Bool {
        let members = updateMembers
        terms = GradientTerms(l2: Float(Double(l2) / penaltyNormalizer), scale: 1, clip: clipValue, decay: coupledWeightDecay)
        // The rule reads at most two gradient buffers: more are summed into the first.
        if updateShards > 2 {
            run(.sum, members: members)
            ruleShards = 1
        } else {
            ruleShards = updateShards
        }
        if clipNorm > 0 {
            run(.norm, members: members)
            var squares = 0.0
            for p in 0..<TrainingStep.normParts { squares += norms[p] }
            let norm = squares.squareRoot()
            guard norm.isFinite else { return false }
            let coefficient = Double(clipNorm) / (norm + 1e-6)
            if coefficient < 1 { terms.scale = Float(coefficient) }
        }
        if case .nadam(let beta1, _, _, let decay, _) = optimizer {
            momentumProduct = momentumProducts.product(
                through: state.step.addingSaturated(1), beta1: beta1, momentumDecay: decay)
        }
        run(.rule, members: members)
        for t in 0..<members where !finite[t] { return false }
        swap(&spare, &network.parameters)
        for k in 0..<stateSpares.count { swap(&stateSpares[k], &state.slots[k]) }
        state.step = state.step.addingSaturated(1)
        keepsPrevious = true
        return true
    }

    /// Where the general update of the current step reads and writes.
    var buffers: UpdateBuffers {
        let slots = state.slots, spares = stateSpares
        let parameters = UnsafePointer(network.parameters)
        func now(_ k: Int) -> UnsafePointer<Float> { slots.count > k ? UnsafePointer(slots[k]) : parameters }
        func next(_ k: Int) -> UnsafeMutablePointer<Float> { spares.count > k ? spares[k] : spare }
        return UpdateBuffers(
            parameters: parameters, out: spare, gradients: UnsafePointer(gradients), shards: ruleShards,
            state: (now(0), now(1), now(2)), stateOut: (next(0), next(1), next(2)))
    }

    /// Member `t`'s slice of the parameters in the update.
    func slice(_ t: Int, of members: Int) -> Range<Int> {
        let count = network.parameterCount
        return (t * count / members)..<((t + 1) * count / members)
    }

    /// The rule on `range`: whether every new parameter is finite.
    func applyRule(_ range: Range<Int>) -> Bool {
        let b = buffers, step = state.step.addingSaturated(1)
        // The step's momentum or beta1, when the schedule cycles it (the kind stays).
        let optimizer = momentum.map { self.optimizer.withMomentum($0) } ?? self.optimizer
        switch optimizer {
        case .sgd(let momentum, let nesterov):
            if momentum == 0 {
                return PlainRule().apply(b, range, rate: rate, step: step, terms: terms, segments: segments)
            }
            return MomentumRule(momentum: momentum, nesterov: nesterov)
                .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
        case .rmsprop(let rho, let epsilon, let momentum, let centered):
            switch (momentum > 0, centered) {
            case (false, false):
                return RMSpropRule(rho: rho, epsilon: epsilon)
                    .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
            case (false, true):
                return RMSpropGeneralRule<RMSpropCentered>(rho: rho, epsilon: epsilon, momentum: 0)
                    .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
            case (true, false):
                return RMSpropGeneralRule<RMSpropMomentum>(rho: rho, epsilon: epsilon, momentum: momentum)
                    .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
            case (true, true):
                return RMSpropGeneralRule<RMSpropCenteredMomentum>(rho: rho, epsilon: epsilon, momentum: momentum)
                    .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
            }
        case .adam(let beta1, let beta2, let epsilon, let amsgrad), .adamW(let beta1, let beta2, let epsilon, _, let amsgrad):
            var weightDecay: Float = 0
            if case .adamW(_, _, _, let decay, _) = optimizer { weightDecay = decay }
            let adam = AdamRule(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
            if amsgrad {
                return AMSGradRule(adam: adam)
                    .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
            }
            return adam.applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
        case .adagrad(let epsilon, let lrDecay, _):
            return AdagradRule(epsilon: epsilon, lrDecay: lrDecay)
                .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
        case .adamax(let beta1, let beta2, let epsilon):
            return AdamaxRule(beta1: beta1, beta2: beta2, epsilon: epsilon)
                .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
        case .nadam(let beta1, let beta2, let epsilon, let decay, let weightDecay):
            return NAdamRule(
                beta1: beta1, beta2: beta2, epsilon: epsilon, momentumDecay: decay, product: momentumProduct,
                weightDecay: weightDecay
            ).applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
        case .radam(let beta1, let beta2, let epsilon, let weightDecay):
            return RAdamRule(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
                .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
        case .adadelta(let rho, let epsilon):
            return AdadeltaRule(rho: rho, epsilon: epsilon)
                .applyVectorised(b, range, rate: rate, step: step, terms: terms, segments: segments)
        }
    }

    /// The fused update (see the type's notes), if it is proven to stay finite: false, with
    /// nothing written, if not.
    private func fusedUpdate() -> Bool {
        guard let (_, rows) = pending else { return false }
        // |new W| <= |W| + learningRate * rows * max|dz| * max|x|, with the batch's maxima
        // (not each shard's: a source may know only the whole batch's, and the decision
        // must not depend on the source).
        var x = Magnitude(), dz = Magnitude()
        for s in 0..<shardsUsed {
            guard let shard = inputMagnitudes[s] else { return false }
            x.add(shard)
            dz.add(deltaMagnitudes[s])
        }
        guard x.isFinite, dz.isFinite else { return false }
        let bound = weightBound + Double(rule.learningRate.magnitude) * Double(rows) * Double(dz.value) * Double(x.value)
        guard bound <= fusedBound else { return false }
        // The other parameters: checked, then written in place, before W is touched.
        // (On the calling thread, in the members' subnormal mode, as every phase: `work`.)
        let others = otherParameters
        let finite = withSubnormalMode {
            rule.stepIsFinite(network.parameters, gradients: gradients, shards: shardsUsed, others)
        }
        guard finite else { return false }
        withSubnormalMode {
            _ = rule.step(network.parameters, into: network.parameters, gradients: gradients, shards: shardsUsed, others)
        }
        run(.fusedUpdate, members: updateMembers)
        weightBound = bound
        fusedUpdates += 1
        keepsPrevious = false
        return true
    }
}
