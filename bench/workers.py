"""Benchmark workers: one persistent process per implementation and workload.

Started by bench.py as  python3 workers.py '<json config>'.  A worker generates its data
once (the same seed gives the same data in every worker), then answers commands, one JSON
object per line on stdin, with one JSON object per line on the protocol channel:

    {"cmd": "epoch", "batch": b, "round": r}  ->  {"ok": true, "seconds": t}
    {"cmd": "memory"}                          ->  {"ok": true, "hwm": bytes, "rss": bytes}
    {"cmd": "quit"}

The protocol channel is the worker's original stdout; file descriptor 1 is pointed at
stderr before any library is loaded, so whatever a library prints cannot corrupt it.

Workloads (all float32, features uniform in [0, 1) from numpy.random.default_rng(seed)):
    mlp     m x 784, 10 classes, 784-128 (ReLU)-10 softmax + cross-entropy
    logreg  m x 100, one sigmoid output, binary cross-entropy
    shuffle the logreg data: paired shuffle of X and y into new buffers
    scaling minibatch only: W1 epochs over m and hidden width (see bench.py)
    blas    no training: sgemm rates at the W1 product shapes (numpy and system OpenBLAS)
"""

import ctypes as C
import json
import os
import sys
import time

import numpy as np

_proto = None  # the protocol channel (see take_stdout)


def take_stdout():
    """Keeps the original stdout for the protocol and points fd 1 at stderr, so that
    anything a library prints goes to the worker's log. Called only in a worker."""
    global _proto
    _proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

LIB_DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build",
                           "release", "libminibatch.so")
SYSTEM_OPENBLAS = "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"

SHAPES = {"mlp": (784, 128, 10), "logreg": (100, 1)}
LR = 0.1


def reply(**kw):
    _proto.write(json.dumps(kw) + "\n")
    _proto.flush()


# --- memory -----------------------------------------------------------------------------
def proc_status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) * 1024
    return out


