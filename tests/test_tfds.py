"""The course datasets as TensorFlow Datasets: `tfds.load` offline, from `cnnlib prepare`'s files.

No test here may reach TFDS' download path (offline it retries for ~200 s): the plain
`tfds.load` call runs in a child process with the download manager booby-trapped and a
hard timeout; the in-process calls go through `cnnlib.data.load_tfds` (download=False).
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cnnlib import data

HARD_TIMEOUT_S = 240

# The user's call, in a fresh interpreter that never imports cnnlib: only the files count.
_CHILD = textwrap.dedent("""
    import json, sys
    import matplotlib
    matplotlib.use("Agg")
    import numpy as np
    import tensorflow_datasets as tfds

    def boom(*args, **kwargs):
        raise SystemExit("TFDS download path reached")

    tfds.download.DownloadManager.download = boom
    tfds.download.DownloadManager.download_and_extract = boom
    data_dir = sys.argv[1]
    out = {}
    ds, info = tfds.load("fashion_mnist", split="test", as_supervised=True,
                         data_dir=data_dir, with_info=True)
    images = np.stack([x for x, _ in ds.as_numpy_iterator()])
    labels = np.array([y for _, y in ds.as_numpy_iterator()])
    np.savez(sys.argv[2], images=images, labels=labels)
    out["fashion"] = {k: v.num_examples for k, v in info.splits.items()}
    out["fashion_names"] = info.features["label"].names
    out["fashion_version"] = str(info.version)
    figure = tfds.show_examples(tfds.load("fashion_mnist", split="train", data_dir=data_dir), info,
                                rows=2, cols=2)
    out["show_examples_axes"] = len(figure.axes)
    train = tfds.load("fashion_mnist", split="train", as_supervised=True, data_dir=data_dir)
    out["train_len"] = int(train.cardinality())
    _, info = tfds.load("mnist", split="train", data_dir=data_dir, with_info=True)
    out["mnist"] = {k: v.num_examples for k, v in info.splits.items()}
    digits = tfds.load("cnnlib_digits", split="train", as_supervised=True, data_dir=data_dir)
    out["digits_len"] = int(digits.cardinality())
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def tfds_prepared():
    root = data.tfds_dir()
    missing = [n for n in ("fashion_mnist", "mnist", "cnnlib_digits")
               if not any((root / n).glob("*/dataset_info.json"))]
    assert not missing, f"TFDS não preparado em {root}: {missing}; rode `cnnlib prepare`"
    return root


@pytest.mark.slow
def test_plain_tfds_load_works_offline_with_tfds_metadata(tfds_prepared, tmp_path):
    out_npz = tmp_path / "fashion_test.npz"
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tfds_prepared), str(out_npz)],
        capture_output=True, text=True, timeout=HARD_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"tfds.load falhou (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, f"sem resultado; stdout: {proc.stdout[-2000:]}"
    out = json.loads(line[len("RESULT "):])
    assert out["fashion"] == {"train": 60000, "test": 10000}, f"esperado 60000/10000, obtido {out['fashion']}"
    assert out["train_len"] == 60000, out
    assert out["fashion_version"] == "3.0.1", f"esperada a versão do TFDS 3.0.1, obtida {out['fashion_version']}"
    assert tuple(out["fashion_names"]) == data.FASHION_MNIST_CLASSES, out["fashion_names"]
    assert out["show_examples_axes"] == 4, f"show_examples: esperados 4 eixos, obtidos {out['show_examples_axes']}"
    counts = data.dataset_info("mnist")["counts"]
    assert out["mnist"] == {"train": counts["train"], "test": counts["test"]}, (out["mnist"], counts)
    assert out["digits_len"] == 1797, out
    # The TFDS test split holds exactly the Debian package's 10,000 images with their labels.
    with np.load(out_npz) as got:
        images, labels = got["images"], got["labels"]
    _, (x_test, y_test) = data.load_fashion_mnist()
    assert images.shape == (10000, 28, 28, 1) and images.dtype == np.uint8, (images.shape, images.dtype)
    expected = sorted(zip((x.tobytes() for x in x_test), y_test.tolist()))
    obtained = sorted(zip((x[..., 0].tobytes() for x in images), labels.tolist()))
    assert obtained == expected, "as imagens/rótulos do split test do TFDS diferem dos arquivos idx"


def test_load_tfds_and_pipeline_give_float_batches(tfds_prepared):
    ds = data.load_tfds("digits", split="train[:100]")
    images, labels = next(iter(data.pipeline(ds, batch_size=64)))
    assert images.shape == (64, 8, 8, 1) and images.dtype.name == "float32", (images.shape, images.dtype)
    arr = images.numpy()
    assert 0.0 <= arr.min() and arr.max() <= 16 / 255 + 1e-6, \
        f"esperado em [0, 16/255], obtido [{arr.min()}, {arr.max()}]"
    assert labels.dtype.name == "int32" and set(labels.numpy()) <= set(range(10)), labels
    sk_images, sk_labels = data.load_digits()
    first = np.round(arr[0, ..., 0] * 255).astype(int)
    matches = [i for i in range(len(sk_images)) if np.array_equal(sk_images[i].astype(int), first)]
    assert matches and int(labels[0]) in {int(sk_labels[i]) for i in matches}, "imagem do TFDS não está em load_digits"
    batches = list(data.pipeline(data.load_tfds("mnist", split="test"), batch_size=500, shuffle=True))
    total = data.dataset_info("mnist")["counts"]["test"]
    assert sum(int(b[0].shape[0]) for b in batches) == total, f"esperados {total} exemplos"


def test_load_tfds_refuses_unprepared_and_bad_arguments(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"name must be one of .* Received: name='photos'"):
        data.load_tfds("photos")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "empty"))
    with pytest.raises(data.MissingDataError, match=r"as a TFDS dataset .*cnnlib prepare"):
        data.load_tfds("fashion_mnist")
    import tensorflow as tf

    with pytest.raises(TypeError, match=r"ds must yield \(image, label\) pairs"):
        data.pipeline(tf.data.Dataset.range(3))
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer. Received: batch_size=0"):
        data.pipeline(tf.data.Dataset.from_tensor_slices((np.zeros((2, 4, 4)), np.zeros(2))), batch_size=0)


def test_prepare_writes_tfds_once_and_rewrites_on_force(tmp_path):
    import tensorflow_datasets as tfds

    root = tmp_path / "data"
    messages = []
    data.prepare(root, names=("digits",), log=messages.append)
    data.prepare(root, names=("digits",), log=messages.append)
    assert sum("TFDS cnnlib_digits 1.0.0 written" in m for m in messages) == 1, messages
    assert sum("TFDS files already" in m for m in messages) == 1, messages
    ds, info = tfds.load("cnnlib_digits", split="train", as_supervised=True, with_info=True,
                         data_dir=str(data.tfds_dir(root)), download=False)
    assert info.splits["train"].num_examples == 1797, info.splits
    got = sorted((x[..., 0].tobytes(), int(y)) for x, y in ds.as_numpy_iterator())
    images, labels = data.load_digits()
    expected = sorted((x.astype(np.uint8).tobytes(), int(y)) for x, y in zip(images, labels))
    assert got == expected, "cnnlib_digits no TFDS difere de load_digits"
    data.prepare(root, names=("digits",), force=True, log=messages.append)
    assert sum("TFDS cnnlib_digits 1.0.0 written" in m for m in messages) == 2, messages
    data.prepare(tmp_path / "no_tfds", names=("digits",), tfds=False, log=messages.append)
    assert not data.tfds_dir(tmp_path / "no_tfds").exists(), "tfds=False não deveria escrever o TFDS"
