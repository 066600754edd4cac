"""Real data (MODEL.md section 3, extension): image data sets read from disk, binarised and coded as +-1.

Sources:
  "digits"         scikit-learn's 8x8 digits (1797 images, pixel values 0..16), shipped inside scikit-learn;
  a directory      MNIST-format IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
                   t10k-labels-idx1-ubyte, each optionally gzipped (.gz): training images from the train split,
                   test images from the t10k split;
  a file .npz      arrays "images" (n, rows, cols) or (n, pixels) and "labels" (n,), optionally "test_images" and
                   "test_labels" (a held-out split; without them the test images are held out of the same pool),
                   and "pixel_scale" (the largest possible pixel value).
Pixels are scaled to [0, 1] by the data set's largest possible value (16 for digits, pixel_scale when the .npz has
one, else 255 for uint8 images, else the largest pixel found), optionally average-pooled over pool x pool blocks, then binarised: > threshold -> +1, else -1.
Outputs: "one-hot" (one +-1 neuron per class, +1 on the image's class) or "binary" (the class's index among
`classes` in binary, one +-1 neuron per bit, +1 for a set bit).

Every problem with a file (missing, truncated, wrong magic number, wrong arrays) is a ConfigError naming the file.
"""
from __future__ import annotations

import gzip
import math
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ConfigError

CODINGS = ("one-hot", "binary")
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


@dataclass(frozen=True)
class ImageSet:
    """Raw images (n, rows, cols) or (n, pixels), their labels (n,), and the pixel scale (largest possible value)."""

    images: np.ndarray
    labels: np.ndarray
    scale: float


@dataclass(frozen=True)
class Source:
    """A loaded source: the training pool and, when the source has one, a separate test split."""

    train: ImageSet
    test: ImageSet | None


# --------------------------------------------------------------------------- readers