def reset_peak():
    """Resets VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# --- data -------------------------------------------------------------------------------
def make_data(workload, m, seed):
    """X (m, n) float32 uniform [0, 1); labels from a fixed random linear teacher (so the
    problem is learnable), computed in chunks so that creating the data has no large
    temporaries. mlp: int32 classes 0..9; logreg: int32 0/1."""
    n = SHAPES["mlp" if workload in ("mlp", "scaling") else "logreg"][0]
    rng = np.random.default_rng(seed)
    X = rng.random((m, n), dtype=np.float32)
    teacher = np.random.default_rng(seed + 1)
    k = 10 if n == 784 else 1
    T = teacher.standard_normal((n, k)).astype(np.float32)
    y = np.empty(m, dtype=np.int32)
    for s in range(0, m, 65536):
        z = (X[s:s + 65536] - np.float32(0.5)) @ T
        y[s:s + 65536] = z.argmax(axis=1) if k > 1 else (z[:, 0] > 0)
    return X, y


# --- minibatch through ctypes -----------------------------------------------------------
class TrainOptions(C.Structure):
    """mb_train_options, every field (mb_train_options_init writes them all)."""
    _fields_ = [("struct_size", C.c_size_t), ("epochs", C.c_int64), ("batch_size", C.c_int64),
                ("learning_rate", C.c_float), ("seed", C.c_uint64), ("shuffle", C.c_int),
                ("last_batch", C.c_int), ("memory_budget", C.c_size_t),
                ("progress", C.c_void_p), ("user_data", C.c_void_p), ("threads", C.c_int),
                ("optimizer", C.c_int), ("momentum", C.c_float), ("nesterov", C.c_int),
                ("rho", C.c_float), ("beta1", C.c_float), ("beta2", C.c_float),
                ("epsilon", C.c_float), ("weight_decay", C.c_float), ("l2", C.c_float),
                ("clip_norm", C.c_float), ("schedule", C.c_int), ("gamma", C.c_double),
                ("step_epochs", C.c_int64), ("power_t", C.c_double),
                ("cosine_epochs", C.c_int64), ("min_learning_rate", C.c_double),
                ("patience", C.c_int64), ("min_delta", C.c_double), ("restore_best", C.c_int),
                ("validation_x", C.c_void_p), ("validation_y", C.c_void_p),
                ("validation_y_type", C.c_int), ("validation_m", C.c_int64),
                ("validation_fraction", C.c_double), ("sample_weight", C.c_void_p),
                ("validation_dataset", C.c_void_p), ("shards", C.c_int64),
                ("communicator", C.c_void_p), ("distributed_mode", C.c_int),
                ("interrupt", C.c_void_p), ("monitor", C.c_int), ("dropout", C.c_double),
                ("class_weight", C.c_void_p), ("class_weight_count", C.c_int64),
                ("label_smoothing", C.c_double), ("amsgrad", C.c_int),
                ("warmup_epochs", C.c_int64), ("warmup_start_factor", C.c_double),
                ("clip_value", C.c_float), ("lr_decay", C.c_float), ("initial_accumulator_value", C.c_float),
                ("momentum_decay", C.c_double), ("centered", C.c_int), ("milestones", C.c_void_p),
                ("milestone_count", C.c_int64), ("restart_multiplier", C.c_int64),
                ("validation_sample_weight", C.c_void_p), ("schedule_per_batch", C.c_int),
                ("pct_start", C.c_double), ("div_factor", C.c_double), ("final_div_factor", C.c_double),
                ("cycle_momentum", C.c_int), ("base_momentum", C.c_double), ("max_momentum", C.c_double),
                ("three_phase", C.c_int), ("anneal_strategy", C.c_int), ("coupled_weight_decay", C.c_float),
                ("decoupled_weight_decay", C.c_int), ("plateau_patience", C.c_int64),
                ("plateau_threshold", C.c_double), ("plateau_threshold_mode", C.c_int),
                ("plateau_cooldown", C.c_int64), ("plateau_eps", C.c_double),
                ("cyclic_mode", C.c_int), ("cyclic_step_size_up", C.c_int64), ("cyclic_step_size_down", C.c_int64),
                ("denormals", C.c_int), ("reserved", C.c_int32)]


#: The update rules the rules benchmark compares (bench/rules.py): each peer runs the same
#: rule at the same rate. "gd" is plain gradient descent (the other phases' rule).
RULES = {"gd": {"lr": 0.1}, "momentum": {"lr": 0.01, "momentum": 0.9}, "adam": {"lr": 0.001},
         "adagrad": {"lr": 0.01}, "adamax": {"lr": 0.002}, "amsgrad": {"lr": 0.001},
         "nadam": {"lr": 0.002}, "radam": {"lr": 0.001},
         "rmsprop_centered_momentum": {"lr": 0.0005, "momentum": 0.9}}
#: (scikit-learn has none of the rules after adam: rules.py runs them against PyTorch's only)
MB_OPTIMIZERS = {"gd": 0, "momentum": 0, "adam": 2, "adagrad": 4, "adamax": 5, "amsgrad": 2,
                 "nadam": 6, "radam": 7, "rmsprop_centered_momentum": 1}


class ModelOptions(C.Structure):
    _fields_ = [("hidden_activation", C.c_int), ("activations", C.c_void_p),
                ("loss", C.c_int), ("init", C.c_int), ("seed", C.c_uint64)]


MB_ACTIVATION_RELU = 1
MB_LOSS_BCE, MB_LOSS_CE = 1, 2
MB_TARGETS_CLASS_INDEX = 1


def load_minibatch(path):
    lib = C.CDLL(path)
    vp, i64, u64 = C.c_void_p, C.c_int64, C.c_uint64
    lib.mb_version.restype = C.c_char_p
    lib.mb_version.argtypes = []
    lib.mb_last_error.restype = C.c_char_p
    lib.mb_last_error.argtypes = []
    lib.mb_status_name.restype = C.c_char_p
    lib.mb_status_name.argtypes = [C.c_int]
    lib.mb_model_options_init.restype = None
    lib.mb_model_options_init.argtypes = [C.POINTER(ModelOptions)]
    lib.mb_train_options_init.restype = None
    lib.mb_train_options_init.argtypes = [C.POINTER(TrainOptions)]
    lib.mb_model_create.restype = C.c_int
    lib.mb_model_create.argtypes = [C.POINTER(i64), i64, C.POINTER(ModelOptions),
                                    C.POINTER(vp)]
    lib.mb_model_free.restype = None
    lib.mb_model_free.argtypes = [vp]
    lib.mb_train.restype = C.c_int
    lib.mb_train.argtypes = [vp, vp, vp, C.c_int, i64, i64, C.POINTER(TrainOptions), vp]
    lib.mb_shuffle_into.restype = C.c_int
    lib.mb_shuffle_into.argtypes = [vp, C.c_size_t, vp, C.c_size_t, i64, u64, u64, vp, vp]
    lib.mb_get_blas_info.restype = C.c_int
    lib.mb_get_blas_info.argtypes = [C.POINTER(BlasInfo)]
    # mb_train_options_init writes the library's whole struct: check, on a buffer with room
    # to spare, that TrainOptions above is that size (it lacked 0.4.0's and 0.5.0's fields
    # until 0.6.0, and make bench stopped here).
    spare = C.create_string_buffer(C.sizeof(TrainOptions) + 4096)
    lib.mb_train_options_init(C.cast(spare, C.POINTER(TrainOptions)))
    size = C.c_size_t.from_buffer(spare).value
    if size != C.sizeof(TrainOptions):
        raise RuntimeError("bench/workers.py's TrainOptions is %d bytes, the library's "
                           "mb_train_options %d: update it from include/minibatch.h"
                           % (C.sizeof(TrainOptions), size))
    return lib


class BlasInfo(C.Structure):
    _fields_ = [("struct_size", C.c_size_t)] + [
        (k, C.c_char_p) for k in ("backend", "openblas_version", "openblas_core",
                                  "openblas_isa", "libxsmm_version", "libxsmm_target",
                                  "libxsmm_isa", "cpu_isa")] + [("threads", C.c_int32),
                                                                ("training_forward", C.c_char_p),
                                                                ("activations", C.c_char_p)]


def blas_info(lib):
    """minibatch's matrix backend as mb_get_blas_info reports it."""
    info = BlasInfo()
    info.struct_size = C.sizeof(BlasInfo)
    if lib.mb_get_blas_info(C.byref(info)) != 0:
        return {"error": lib.mb_last_error().decode()}
    return {k: (v.decode() if isinstance(v, bytes) else v)
            for k, v in ((n, getattr(info, n)) for n, _ in BlasInfo._fields_[1:])}


