""".npy headers read as numpy reads them, numpy being the oracle: for every header below
(valid spellings numpy accepts, and malformed ones it refuses), minibatch opens the file
exactly when ``np.load`` does, with the same shape; a dtype numpy reads but minibatch does
not train on is refused as unsupported (InvalidArgumentError), never misread."""

import struct
import warnings

import numpy as np
import pytest

import minibatch_gd as mb

M, N = 6, 3
X = np.arange(M * N, dtype="<f4").reshape(M, N) / 10
Y = np.array([0, 1, 1, 0, 1, 0], dtype="<i4")


def write_raw(path, header, data, version=(1, 0)):
    """A .npy file with exactly these header bytes (no padding added)."""
    if isinstance(header, str):
        header = header.encode("latin1" if version < (3, 0) else "utf8")
    size = struct.pack("<H" if version == (1, 0) else "<I", len(header))
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY" + bytes(version) + size + header + data)
    return path


def numpy_reads(path):
    try:
        return np.load(path)
    except Exception:
        return None


def opens_as_numpy_reads(x, y, expected):
    """A dataset of the X file `x` is refused as malformed where numpy read nothing
    (`expected` None), else opens with numpy's shape."""
    if expected is None:
        with pytest.raises(mb.FormatError):
            mb.Dataset(x, y)
    else:
        with mb.Dataset(x, y) as ds:
            assert (ds.m, ds.n_features) == expected.shape


STANDARD = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), }"

