"""Class weights (mb_train_options.class_weight, Network.train(class_weight=), the
classifier's class_weight): each row weighs its class's weight (times its sample weight),
checked against the sample weights they stand for (bit for bit), against PyTorch's
CrossEntropyLoss(weight=...) / a numpy weighted mean for one step, against scikit-learn's
'balanced' rule, and for their refusals."""

from __future__ import annotations

import numpy as np
import pytest

import minibatch_gd as mb


def _data(m=300, n=5, k=3, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(m, n).astype(np.float32)
    y = rs.randint(0, k, m).astype(np.int64)
    return X, y


@pytest.mark.parametrize("k", [2, 3])
def test_class_weights_are_the_rows_sample_weights(k):
    """class_weight c gives the weights of sample_weight = c[y], bit for bit; with
    sample_weight s as well, those of s * c[y] (the product in float32)."""
    X, y = _data(k=k)
    n_out = 1 if k == 2 else k
    loss = "binary_cross_entropy" if k == 2 else "cross_entropy"
    cw = np.array([0.5, 3.0, 1.25][:k], dtype=np.float32)
    s = np.random.RandomState(1).rand(len(y)).astype(np.float32)
    for sample_weight in (None, s):
        a = mb.Network([5, 8, n_out], loss=loss, seed=1)
        a.train(X, y, epochs=3, batch_size=32, learning_rate=0.1, class_weight=cw, sample_weight=sample_weight,
                threads=1, seed=2)
        b = mb.Network([5, 8, n_out], loss=loss, seed=1)
        rows = cw[y] if sample_weight is None else (cw[y] * sample_weight).astype(np.float32)
        b.train(X, y, epochs=3, batch_size=32, learning_rate=0.1, sample_weight=rows, threads=1, seed=2)
        np.testing.assert_array_equal(a.get_parameters(), b.get_parameters())
        plain = mb.Network([5, 8, n_out], loss=loss, seed=1)
        plain.train(X, y, epochs=3, batch_size=32, learning_rate=0.1, sample_weight=sample_weight, threads=1, seed=2)
        assert np.max(np.abs(plain.get_parameters() - a.get_parameters())) > 1e-3


def test_one_step_is_the_weighted_mean_of_pytorch_or_numpy():
    """One full-batch step: the gradient of sum(w_y * loss) / sum(w_y), PyTorch's
    CrossEntropyLoss(weight=w) (computed in numpy where PyTorch is absent)."""
    X, y = _data(m=40)
    cw = np.array([0.2, 1.0, 4.0], dtype=np.float32)
    net = mb.Network([5, 3], loss="cross_entropy", seed=3)
    p0 = net.get_parameters().astype(np.float64)
    W, b = p0[:15].reshape(3, 5), p0[15:]
    z = X.astype(np.float64) @ W.T + b
    try:
        import torch
        Wt = torch.tensor(W, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True)
        out = torch.tensor(X, dtype=torch.float64) @ Wt.T + bt
        loss = torch.nn.CrossEntropyLoss(weight=torch.tensor(cw, dtype=torch.float64))(out, torch.tensor(y))
        loss.backward()
        grad = np.concatenate([Wt.grad.numpy().ravel(), bt.grad.numpy()])
        cost = loss.item()
    except ImportError:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        prob = e / e.sum(axis=1, keepdims=True)
        w = cw[y].astype(np.float64)
        dz = (prob - np.eye(3)[y]) * w[:, None] / w.sum()
        grad = np.concatenate([(dz.T @ X).ravel(), dz.sum(axis=0)])
        cost = float(np.sum(w * -np.log(prob[np.arange(len(y)), y])) / w.sum())
    h = net.train(X, y, epochs=1, batch_size=len(y), learning_rate=0.5, class_weight=cw, shuffle=False)
    assert h.batch_costs[0] == pytest.approx(cost, rel=1e-5)
    np.testing.assert_allclose(net.get_parameters(), p0 - 0.5 * grad, rtol=1e-5, atol=1e-6)


def test_balanced_is_scikit_learns_rule():
    sklearn_utils = pytest.importorskip("sklearn.utils")
    X, y = _data(m=200)
    y[:150] = 0  # imbalanced
    net = mb.Network([5, 4, 3], loss="cross_entropy")
    ours = net._class_weights("balanced", y.astype(np.int32), mb.Targets.CLASS_INDEX)
    theirs = sklearn_utils.compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(class_weight=[1.0, 2.0]), "class_weight has 2 entries, but the model has 3 classes"),
    (dict(class_weight=[1.0, -2.0, 1.0]), r"class_weight\[1\] must be finite and >= 0"),
    (dict(class_weight=[1.0, float("nan"), 1.0]), r"class_weight\[1\] must be finite and >= 0"),
    (dict(class_weight=[0.0, 0.0, 0.0]), "every row weighs 0"),
    (dict(class_weight=[3e38, 1.0, 1.0], sample_weight=np.full(300, 10, np.float32)), "overflows float"),
])
def test_bad_class_weights_are_refused(kwargs, message):
    X, y = _data()
    net = mb.Network([5, 4, 3], loss="cross_entropy")
    before = net.get_parameters()
    with pytest.raises(mb.InvalidArgumentError, match=message):
        net.train(X, y, epochs=1, **kwargs)
    np.testing.assert_array_equal(net.get_parameters(), before)