class MBError(RuntimeError):
    pass


def mb_check(lib, status, what):
    if status != 0:
        raise MBError("%s: %s: %s" % (what, lib.mb_status_name(status).decode(),
                                      lib.mb_last_error().decode(errors="replace")))


class MiniBatchImpl:
    def __init__(self, cfg, X, y, sizes):
        self.lib = load_minibatch(cfg.get("lib") or LIB_DEFAULT)
        self.rule = cfg.get("rule", "gd")
        # mb_train_options.denormals (0.12.0): 0 flushes subnormals (the default), 1 keeps them
        self.denormals = 1 if cfg.get("keep_denormals") else 0
        self.X, self.y = X, y
        self.m, self.n = X.shape
        assert X.flags.c_contiguous and X.dtype == np.float32
        assert y.flags.c_contiguous and y.dtype == np.int32
        self.model = self.create(sizes)

    def create(self, sizes):
        opts = ModelOptions()
        self.lib.mb_model_options_init(C.byref(opts))
        opts.hidden_activation = MB_ACTIVATION_RELU
        opts.loss = MB_LOSS_CE if sizes[-1] > 1 else MB_LOSS_BCE
        opts.seed = 1
        arr = (C.c_int64 * len(sizes))(*sizes)
        model = C.c_void_p()
        mb_check(self.lib, self.lib.mb_model_create(arr, len(sizes), C.byref(opts),
                                                    C.byref(model)), "mb_model_create")
        return model

    def epoch(self, b, rnd, X=None, y=None, model=None, epochs=1, between=time.perf_counter):
        """Trains `epochs` epochs at batch b; returns between()'s difference across the
        mb_train call (the seconds it took)."""
        X = self.X if X is None else X
        y = self.y if y is None else y
        model = self.model if model is None else model
        m, n = X.shape
        o = TrainOptions()
        self.lib.mb_train_options_init(C.byref(o))
        o.epochs, o.batch_size, o.learning_rate, o.seed = epochs, min(b, m), LR, rnd
        rule = self.rule
        if rule != "gd":
            o.learning_rate = RULES[rule]["lr"]
            o.optimizer = MB_OPTIMIZERS[rule]
            o.momentum = RULES[rule].get("momentum", 0.0)
            o.amsgrad = 1 if rule == "amsgrad" else 0
            o.centered = 1 if rule == "rmsprop_centered_momentum" else 0
        o.denormals = self.denormals
        xp, yp = X.ctypes.data, y.ctypes.data
        t = between()
        s = self.lib.mb_train(model, xp, yp, MB_TARGETS_CLASS_INDEX, m, n, C.byref(o), None)
        t = between() - t
        mb_check(self.lib, s, "mb_train")
        return t

    def allocations(self, b):
        """Heap allocations of an mb_train call of 1 epoch and of 3 epochs at batch b,
        counted by bench/count_allocations.c (preloaded): what the extra two epochs add is
        what training allocates per epoch and per mini-batch. The count is the whole
        process's, so the interpreter's own work between the counter's two reads (the call's
        arguments; now and then a new block of its small-object allocator) can add one: each
        length is called twice and the fewer counted (one allocation per mini-batch would
        add hundreds to every call of 3 epochs)."""
        count = C.CDLL(None).bench_allocations
        count.restype, count.argtypes = C.c_long, []
        self.epoch(b, 0, between=count)  # first-call set-up at this batch size
        one = min(self.epoch(b, 1, between=count), self.epoch(b, 3, between=count))
        three = min(self.epoch(b, 2, epochs=3, between=count),
                    self.epoch(b, 4, epochs=3, between=count))
        return {"one_epoch": one, "three_epochs": three, "batches_per_epoch": -(-self.m // b)}


# --- plain numpy ------------------------------------------------------------------------
class NumpyImpl:
    """What a reader of the course writes: permutation, X[perm], slices, forward, cost,
    backward, update; row-major, float32, W of shape (n_out, n_in)."""

    def __init__(self, cfg, X, y, sizes):
        self.X, self.y = X, y
        self.rng = np.random.default_rng(cfg["seed"] + 7)
        init = np.random.default_rng(1)
        self.W, self.b = [], []
        for i in range(len(sizes) - 1):
            nin, nout = sizes[i], sizes[i + 1]
            std = np.sqrt(2.0 / nin) if i < len(sizes) - 2 else np.sqrt(2.0 / (nin + nout))
            self.W.append((init.standard_normal((nout, nin)) * std).astype(np.float32))
            self.b.append(np.zeros(nout, np.float32))
        self.binary = sizes[-1] == 1

    def epoch(self, b, rnd):
        t = time.perf_counter()
        m = self.X.shape[0]
        perm = self.rng.permutation(m)
        Xs, ys = self.X[perm], self.y[perm]
        lr = np.float32(LR)
        if self.binary:
            w, bias = self.W[0][0], self.b[0]
            for s in range(0, m, b):
                xb, yb = Xs[s:s + b], ys[s:s + b]
                k = xb.shape[0]
                z = xb @ w + bias
                a = 1.0 / (1.0 + np.exp(-z))
                eps = np.float32(1e-7)
                cost = -np.mean(yb * np.log(a + eps) + (1 - yb) * np.log(1 - a + eps))
                dz = (a - yb) / np.float32(k)
                w -= lr * (xb.T @ dz)
                bias -= lr * dz.sum()
        else:
            W1, b1, W2, b2 = self.W[0], self.b[0], self.W[1], self.b[1]
            for s in range(0, m, b):
                xb, yb = Xs[s:s + b], ys[s:s + b]
                k = xb.shape[0]
                rows = np.arange(k)
                Z1 = xb @ W1.T + b1
                A1 = np.maximum(Z1, 0)
                Z2 = A1 @ W2.T + b2
                Z2 -= Z2.max(axis=1, keepdims=True)
                E = np.exp(Z2)
                P = E / E.sum(axis=1, keepdims=True)
                cost = -np.mean(np.log(P[rows, yb]))
                dZ2 = P
                dZ2[rows, yb] -= 1
                dZ2 /= np.float32(k)
                dW2 = dZ2.T @ A1
                db2 = dZ2.sum(axis=0)
                dZ1 = (dZ2 @ W2) * (Z1 > 0)
                dW1 = dZ1.T @ xb
                db1 = dZ1.sum(axis=0)
                W1 -= lr * dW1
                b1 -= lr * db1
                W2 -= lr * dW2
                b2 -= lr * db2
        del cost
        return time.perf_counter() - t


# --- scikit-learn -----------------------------------------------------------------------
class SklearnImpl:
    def __init__(self, cfg, X, y, sizes):
        import warnings
        warnings.filterwarnings("ignore")
        from sklearn.neural_network import MLPClassifier
        self.X, self.y = X, y
        hidden = tuple(sizes[1:-1])
        rule = cfg.get("rule", "gd")
        self.clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu",
                                 solver="adam" if rule == "adam" else "sgd",
                                 momentum=RULES[rule].get("momentum", 0.0), nesterovs_momentum=False,
                                 learning_rate="constant", learning_rate_init=RULES[rule]["lr"] if rule != "gd" else LR,
                                 alpha=0.0,
                                 batch_size=200, max_iter=1, shuffle=True,
                                 random_state=cfg["seed"] + 7, early_stopping=False)
        self.classes = np.arange(max(sizes[-1], 2))
        self.first = True

    def epoch(self, b, rnd):
        self.clf.set_params(batch_size=min(b, self.X.shape[0]))
        t = time.perf_counter()
        if self.first:
            self.clf.partial_fit(self.X, self.y, classes=self.classes)
            self.first = False
        else:
            self.clf.partial_fit(self.X, self.y)
        t = time.perf_counter() - t
        coefs = self.clf.coefs_
        if [c.shape for c in coefs] and coefs[0].dtype != np.float32:
            raise RuntimeError("sklearn trained in %s, not float32" % coefs[0].dtype)
        return t


# --- PyTorch ----------------------------------------------------------------------------
class TorchImpl:
    def __init__(self, cfg, X, y, sizes, loader):
        import torch
        torch.set_num_threads(cfg["threads"])
        self.torch = torch
        self.loader = loader
        torch.manual_seed(1)
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.binary = sizes[-1] == 1
        self.X = torch.from_numpy(X)  # shares memory, no copy
        if self.binary:
            self.Y = torch.from_numpy(y.astype(np.float32)).unsqueeze(1)
            self.loss = torch.nn.BCEWithLogitsLoss()
        else:
            self.Y = torch.from_numpy(y.astype(np.int64))
            self.loss = torch.nn.CrossEntropyLoss()
        rule = cfg.get("rule", "gd")
        if rule in ("adam", "amsgrad"):
            self.opt = torch.optim.Adam(self.model.parameters(), lr=RULES[rule]["lr"], amsgrad=rule == "amsgrad")
        elif rule == "adagrad":  # the library's epsilon (1e-8; PyTorch's default is 1e-10)
            self.opt = torch.optim.Adagrad(self.model.parameters(), lr=RULES["adagrad"]["lr"], eps=1e-8)
        elif rule == "adamax":
            self.opt = torch.optim.Adamax(self.model.parameters(), lr=RULES["adamax"]["lr"])
        elif rule == "nadam":  # the library's epsilon, PyTorch's default momentum_decay
            self.opt = torch.optim.NAdam(self.model.parameters(), lr=RULES["nadam"]["lr"])
        elif rule == "radam":
            self.opt = torch.optim.RAdam(self.model.parameters(), lr=RULES["radam"]["lr"])
        elif rule == "rmsprop_centered_momentum":  # the library's epsilon (PyTorch's default 1e-8 too)
            self.opt = torch.optim.RMSprop(self.model.parameters(), lr=RULES[rule]["lr"], alpha=0.99,
                                           momentum=0.9, centered=True)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=RULES[rule]["lr"] if rule != "gd" else LR,
                                       momentum=RULES[rule].get("momentum", 0.0))
        self.gen = torch.Generator().manual_seed(cfg["seed"] + 7)
        self.dataset = torch.utils.data.TensorDataset(self.X, self.Y)

    def step(self, xb, yb):
        self.opt.zero_grad(set_to_none=True)
        cost = self.loss(self.model(xb), yb)
        cost.backward()
        self.opt.step()

    def epoch(self, b, rnd):
        torch = self.torch
        m = self.X.shape[0]
        b = min(b, m)
        t = time.perf_counter()
        if self.loader:
            dl = torch.utils.data.DataLoader(self.dataset, batch_size=b, shuffle=True,
                                             generator=self.gen, num_workers=0)
            for xb, yb in dl:
                self.step(xb, yb)
        else:
            perm = torch.randperm(m, generator=self.gen)
            for s in range(0, m, b):
                idx = perm[s:s + b]
                self.step(self.X[idx], self.Y[idx])
        return time.perf_counter() - t