def read_idx(path: str | os.PathLike, field: str = "data.source") -> np.ndarray:
    """An IDX array (MNIST format: magic 0 0 type ndim, ndim big-endian uint32 sizes, data), gzipped or not."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(field, str(path), "an existing IDX file (file not found)") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise ConfigError(field, str(path), f"a readable IDX file ({exc.__class__.__name__})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ConfigError(field, str(path), f"a readable gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise ConfigError(field, str(path), "an IDX file (magic number 0x0000TTDD with a known type TT, "
                                            f"found {raw[:4].hex() or 'an empty file'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ConfigError(field, str(path), f"a complete IDX file (truncated header: {len(raw)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    need = header + math.prod(dims) * dtype.itemsize
    if len(raw) != need:
        raise ConfigError(field, str(path), f"a complete IDX file of shape {dims} ({need} bytes; found "
                                            f"{len(raw)}: {'truncated' if len(raw) < need else 'trailing bytes'})")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _idx_file(directory: Path, stem: str, field: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise ConfigError(field, str(directory / stem), f"an IDX file {stem} or {stem}.gz in {directory} (file not found)")


def _pixel_scale(images: np.ndarray) -> float:
    if images.dtype == np.uint8:
        return 255.0
    top = float(np.max(images)) if images.size else 0.0
    return top if top > 0 else 1.0


def _image_set(images: np.ndarray, labels: np.ndarray, where: str, field: str, scale: float | None = None) -> ImageSet:
    if images.ndim not in (2, 3) or images.shape[0] < 1:
        raise ConfigError(field, where, f"images of shape (n, rows, cols) or (n, pixels), found {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0] or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(field, where, f"integer labels of shape ({images.shape[0]},) matching the images, found "
                                        f"{labels.dtype} {labels.shape}")
    if not np.issubdtype(images.dtype, np.number) or not np.all(np.isfinite(images)) or np.min(images) < 0:
        raise ConfigError(field, where, "finite non-negative pixel values")
    return ImageSet(images, labels.astype(np.int64), scale if scale is not None else _pixel_scale(images))


def read_idx_directory(directory: str | os.PathLike, field: str = "data.source") -> Source:
    """The MNIST-style IDX files of a directory (train and t10k images and labels, optionally gzipped).

    Parameters
    ----------
    directory : str or path
        Folder holding the four files of ``IDX_FILES`` (``.gz`` accepted).
    field : str
        Config field named in errors.

    Returns
    -------
    Source
        Training and test ImageSets (images ``(n, rows, cols)``, labels ``(n,)``). A missing or malformed file
        is a ConfigError naming ``field``.
    """
    directory = Path(directory)
    splits = {}
    for split, (img_stem, lab_stem) in IDX_FILES.items():
        img_path, lab_path = _idx_file(directory, img_stem, field), _idx_file(directory, lab_stem, field)
        images, labels = read_idx(img_path, field), read_idx(lab_path, field)
        if images.ndim != 3:
            raise ConfigError(field, str(img_path), f"an IDX image file of 3 dimensions, found shape {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ConfigError(field, str(lab_path), f"an IDX label file of {images.shape[0]} labels (as "
                                                    f"{img_path.name}), found shape {labels.shape}")
        splits[split] = _image_set(images, labels, str(img_path), field)
    return Source(splits["train"], splits["test"])


def read_npz(path: str | os.PathLike, field: str = "data.source") -> Source:
    """An ``.npz`` archive of images: arrays ``images`` (n, ...) and ``labels`` (n,), optionally ``test_images``
    and ``test_labels`` (both or neither) and ``pixel_scale`` (one number > 0, the value of a full pixel).

    Parameters
    ----------
    path : str or path
        The archive (no pickled objects).
    field : str
        Config field named in errors.

    Returns
    -------
    Source
        Training set and (if present) test set; anything missing or malformed is a ConfigError naming ``field``.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ConfigError(field, str(path), "an existing .npz file (file not found)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not a zip, truncated, pickled objects
        raise ConfigError(field, str(path), f"a readable .npz file with arrays images and labels ({exc})") from None
    for key in ("images", "labels"):
        if key not in arrays:
            raise ConfigError(field, str(path), f"an .npz file with arrays images and labels (found "
                                                f"{', '.join(sorted(arrays)) or 'none'})")
    has_test = "test_images" in arrays or "test_labels" in arrays
    if has_test and not ("test_images" in arrays and "test_labels" in arrays):
        raise ConfigError(field, str(path), "an .npz file with both test_images and test_labels, or neither")
    scale = None
    if "pixel_scale" in arrays:
        scale = float(np.asarray(arrays["pixel_scale"]).reshape(-1)[0]) if arrays["pixel_scale"].size == 1 else -1.0
        if not (np.isfinite(scale) and scale > 0):
            raise ConfigError(field, str(path), "an .npz whose optional pixel_scale is one finite number > 0")
    train = _image_set(arrays["images"], arrays["labels"], str(path), field, scale)
    test = None
    if has_test:
        test = _image_set(arrays["test_images"], arrays["test_labels"], f"{path} (test_images)", field, train.scale)
        if test.images.shape[1:] != train.images.shape[1:]:
            raise ConfigError(field, str(path), f"test_images of the images' shape {train.images.shape[1:]}, found "
                                                f"{test.images.shape[1:]}")
    return Source(train, test)


def read_digits(field: str = "data.source") -> Source:
    """scikit-learn's 8x8 digits (no download: the file ships inside scikit-learn)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError(field, "digits", "a path to IDX files or an .npz: source = \"digits\" needs scikit-learn "
                                           "(pip install scikit-learn), which is not installed") from None
    digits = load_digits()
    return Source(_image_set(np.asarray(digits.images), np.asarray(digits.target), "digits", field, 16.0), None)


@lru_cache(maxsize=4)
def _load_cached(source: str, stamp: tuple) -> Source:
    if source == "digits":
        return read_digits()
    path = Path(source)
    if path.is_dir():
        return read_idx_directory(path)
    if path.suffix == ".npz":
        return read_npz(path)
    if not path.exists():
        raise ConfigError("data.source", source, "\"digits\", a directory of MNIST IDX files or an .npz file "
                                                 "(not found)")
    raise ConfigError("data.source", source, "\"digits\", a directory of MNIST IDX files or an .npz file")


def load_source(source: str) -> Source:
    """The source named by the config (cached by path, size and modification time: a changed file is read anew)."""
    stamp: tuple = ()
    if source != "digits":
        path = Path(source)
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())
    return _load_cached(source, stamp)


# --------------------------------------------------------------------------- binarisation and coding

def binarise(images: np.ndarray, scale: float, threshold: float, pool: int = 1) -> np.ndarray:
    """(n, rows, cols) or (n, pixels) -> (n, pixels') int8 +-1: pixel/scale averaged over pool x pool blocks,
    +1 where it exceeds threshold."""
    x = np.asarray(images, dtype=np.float64) / scale
    if pool > 1:
        if x.ndim != 3 or x.shape[1] % pool or x.shape[2] % pool:
            raise ConfigError("data.pool", pool, f"a divisor of both image sides {x.shape[1:]} (images of 2 dimensions)")
        n, r, c = x.shape
        x = x.reshape(n, r // pool, pool, c // pool, pool).mean(axis=(2, 4))
    x = x.reshape(x.shape[0], math.prod(x.shape[1:]))
    return np.where(x > threshold, 1, -1).astype(np.int8)


def code_width(n_classes: int, coding: str) -> int:
    """Output neurons N_L: one per class (one-hot), or the bits of the largest class index (binary, >= 1)."""
    if coding == "one-hot":
        return n_classes
    if coding == "binary":
        return max(1, math.ceil(math.log2(n_classes)))
    raise ConfigError("data.coding", coding, f"one of {', '.join(CODINGS)}")


def encode(class_index: np.ndarray, n_classes: int, coding: str) -> np.ndarray:
    """Class indices 0..K-1 (positions in `classes`) -> (..., N_L) int8 +-1 output code."""
    k = np.asarray(class_index)[..., None]
    if coding == "one-hot":
        bits = k == np.arange(n_classes)
    else:
        bits = (k >> np.arange(code_width(n_classes, coding))) & 1 == 1
    return np.where(bits, 1, -1).astype(np.int8)


def decode(output_field: np.ndarray, n_classes: int, coding: str) -> np.ndarray:
    """The class index read from the output layer's local fields (..., N_L): argmax (one-hot), or the sign bits
    (binary; a bit pattern beyond K - 1 is no class, returned as -1)."""
    h = np.asarray(output_field)
    if coding == "one-hot":
        return np.argmax(h, axis=-1)
    bits = (h >= 0).astype(np.int64)
    index = np.sum(bits << np.arange(h.shape[-1]), axis=-1)
    return np.where(index < n_classes, index, -1)


# --------------------------------------------------------------------------- training and test sets

@dataclass
class DatasetDraw:
    """Binarised inputs, output codes and class indices of one sample's training and test images."""

    inputs: np.ndarray        # (M, N_0) int8
    outputs: np.ndarray       # (M, N_L) int8
    test_inputs: np.ndarray   # (M_test, N_0) int8
    test_labels: np.ndarray   # (M_test,) class indices 0..K-1
    train_labels: np.ndarray  # (M,)


def input_width(source: Source, pool: int) -> int:
    """Input layer width N_0: pixels per image after ``pool x pool`` pooling (pool must divide both sides)."""
    shape = source.train.images.shape[1:]
    if pool > 1:
        if len(shape) != 2 or shape[0] % pool or shape[1] % pool:
            raise ConfigError("data.pool", pool, f"a divisor of both image sides {shape} (images of 2 dimensions)")
        return (shape[0] // pool) * (shape[1] // pool)
    return int(math.prod(shape))


def _pool_of(image_set: ImageSet, classes: list[int]) -> np.ndarray:
    return np.flatnonzero(np.isin(image_set.labels, classes))


def available(source: Source, classes: list[int]) -> tuple[int, int | None]:
    """Images of the chosen classes in the training pool, and in the test split (None: no separate split)."""
    n_test = None if source.test is None else int(_pool_of(source.test, classes).size)
    return int(_pool_of(source.train, classes).size), n_test


def check_request(source: Source, source_name: str, classes: list[int], M: int, M_test: int) -> None:
    """ConfigError unless the source holds every class and enough images for M training and M_test test images."""
    missing = [k for k in classes if not np.any(source.train.labels == k)]
    if missing:
        found = sorted(set(source.train.labels.tolist()))
        raise ConfigError("data.classes", classes, f"classes present in {source_name} ({found[:20]}); missing {missing}")
    n_train, n_test = available(source, classes)
    if n_test is None:
        if M + M_test > n_train:
            raise ConfigError("data.M", M, f"M + M_test <= {n_train} (images of classes {classes} in {source_name}, "
                                           f"test images held out of the same pool; M_test = {M_test})")
    else:
        if M > n_train:
            raise ConfigError("data.M", M, f"an integer 1 <= M <= {n_train} (training images of classes {classes} "
                                           f"in {source_name})")
        if M_test > n_test:
            raise ConfigError("data.M_test", M_test, f"an integer 0 <= M_test <= {n_test} (test images of classes "
                                                     f"{classes} in {source_name})")


def draw_dataset(source: Source, classes: list[int], M: int, M_test: int, threshold: float, pool: int, coding: str,
                 rng_train: np.random.Generator, rng_test: np.random.Generator) -> DatasetDraw:
    """M training images (rng_train) and M_test test images (rng_test) of the chosen classes, without replacement;
    test images come from the test split, or else from the pool left after the training images (disjoint)."""
    classes = list(classes)
    K = len(classes)
    pool_train = _pool_of(source.train, classes)
    order = rng_train.permutation(pool_train.size)
    train = pool_train[order[:M]]
    if source.test is None:
        rest = pool_train[order[M:]]
        test_set, test = source.train, rest[rng_test.permutation(rest.size)[:M_test]]
    else:
        pool_test = _pool_of(source.test, classes)
        test_set, test = source.test, pool_test[rng_test.permutation(pool_test.size)[:M_test]]
    position = {k: n for n, k in enumerate(classes)}
    to_index = lambda labels: np.array([position[int(x)] for x in labels], dtype=np.int64)
    y_train, y_test = to_index(source.train.labels[train]), to_index(test_set.labels[test])
    return DatasetDraw(binarise(source.train.images[train], source.train.scale, threshold, pool),
                       encode(y_train, K, coding),
                       binarise(test_set.images[test], test_set.scale, threshold, pool),
                       y_test, y_train)