# (name, header for X (6, 3) float32 data)
X_HEADERS = [
    ("numpy's own", STANDARD + " " * 5 + "\n"),
    ("no trailing comma", "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("keys in another order", "{'shape': (6, 3), 'fortran_order': False, 'descr': '<f4'}\n"),
    ("double quotes", '{"descr": "<f4", "fortran_order": False, "shape": (6, 3)}\n'),
    ("tabs and newlines", "{\t'descr':\t'<f4',\n 'fortran_order' : False ,\n\t'shape' : ( 6 ,\t3 ) }\t \n"),
    ("a comment", "{'descr': '<f4', # float32\n 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("'f4'", "{'descr': 'f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("'=f4'", "{'descr': '=f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("'|f4'", "{'descr': '|f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("'float32'", "{'descr': 'float32', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("'<f'", "{'descr': '<f', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("adjacent strings", "{'descr': '<' 'f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("u prefix", "{u'descr': u'<f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("shape given twice, the last right", "{'descr': '<f4', 'shape': (2, 9), 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("shape given twice, the first right", "{'descr': '<f4', 'shape': (6, 3), 'fortran_order': False, 'shape': (2, 9)}\n"),
    ("hex dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (0x6, 3)}\n"),
    ("a trailing comma in the shape", "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3,)}\n"),
    ("leading spaces", "  {'descr': '<f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("a plus sign", "{'descr': '<f4', 'fortran_order': False, 'shape': (+6, 3)}\n"),
    # Python 2's longs: numpy drops the L of a 1.0 or 2.0 header that literal_eval refuses
    # (its _filter_header, with a warning)
    ("Python 2 longs", "{'descr': '<f4', 'fortran_order': False, 'shape': (6L, 3L)}\n"),
    ("a Python 2 long apart", "{'descr': '<f4', 'fortran_order': False, 'shape': (6 L, 3)}\n"),
    # refused by numpy
    ("junk in the padding", STANDARD + "   junk\n"),
    ("a second dict", STANDARD + " {}\n"),
    ("unterminated dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), \n"),
    ("an extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), 'extra': 1}\n"),
    ("a missing key", "{'descr': '<f4', 'shape': (6, 3)}\n"),
    ("fortran_order 0", "{'descr': '<f4', 'fortran_order': 0, 'shape': (6, 3)}\n"),
    ("shape a list", "{'descr': '<f4', 'fortran_order': False, 'shape': [6, 3]}\n"),
    ("shape with a float", "{'descr': '<f4', 'fortran_order': False, 'shape': (6.0, 3)}\n"),
    ("shape an int", "{'descr': '<f4', 'fortran_order': False, 'shape': (18)}\n"),
    ("a name", "{'descr': '<f4', 'fortran_order': false, 'shape': (6, 3)}\n"),
    ("a call", "{'descr': '<f4', 'fortran_order': bool(0), 'shape': (6, 3)}\n"),
    ("not a dict", "['<f4', False, (6, 3)]\n"),
    ("a leading zero", "{'descr': '<f4', 'fortran_order': False, 'shape': (06, 3)}\n"),
    ("an unclosed string", "{'descr': '<f4, 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("a NUL byte", STANDARD + "\0\n"),
    # (until 0.12.6 minibatch read these three as (6, 3), (6, 3) and (1, 3))
    ("two minus signs", "{'descr': '<f4', 'fortran_order': False, 'shape': (--6, 3)}\n"),
    ("a sign on a signed number", "{'descr': '<f4', 'fortran_order': False, 'shape': (-(-6), 3)}\n"),
    ("a bool dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (True, 3)}\n"),
    ("a signed bool", "{'descr': '<f4', 'fortran_order': False, 'shape': (6, +True)}\n"),
    ("an L that is a name", "{'descr': '<f4', 'fortran_order': False, 'shape': (6, L)}\n"),
    # numpy reads these; minibatch does not train on them
    ("big-endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (6, 3)}\n"),
    ("float64", "{'descr': '<f8', 'fortran_order': False, 'shape': (6, 3)}\n"),
]


@pytest.mark.parametrize("name,header", X_HEADERS, ids=[n for n, _ in X_HEADERS])
def test_x_headers_follow_numpy(tmp_path, name, header):
    data = X.astype(">f4").tobytes() if name == "big-endian" else X.tobytes()
    if name == "float64":
        data = X.astype("<f8").tobytes()
    x = write_raw(tmp_path / "x.npy", header, data)
    expected = numpy_reads(x)
    rows = expected.shape[0] if expected is not None and expected.ndim >= 1 else M
    np.save(tmp_path / "y.npy", np.zeros(rows, np.int32))
    if expected is None:
        with pytest.raises(mb.FormatError):
            mb.Dataset(x, tmp_path / "y.npy")
    elif expected.dtype != np.float32 or expected.dtype.byteorder == ">":
        with pytest.raises(mb.InvalidArgumentError, match="not supported"):
            mb.Dataset(x, tmp_path / "y.npy")
    else:
        with mb.Dataset(x, tmp_path / "y.npy") as ds:
            assert (ds.m, ds.n_features) == expected.shape


def test_python_2_longs_only_before_version_3(tmp_path):
    """numpy drops Python 2's L from 1.0 and 2.0 headers only (their writers were Python 2's)."""
    np.save(tmp_path / "y.npy", Y)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (6L, 3)}\n"
    for version in ((2, 0), (3, 0)):
        x = write_raw(tmp_path / ("x%d.npy" % version[0]), header, X.tobytes(), version=version)
        with pytest.warns(UserWarning) if version < (3, 0) else warnings.catch_warnings():
            expected = numpy_reads(x)
        assert (expected is not None) == (version < (3, 0))
        opens_as_numpy_reads(x, tmp_path / "y.npy", expected)


def test_version_3_headers_must_be_utf8(tmp_path):
    np.save(tmp_path / "y.npy", Y)
    good = STANDARD.replace("}", "} # \u00e9\n")
    x = write_raw(tmp_path / "x3.npy", good, X.tobytes(), version=(3, 0))
    assert numpy_reads(x) is not None
    with mb.Dataset(x, tmp_path / "y.npy") as ds:
        assert ds.n_features == N
    bad = (STANDARD + " ").encode("utf8") + b"\xff\xfe\n"
    x = write_raw(tmp_path / "x3bad.npy", bad, X.tobytes(), version=(3, 0))
    assert numpy_reads(x) is None
    with pytest.raises(mb.FormatError, match="UTF-8"):
        mb.Dataset(x, tmp_path / "y.npy")


# (name, version, header): headers that once crashed the process instead of being read or
# refused as numpy does. The reader is recursive: 100,000 nested brackets or unary signs (a
# header well within the 1 MiB limit) overflowed its stack; it refuses values nested more
# than 200 deep (Python's tokenizer refuses brackets from 201). A fullwidth digit is a
# numeric character that Python does not take for a digit; it trapped the reader.
EXTREME_HEADERS = [
    ("150 nested brackets", (2, 0),
     "{'descr': '<f4', 'fortran_order': False, 'shape': %s6, 3%s}\n" % ("(" * 150, ")" * 150)),
    ("100,000 nested brackets", (2, 0),
     "{'descr': '<f4', 'fortran_order': False, 'shape': %s6, 3%s}\n" % ("(" * 100_000, ")" * 100_000)),
    ("100,000 minus signs", (2, 0),
     "{'descr': '<f4', 'fortran_order': False, 'shape': (6, %s3)}\n" % ("-" * 100_000)),
    ("a fullwidth digit", (3, 0), "{'descr': '<f4', 'fortran_order': False, 'shape': (\uff16, 3)}\n"),
    ("a fullwidth hex digit", (3, 0), "{'descr': '<f4', 'fortran_order': False, 'shape': (0x\uff41, 3)}\n"),
]


@pytest.mark.parametrize("name,version,header", EXTREME_HEADERS, ids=[n for n, _, _ in EXTREME_HEADERS])
def test_extreme_headers_follow_numpy(tmp_path, name, version, header):
    x = write_raw(tmp_path / "x.npy", header, X.tobytes(), version=version)
    np.save(tmp_path / "y.npy", Y)
    expected = numpy_reads(x)
    assert (expected is not None) == (name == "150 nested brackets")
    opens_as_numpy_reads(x, tmp_path / "y.npy", expected)


# (name, dtype spelling, numpy dtype the bytes are written as)
LABEL_DTYPES = [
    ("'i4'", "i4", "<i4"), ("'<i4'", "<i4", "<i4"), ("'=i8'", "=i8", "<i8"), ("'int64'", "int64", "<i8"),
    ("'|u1'", "|u1", "u1"), ("'B'", "B", "u1"), ("'?'", "?", "?"), ("'|b1'", "|b1", "?"),
    ("'h'", "h", "<i2"), ("'uint32'", "uint32", "<u4"),
]


@pytest.mark.parametrize("name,spelling,stored", LABEL_DTYPES, ids=[n for n, _, _ in LABEL_DTYPES])
def test_label_dtype_spellings_follow_numpy(tmp_path, name, spelling, stored):
    np.save(tmp_path / "x.npy", X)
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (6,)}\n" % spelling
    y = write_raw(tmp_path / "y.npy", header, Y.astype(stored).tobytes())
    expected = numpy_reads(y)
    assert expected is not None and expected.shape == (M,)
    with mb.Dataset(tmp_path / "x.npy", y) as ds:
        assert ds.m == M


def test_bool_labels_are_zero_or_one_as_numpy_reads_them(tmp_path):
    """A bool byte of 2 is True to numpy: label 1, and training matches memory with it."""
    m = 64
    rng = np.random.default_rng(1)
    x = rng.standard_normal((m, 4)).astype(np.float32)
    raw = rng.integers(0, 3, m).astype(np.uint8)  # bytes 0, 1 and 2
    np.save(tmp_path / "x.npy", x)
    write_raw(tmp_path / "y.npy", "{'descr': '|b1', 'fortran_order': False, 'shape': (%d,)}\n" % m, raw.tobytes())
    labels = np.load(tmp_path / "y.npy").astype(np.int32)
    assert set(np.unique(labels)) <= {0, 1} and (raw == 2).any()
    a = mb.Network([4, 1], loss="binary_cross_entropy", seed=2)
    b = mb.Network([4, 1], loss="binary_cross_entropy", seed=2)
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy") as ds:
        a.train(ds, epochs=2, batch_size=16, learning_rate=0.1, seed=3)
    b.train(x, labels, epochs=2, batch_size=16, learning_rate=0.1, seed=3)
    np.testing.assert_array_equal(a.get_parameters(), b.get_parameters())


def test_integer_labels_must_be_one_dimensional(tmp_path):
    """An integer y (m, 1) opens (since 0.10.0 the regression losses read integers as values)
    but is refused as class labels: the cross-entropy needs them 1-D."""
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y.reshape(M, 1))
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy") as ds:
        with mb.Network([N, 2]) as net, pytest.raises(mb.InvalidArgumentError, match="1-D"):
            net.train(ds, epochs=1)
        with mb.Network([N, 1], loss="mse") as net:
            net.train(ds, epochs=1)


def test_fortran_order_where_the_bytes_are_c_orders(tmp_path):
    """A 1-D array, or a 2-D one with a dimension of 1, has the same bytes in Fortran order
    as in C order: taken since 0.12.6 (it was refused); a (6, 3) one in Fortran order still
    is (its bytes are another order)."""
    x1 = X[:, :1].copy()
    fortran = lambda shape: "{'descr': '<f4', 'fortran_order': True, 'shape': %s}\n" % (shape,)
    xp = write_raw(tmp_path / "x.npy", fortran((M, 1)), x1.tobytes())
    yp = write_raw(tmp_path / "y.npy", "{'descr': '<i4', 'fortran_order': True, 'shape': (6,)}\n", Y.tobytes())
    assert np.array_equal(np.load(xp), x1) and np.array_equal(np.load(yp), Y)
    with mb.Dataset(xp, yp) as ds, mb.Network([1, 3, 2], seed=0) as a, mb.Network([1, 3, 2], seed=0) as b:
        assert (ds.m, ds.n_features) == (M, 1)
        a.train_dataset(ds, epochs=2, batch_size=2)
        b.train(x1, Y, epochs=2, batch_size=2)
        assert np.array_equal(a.get_parameters(), b.get_parameters())
    bad = write_raw(tmp_path / "xf.npy", fortran((M, N)), np.asfortranarray(X).tobytes(order="F"))
    assert np.array_equal(np.load(bad), X)
    with pytest.raises(mb.InvalidArgumentError, match="Fortran order"):
        mb.Dataset(bad, yp)