# --- shuffle ----------------------------------------------------------------------------
class ShuffleMB:
    def __init__(self, cfg, X, y):
        self.lib = load_minibatch(cfg.get("lib") or LIB_DEFAULT)
        self.rule = cfg.get("rule", "gd")
        self.X, self.y = X, y
        self.Xo, self.yo = np.empty_like(X), np.empty_like(y)
        self.Xo.fill(0)
        self.yo.fill(0)

    def epoch(self, b, rnd):
        m, n = self.X.shape
        t = time.perf_counter()
        s = self.lib.mb_shuffle_into(self.X.ctypes.data, n * 4, self.y.ctypes.data, 4, m,
                                     7, rnd, self.Xo.ctypes.data, self.yo.ctypes.data)
        t = time.perf_counter() - t
        mb_check(self.lib, s, "mb_shuffle_into")
        return t


class ShuffleNumpy:
    """numpy's paired shuffle as written: perm = rng.permutation(m); X[perm], y[perm]
    (new arrays every time). With take=True: np.take(..., out=) into reused buffers."""

    def __init__(self, cfg, X, y, take):
        self.X, self.y, self.take = X, y, take
        self.rng = np.random.default_rng(cfg["seed"] + 7)
        if take:
            self.Xo, self.yo = np.empty_like(X), np.empty_like(y)
            self.Xo.fill(0)
            self.yo.fill(0)

    def epoch(self, b, rnd):
        t = time.perf_counter()
        perm = self.rng.permutation(self.X.shape[0])
        if self.take:
            np.take(self.X, perm, axis=0, out=self.Xo)
            np.take(self.y, perm, axis=0, out=self.yo)
        else:
            Xs, ys = self.X[perm], self.y[perm]
        t = time.perf_counter() - t
        if not self.take:
            del Xs, ys
        return t


