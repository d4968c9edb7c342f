"""W1's epoch with each hidden activation scikit-learn's MLP offers (relu, tanh, logistic),
minibatch against scikit-learn side by side in one run: medians of alternating rounds and
their ratio; and the activations scikit-learn has not (GELU, SiLU, ELU, SELU) against
PyTorch's (nn.GELU, nn.SiLU, nn.ELU, nn.SELU; the same model, SGD, batch and thread count,
a shuffled epoch of DataLoader-free slices) where torch is installed, else minibatch alone.

    python3 bench/activations.py [--threads N] [--rounds R] [--batch B] [--lib PATH]

The model is the benchmark's W1 (784-128-10, 60,000 rows uniform in [0, 1), softmax and
cross-entropy), plain gradient descent at learning rate 0.1, batch 256, one epoch a call
(scikit-learn: one partial_fit). Every implementation runs with OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS set to the thread count (default 1) in this process,
before numpy loads; OPENBLAS_CORETYPE is left as the environment sets it, and printed.
minibatch (0.9.0 and later) runs tanh, logistic and GELU layers with glibc's vector tanhf,
expf and erfcf where the C library has them (libmvec, glibc 2.35 and later, x86-64;
Sources/CMatrix/vector_math.c), and since 0.10.0 SiLU (expf), ELU and SELU (expm1f); the
report says what ran them (mb_blas_info's `activations`) and whether this C library has
them. Needs scikit-learn (pip install scikit-learn).
"""

import argparse
import os
import sys

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--lib", default=None, help="libminibatch.so (default: the build's)")
args = ap.parse_args()
for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = str(args.threads)
here = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("MINIBATCH_LIBRARY", args.lib or os.path.join(here, "..", ".build", "release", "libminibatch.so"))
sys.path.insert(0, os.path.join(here, "..", "bindings", "python"))

import ctypes  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import minibatch_gd as mb  # noqa: E402
from bench import cpu_model  # noqa: E402 (bench/bench.py, beside this file)

try:
    from sklearn.neural_network import MLPClassifier
except ImportError as e:
    sys.exit(f"scikit-learn is needed: pip install scikit-learn ({e})")


def libmvec_has_tanhf():
    """Whether this C library's libmvec has the functions minibatch looks for (tanhf,
    erfcf and expm1f since glibc 2.35; expf since 2.22)."""
    try:
        lib = ctypes.CDLL("libmvec.so.1")
        for name in ("_ZGVbN4v_tanhf", "_ZGVbN4v_expf", "_ZGVbN4v_expm1f", "_ZGVbN4v_erfcf"):
            getattr(lib, name)
        return True
    except (OSError, AttributeError):
        return False


def main():
    warnings.filterwarnings("ignore")  # scikit-learn's ConvergenceWarning
    rng = np.random.default_rng(0)
    X = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000).astype(np.int32)
    ran = mb.blas_info().get("activations") or "scalar functions (a library that does not say)"
    print(f"CPU: {cpu_model()}, threads {args.threads}, OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, minibatch {mb.version()}; "
          f"tanh, logistic, GELU, SiLU, ELU and SELU layers: {ran}; the C library's vector tanhf, expf, expm1f, erfcf (libmvec): "
          f"{'yes' if libmvec_has_tanhf() else 'no'}")
    print(f"W1 784-128-10, 60,000 rows, batch {args.batch}, one epoch a call; medians of {args.rounds} rounds")
    print(f"{'activation':<10} {'scikit-learn s':>15} {'minibatch s':>12} {'ratio':>7}")
    for act in ("relu", "tanh", "logistic"):
        sk = MLPClassifier(hidden_layer_sizes=(128,), activation=act, solver="sgd", momentum=0,
                           nesterovs_momentum=False, learning_rate_init=0.1, alpha=0, batch_size=args.batch)
        sk.partial_fit(X, y, classes=np.arange(10))  # (warm-up: first call allocates)
        net = mb.Network([784, 128, 10], hidden_activation="sigmoid" if act == "logistic" else act, seed=0)
        net.train(X, y, epochs=1, batch_size=args.batch, learning_rate=0.1, threads=args.threads)
        times = {"sklearn": [], "minibatch": []}
        for r in range(args.rounds):  # alternating, so that a slow spell of the host hits both
            t = time.perf_counter()
            sk.partial_fit(X, y)
            times["sklearn"].append(time.perf_counter() - t)
            t = time.perf_counter()
            net.train(X, y, epochs=1, batch_size=args.batch, learning_rate=0.1, threads=args.threads, seed=r)
            times["minibatch"].append(time.perf_counter() - t)
        s, m = (float(np.median(times[k])) for k in ("sklearn", "minibatch"))
        print(f"{act:<10} {s:>15.3f} {m:>12.3f} {m / s:>7.2f}")
    # GELU (PyTorch's exact form), SiLU, ELU and SELU, which scikit-learn does not have:
    # against PyTorch's modules where torch is installed, alternating rounds as above
    try:
        import torch
        torch.set_num_threads(args.threads)
        print(f"{'activation':<10} {'PyTorch s':>15} {'minibatch s':>12} {'ratio':>7}   (torch {torch.__version__})")
    except ImportError:
        torch = None
        print(f"{'activation':<10} {'(no torch)':>15} {'minibatch s':>12}")
    for act in ("gelu", "silu", "elu", "selu"):
        net = mb.Network([784, 128, 10], hidden_activation=act, seed=0)
        net.train(X, y, epochs=1, batch_size=args.batch, learning_rate=0.1, threads=args.threads)
        epoch = torch_epoch(torch, act, X, y, args.batch) if torch is not None else None
        if epoch is not None:
            epoch(0)  # (warm-up)
        times = {"torch": [], "minibatch": []}
        for r in range(args.rounds):
            if epoch is not None:
                t = time.perf_counter()
                epoch(r)
                times["torch"].append(time.perf_counter() - t)
            t = time.perf_counter()
            net.train(X, y, epochs=1, batch_size=args.batch, learning_rate=0.1, threads=args.threads, seed=r)
            times["minibatch"].append(time.perf_counter() - t)
        m = float(np.median(times["minibatch"]))
        if epoch is None:
            print(f"{act:<10} {'(none)':>15} {m:>12.3f}")
        else:
            p = float(np.median(times["torch"]))
            print(f"{act:<10} {p:>15.3f} {m:>12.3f} {m / p:>7.2f}")


def torch_epoch(torch, act, X, y, batch):
    """One epoch of PyTorch's 784-128-10 with nn.<act> (GELU the exact form), SGD at 0.1,
    cross-entropy, shuffled mini-batches sliced from tensors held in memory."""
    module = {"gelu": torch.nn.GELU, "silu": torch.nn.SiLU, "elu": torch.nn.ELU, "selu": torch.nn.SELU}[act]
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), module(), torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    loss = torch.nn.CrossEntropyLoss()

    def run(seed):
        order = torch.randperm(len(Xt), generator=torch.Generator().manual_seed(seed))
        for s in range(0, len(Xt), batch):
            rows = order[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss(model(Xt[rows]), yt[rows]).backward()
            opt.step()
    return run


main()