def test_network_train_takes_a_dict_and_refuses_what_float_cannot_hold():
    X, y = _data()
    a = mb.Network([5, 4, 3], seed=1)
    a.train(X, y, epochs=2, class_weight={2: 3.0}, threads=1)
    b = mb.Network([5, 4, 3], seed=1)
    b.train(X, y, epochs=2, class_weight=[1.0, 1.0, 3.0], threads=1)
    np.testing.assert_array_equal(a.get_parameters(), b.get_parameters())
    with pytest.raises(ValueError, match="does not fit in float32"):
        mb.Network([5, 4, 3]).train(X, y, class_weight=[1e39, 1, 1])
    with pytest.raises(ValueError, match="class indices 0..2"):
        mb.Network([5, 4, 3]).train(X, y, class_weight={3: 1.0})


def test_the_rows_left_to_train_on_must_weigh_something():
    """validation_fraction may hold out every row that weighs more than 0: refused, not a
    training that changes nothing."""
    X, y = _data(m=40)
    y[:] = 0
    y[7] = 2
    net = mb.Network([5, 4, 3], seed=1)
    before = net.get_parameters()
    with pytest.raises(mb.InvalidArgumentError, match="every training row weighs 0"):
        net.train(X, y, epochs=2, class_weight=[0.0, 0.0, 1.0], validation_fraction=0.5)
    with pytest.raises(mb.InvalidArgumentError, match="every training row weighs 0"):
        net.train(X, y, epochs=2, sample_weight=(y == 2).astype(np.float32), validation_fraction=0.5)
    np.testing.assert_array_equal(net.get_parameters(), before)


def test_class_weights_need_class_labels_and_arrays(tmp_path):
    X, y = _data()
    with pytest.raises(mb.InvalidArgumentError, match="needs the cross-entropy loss"):
        mb.Network([5, 4, 1], loss="mse").train(X, y.astype(np.float32), class_weight=[1.0, 2.0])
    with pytest.raises(mb.InvalidArgumentError, match="class-index targets"):
        mb.Network([5, 4, 3], loss="cross_entropy").train(X, np.eye(3, dtype=np.float32)[y], class_weight=[1, 2, 3])
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy") as ds:
        with pytest.raises(ValueError, match="class_weight applies to arrays"):
            mb.Network([5, 4, 3]).train(ds, class_weight=[1, 2, 3])


def test_the_classifier_takes_class_weight():
    """'balanced' raises the minority class's recall on imbalanced data; a dict is keyed by
    the labels (strings here) and equals the sample weights it stands for."""
    rs = np.random.RandomState(0)
    m = 2000
    X = rs.randn(m, 4).astype(np.float32)
    y = np.where(X[:, 0] + 0.8 * rs.randn(m) > 1.6, "rare", "common")  # about 10 % rare
    common = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    plain = mb.MLPClassifier(**common).fit(X, y)
    balanced = mb.MLPClassifier(class_weight="balanced", **common).fit(X, y)
    rare = y == "rare"
    recall_plain = np.mean(plain.predict(X[rare]) == "rare")
    recall_balanced = np.mean(balanced.predict(X[rare]) == "rare")
    assert recall_balanced > recall_plain + 0.2, (recall_plain, recall_balanced)
    d = mb.MLPClassifier(class_weight={"rare": 4.0}, **common).fit(X, y)
    s = mb.MLPClassifier(**common).fit(X, y, sample_weight=np.where(rare, 4.0, 1.0))
    np.testing.assert_array_equal(d.network_.get_parameters(), s.network_.get_parameters())
    # labels that are not classes are not used where every class is named, and refused
    # where a class is left out as well (scikit-learn's compute_class_weight; until 0.12.3
    # they were never refused)
    e = mb.MLPClassifier(class_weight={"rare": 4.0, "common": 1.0, "other": 2.0}, **common).fit(X, y)
    np.testing.assert_array_equal(e.network_.get_parameters(), s.network_.get_parameters())
    with pytest.raises(ValueError, match=r"The classes, \['common'\], are not in class_weight"):
        mb.MLPClassifier(class_weight={"rare": 4.0, "other": 2.0}, **common).fit(X, y)
    with pytest.raises(ValueError, match="every row weighs 0"):
        mb.MLPClassifier(class_weight={"rare": 0, "common": 0}, **common).fit(X, y)
    with pytest.raises(ValueError, match="within float32"):
        mb.MLPClassifier(class_weight={"rare": 1e39}, **common).fit(X, y)
    with pytest.raises(ValueError, match="overflows float32"):
        mb.MLPClassifier(class_weight={"rare": 3e38}, **common).fit(X, y, sample_weight=np.full(m, 10.0))
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        mb.MLPClassifier(class_weight="balanced", **common).partial_fit(X, y, classes=["common", "rare"])
    with pytest.raises(ValueError, match="must be None, 'balanced' or a dict"):
        mb.MLPClassifier(class_weight="auto", **common).fit(X, y)
    with pytest.raises(ValueError, match="multilabel"):
        mb.MLPClassifier(class_weight="balanced", **common).fit(X, np.stack([rare, ~rare], axis=1).astype(int))


@pytest.mark.parametrize("cw", [{5: 2.0}, {0: 2.0, 5: 1.0}, {0: 2.0}, {0: 1.0, 1: 2.0, 2: 0.5, 7: 3.0}])
def test_dict_keys_that_are_not_classes_follow_scikit_learn(cw):
    """A dict naming labels that are not classes: refused (with scikit-learn's message)
    exactly where compute_class_weight refuses it, that is when some class is left out as
    well; otherwise those labels are not used (they were always ignored before 0.12.3)."""
    sklearn = pytest.importorskip("sklearn.utils.class_weight")
    X, y = _data(k=3)
    try:
        sklearn.compute_class_weight(cw, classes=np.arange(3), y=y)
        refused = None
    except ValueError as e:
        refused = str(e)
    est = mb.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, class_weight=cw, random_state=0)
    if refused is None:
        est.fit(X, y)
    else:
        with pytest.raises(ValueError) as ei:
            est.fit(X, y)
        assert str(ei.value) == refused