# --- sgemm rates --------------------------------------------------------------------------
def w1_products(b, sizes=(784, 128, 10)):
    """The matrix products of one W1 training step on a batch of b rows, as
    (name, M, N, K, transA, transB) of a row-major C = op(A) op(B), W stored (out, in)."""
    n0, n1, n2 = sizes
    return [("fwd1 X.W1^T", b, n1, n0, False, True),
            ("fwd2 A1.W2^T", b, n2, n1, False, True),
            ("dW2 dZ2^T.A1", n2, n1, b, True, False),
            ("dA1 dZ2.W2", b, n1, n2, False, False),
            ("dW1 dZ1^T.X", n1, n0, b, True, False)]


def w1_flops_per_sample(sizes=(784, 128, 10)):
    return sum(2 * M * N * K for _, M, N, K, _, _ in w1_products(1, sizes))


class BlasProbe:
    """sgemm rates of one BLAS: "system" (Debian's OpenBLAS, through ctypes cblas_sgemm),
    "numpy" (np.matmul, numpy's bundled OpenBLAS) or "minibatch" (minibatch's own backend,
    mbm_sgemm: libxsmm where it runs the product, its OpenBLAS otherwise, each product in
    the layout training runs it in (`as_trained`), from the same source and libraries as libminibatch.so, built by bench.py as a probe library since the
    library exports only mb_*). One BLAS per process: two OpenBLAS thread pools in one
    process would spin against each other."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.source = cfg["impl"]
        self.min_block = cfg.get("min_block", 0.02)
        self.blocks = cfg.get("blocks", 3)
        self.arrays = {}
        self.rng = np.random.default_rng(3)
        self.sys = None
        self.backend = None
        if self.source == "minibatch":
            self.backend = C.CDLL(cfg["backend_probe"])
            self.backend.mbm_sgemm.restype = None
            self.backend.mbm_sgemm.argtypes = [C.c_int, C.c_int, C.c_int, C.c_int, C.c_int,
                                               C.c_float, C.c_void_p, C.c_int, C.c_void_p,
                                               C.c_int, C.c_float, C.c_void_p, C.c_int]
            # Products run single-threaded, as training runs them. With more than one
            # thread the rate is the team's (bench/team_rate.c: the batch's rows split
            # across the threads, all running at once); the one-thread rate times the
            # threads, the bound this benchmark used before, is kept beside it ("one ").
            self.backend.mbm_set_threads(1)
            # ... and as a training step's products (the rule for x W^T through a copy of
            # W^T, matrix.c): this thread is marked so for the worker's life.
            self.backend.mbm_set_training_products(1)
            self.backend.mbm_bench_team_seconds.restype = C.c_double
            self.backend.mbm_bench_team_seconds.argtypes = [C.c_int] * 7 + [C.c_void_p] * 3
            self.backend.mbm_training_transposes_first_weights.restype = C.c_int
            self.backend.mbm_training_transposes_first_weights.argtypes = [C.c_int, C.c_int]
        self.team = cfg["threads"] if self.source == "minibatch" and cfg["threads"] > 1 else 0
        if self.source == "system":
            self.sys = C.CDLL(SYSTEM_OPENBLAS)
            self.sys.cblas_sgemm.restype = None
            self.sys.cblas_sgemm.argtypes = [C.c_int, C.c_int, C.c_int, C.c_int, C.c_int,
                                             C.c_int, C.c_float, C.c_void_p, C.c_int,
                                             C.c_void_p, C.c_int, C.c_float, C.c_void_p,
                                             C.c_int]
            self.sys.openblas_get_corename.restype = C.c_char_p
            self.sys.openblas_get_num_threads.restype = C.c_int

    def as_trained(self, name, M, N, K, ta, tb):
        """Product `name` of w1_products as this worker's BLAS runs it in training: as
        written, except in minibatch where training keeps the first layer's W transposed
        (mbm_training_transposes_first_weights): its forward product x W^T is then x (W^T),
        no operand transposed, and its dW = dZ^T X is made as dW^T = X^T dZ. The same
        FLOPs; no transpose is timed (training transposes W twice an epoch)."""
        if self.source != "minibatch":
            return M, N, K, ta, tb
        first = self.backend.mbm_training_transposes_first_weights
        if name.startswith("fwd1") and first(N, K):
            return M, N, K, False, False
        if name.startswith("dW1") and first(M, N):
            return N, M, K, True, False
        return M, N, K, ta, tb

    def operands(self, M, N, K, ta, tb):
        key = (M, N, K, ta, tb)
        if key not in self.arrays:
            A = self.rng.random((K, M) if ta else (M, K), dtype=np.float32)
            B = self.rng.random((N, K) if tb else (K, N), dtype=np.float32)
            Cm = np.zeros((M, N), np.float32)
            self.arrays[key] = (A, B, Cm)
        return self.arrays[key]

    def timeit(self, fn):
        fn()
        t0 = time.perf_counter()
        fn()
        once = time.perf_counter() - t0
        reps = max(1, int(self.min_block / max(once, 1e-7)))
        best = float("inf")
        for _ in range(self.blocks):
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            best = min(best, (time.perf_counter() - t0) / reps)
        return best

    def product(self, M, N, K, ta, tb):
        """A call that runs the product of this shape once, with this worker's BLAS."""
        A, B, Cm = self.operands(M, N, K, ta, tb)
        if self.source == "numpy":
            a, bb = (A.T if ta else A), (B.T if tb else B)

            def mm():
                np.matmul(a, bb, out=Cm)
        else:
            if self.source == "minibatch":
                f = self.backend.mbm_sgemm
                args = (int(ta), int(tb), M, N, K, 1.0, A.ctypes.data, A.shape[1],
                        B.ctypes.data, B.shape[1], 0.0, Cm.ctypes.data, N)
            else:
                f = self.sys.cblas_sgemm
                args = (101, 112 if ta else 111, 112 if tb else 111, M, N, K, 1.0,
                        A.ctypes.data, A.shape[1], B.ctypes.data, B.shape[1], 0.0,
                        Cm.ctypes.data, N)

            def mm():
                f(*args)
        return mm

    def team_seconds(self, M, N, K, ta, tb, count):
        """Seconds per call of the product split across the team (bench/team_rate.c)."""
        A, B, Cm = self.operands(M, N, K, ta, tb)
        t = self.backend.mbm_bench_team_seconds(self.team, count, int(ta), int(tb), M, N, K,
                                                A.ctypes.data, B.ctypes.data, Cm.ctypes.data)
        if t <= 0:
            raise RuntimeError("mbm_bench_team_seconds failed (threads or memory)")
        return t

    def rate(self, M, N, K, ta, tb):
        flops = 2.0 * M * N * K
        if self.team:
            self.team_seconds(M, N, K, ta, tb, 1)
            reps = max(1, int(self.min_block / self.team_seconds(M, N, K, ta, tb, 1)))
            return flops / min(self.team_seconds(M, N, K, ta, tb, reps)
                               for _ in range(self.blocks)) / 1e9
        return flops / self.timeit(self.product(M, N, K, ta, tb)) / 1e9

    def sustained(self, M, N, K, ta, tb, count, one=False, warm_up=0.01):
        """The rate of `count` calls in a row, timed once (after untimed calls for at least
        `warm_up` seconds): what an epoch's products of this shape get, measured like an
        epoch. With a team, the team's rate (`one`: a single thread's, times the threads)."""
        flops = 2.0 * M * N * K * count
        t_end = time.perf_counter() + warm_up
        if self.team and not one:
            # (at least 20 calls: a team's start costs a wake-up, which training pays once
            # per batch, not per product, and which one product alone would be timed with)
            calls = max(count, 20)
            while time.perf_counter() < t_end:
                self.team_seconds(M, N, K, ta, tb, calls)
            return flops / (self.team_seconds(M, N, K, ta, tb, calls) * count) / 1e9
        mm = self.product(M, N, K, ta, tb)
        mm()
        while time.perf_counter() < t_end:
            mm()
        t0 = time.perf_counter()
        for _ in range(count):
            mm()
        return (self.team or 1) * flops / (time.perf_counter() - t0) / 1e9

    def epoch(self, b, rnd):
        """Rates of every W1 product for batch b (and for the last, smaller batch): keys
        "rows|product" sustained over as many calls as an epoch makes, one after another
        (the bound the targets use), and "peak rows|product" the best of a few 20 ms
        blocks (for information)."""
        m = self.cfg["m"]
        b = min(b, m)
        out = {}
        t = time.perf_counter()
        # The cores were idle (or ran another process) just before: their first tenth of
        # a second of products ran at down to half the rate here, OpenBLAS's threads and a
        # team's alike, so the first product is warmed up that long.
        warm_up = 0.15
        for rows in sorted({b, m % b} - {0}, reverse=True):
            count = m // b if rows == b else 1
            for name, *shape in w1_products(rows):
                M, N, K, ta, tb = self.as_trained(name, *shape)
                out["%d|%s" % (rows, name)] = self.sustained(M, N, K, ta, tb, count, warm_up=warm_up)
                warm_up = 0.01
                out["peak %d|%s" % (rows, name)] = self.rate(M, N, K, ta, tb)
                if self.team:
                    out["one %d|%s" % (rows, name)] = self.sustained(M, N, K, ta, tb, count, one=True)
        return time.perf_counter() - t, out


# --- environment --------------------------------------------------------------------------
def describe(impl):
    info = {"python": sys.version.split()[0], "numpy": np.__version__, "pid": os.getpid()}
    try:
        import threadpoolctl
        info["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                   "filepath", "threading_layer")}
            for p in threadpoolctl.threadpool_info()]
    except Exception as e:  # pragma: no cover - threadpoolctl is optional
        info["threadpools"] = "unavailable: %s" % e
    if impl.startswith("sklearn"):
        import sklearn
        info["sklearn"] = sklearn.__version__
    if impl.startswith("torch"):
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0] \
            if "BLAS_INFO=" in torch.__config__.show() else "?"
        try:
            info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        except Exception:
            pass
    return info


def main():
    take_stdout()
    cfg = json.loads(sys.argv[1])
    impl, workload = cfg["impl"], cfg["workload"]
    try:
        if workload == "blas":
            worker = BlasProbe(cfg)
            X = y = None
        else:
            X, y = make_data(workload, cfg["m"], cfg["seed"])
            sizes = list(SHAPES["logreg" if workload == "shuffle" else
                                ("mlp" if workload == "scaling" else workload)])
            if workload == "shuffle":
                worker = {"minibatch": lambda: ShuffleMB(cfg, X, y),
                          "numpy": lambda: ShuffleNumpy(cfg, X, y, False),
                          "numpy-take": lambda: ShuffleNumpy(cfg, X, y, True)}[impl]()
            elif workload == "scaling":
                worker = MiniBatchImpl(cfg, X, y, sizes)
            else:
                worker = {"minibatch": lambda: MiniBatchImpl(cfg, X, y, sizes),
                          "numpy": lambda: NumpyImpl(cfg, X, y, sizes),
                          "sklearn": lambda: SklearnImpl(cfg, X, y, sizes),
                          "torch-dataloader": lambda: TorchImpl(cfg, X, y, sizes, True),
                          "torch-randperm": lambda: TorchImpl(cfg, X, y, sizes, False)}[impl]()
        info = describe(impl)
        if isinstance(worker, (MiniBatchImpl, ShuffleMB)):
            info["minibatch"] = worker.lib.mb_version().decode()
            info["minibatch_blas"] = blas_info(worker.lib)
        if isinstance(worker, BlasProbe) and worker.sys is not None:
            info["system_openblas_core"] = worker.sys.openblas_get_corename().decode()
            info["system_openblas_threads"] = worker.sys.openblas_get_num_threads()
        if isinstance(worker, BlasProbe) and worker.backend is not None:
            info["backend_probe"] = worker.cfg["backend_probe"]
        info["data_bytes"] = 0 if X is None else int(X.nbytes + y.nbytes)
        info["peak_reset"] = reset_peak()
        st = proc_status()
        info["baseline_rss"] = st["VmRSS"]
        info["baseline_hwm"] = st["VmHWM"]
    except Exception as e:
        reply(ok=False, error="%s: %s" % (type(e).__name__, e))
        return
    reply(ok=True, ready=True, info=info)

    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "quit":
                break
            if cmd["cmd"] == "memory":
                st = proc_status()
                reply(ok=True, hwm=st["VmHWM"], rss=st["VmRSS"])
            elif cmd["cmd"] == "epoch":
                r = worker.epoch(cmd["batch"], cmd["round"])
                if isinstance(r, tuple):
                    reply(ok=True, seconds=r[0], rates=r[1])
                else:
                    reply(ok=True, seconds=r)
            elif cmd["cmd"] == "allocations":
                reply(ok=True, **worker.allocations(cmd["batch"]))
            elif cmd["cmd"] == "scale":
                reply(ok=True, seconds=scaling_epoch(worker, X, y, cmd))
            else:
                reply(ok=False, error="unknown command %r" % cmd)
        except Exception as e:
            reply(ok=False, error="%s: %s" % (type(e).__name__, e))


def scaling_epoch(worker, X, y, cmd, models={}):
    """One epoch of minibatch at batch 128 on the first m rows with a 784-h-10 network
    (one model per (m, h), kept across rounds)."""
    m, h = cmd["m"], cmd["hidden"]
    if (m, h) not in models:
        models[(m, h)] = worker.create([784, h, 10])
    return worker.epoch(128, cmd["round"], X[:m], y[:m], models[(m, h)])


if __name__ == "__main__":
    main()
