"""cnnlib.viz: every plot rendered to PNG and checked on its pixels."""

import keras
import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from cnnlib import data, metrics, viz


def _render(fig, tmp_path, name="fig.png"):
    """Saves ``fig`` at its own dpi; returns the RGB pixels ``(H, W, 3)`` in [0, 1]."""
    path = tmp_path / name
    fig.savefig(path)  # dpi="figure": pixel coords == display coords
    png = mpimg.imread(path)[..., :3]
    w, h = fig.get_size_inches() * fig.dpi
    assert png.shape[:2] == (round(h), round(w)), (
        f"expected a {round(h)}x{round(w)} PNG (figure size x dpi), got {png.shape[:2]}"
    )
    return png


def _pixel(png, fig, artist, fx, fy):
    """Pixel at fraction (fx, fy) of ``artist``'s drawn box, fy = 0 at the top."""
    box = artist.get_window_extent()
    x = box.x0 + fx * box.width
    y = box.y1 - fy * box.height
    return png[int(round(png.shape[0] - y)), int(x)]


def _non_white_fraction(png):
    return float(np.mean(np.any(png < 0.95, axis=-1)))


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


# --------------------------------------------------------------------------- kernels


def test_plot_kernels_draws_each_filter_where_its_weights_are(tmp_path):
    k = np.zeros((5, 5, 2, 6), np.float32)
    for i in range(6):
        k[0, 4, 0, i] = 1.0  # top-right weight is the largest of channel 0
        k[4, 0, 0, i] = -1.0  # bottom-left the smallest
    fig = viz.plot_kernels(k, title="filtros")
    assert isinstance(fig, Figure)
    png = _render(fig, tmp_path)
    axes = _image_axes(fig)
    assert len(axes) == 6, f"expected one panel per filter (6), got {len(axes)}"
    for ax in axes:
        img = ax.images[0]
        top_right = _pixel(png, fig, img, 0.9, 0.1)
        bottom_left = _pixel(png, fig, img, 0.1, 0.9)
        middle = _pixel(png, fig, img, 0.5, 0.5)
        assert np.all(top_right > 0.95), f"largest weight should be white, got {top_right}"
        assert np.all(bottom_left < 0.05), f"smallest weight should be black, got {bottom_left}"
        assert np.allclose(middle, 0.5, atol=0.03), f"zero weight should be mid-grey, got {middle}"


def test_plot_kernels_of_a_conv_layer_in_rgb(tmp_path):
    layer = keras.layers.Conv2D(4, 3)
    layer.build((None, 8, 8, 3))
    w = np.zeros((3, 3, 3, 4), np.float32)
    w[..., 0, :] = 1.0  # every filter is pure red
    layer.kernel.assign(w)
    fig = viz.plot_kernels(layer)
    png = _render(fig, tmp_path)
    assert len(_image_axes(fig)) == 4
    got = _pixel(png, fig, _image_axes(fig)[0].images[0], 0.5, 0.5)
    np.testing.assert_allclose(got, [1.0, 0.0, 0.0], atol=0.02, err_msg="RGB kernel colour")
    gray = viz.plot_kernels(layer, channel=1)  # channel 1 is constant 0 -> grey
    png = _render(gray, tmp_path, "gray.png")
    got = _pixel(png, gray, _image_axes(gray)[0].images[0], 0.5, 0.5)
    np.testing.assert_allclose(got, [0.5, 0.5, 0.5], atol=0.03)


def test_plot_kernels_single_2d_kernel_and_errors(tmp_path):
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    fig = viz.plot_kernels(laplacian)
    png = _render(fig, tmp_path)
    img = _image_axes(fig)[0].images[0]
    assert np.all(_pixel(png, fig, img, 0.5, 0.5) < 0.05), "centre -4 should be black"
    assert np.all(_pixel(png, fig, img, 0.5, 0.1) > 0.95), "top 1 should be white"
    with pytest.raises(ValueError, match=r"channel must be an integer in \[0, 2\).*channel=2"):
        viz.plot_kernels(np.zeros((3, 3, 2, 4)), channel=2)
    with pytest.raises(ValueError, match=r"kernels must have shape.*\(3, 3, 2\)"):
        viz.plot_kernels(np.zeros((3, 3, 2)))
    with pytest.raises(ValueError, match="finite"):
        viz.plot_kernels(np.full((3, 3), np.nan))


# --------------------------------------------------------------------------- feature maps


def test_plot_feature_maps_of_a_real_photo(tmp_path):
    photo = data.load_photo("camera").astype("float32")[None, :, :, None] / 255.0
    conv = keras.layers.Conv2D(12, 3, use_bias=False)
    conv.build(photo.shape)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    w = np.random.default_rng(0).normal(size=(3, 3, 1, 12)).astype("float32")
    w[:, :, 0, 0] = sobel_x
    conv.kernel.assign(w)
    maps = conv(photo).numpy()
    fig = viz.plot_feature_maps(maps, max_maps=8, ncols=4)
    png = _render(fig, tmp_path)
    axes = _image_axes(fig)
    assert len(axes) == 8, f"expected max_maps=8 panels, got {len(axes)}"
    assert _non_white_fraction(png) > 0.3, "the feature maps should cover the figure"
    # Each panel is drawn from its own channel: the pixels differ between panels.
    crops = []
    for ax in axes[:2]:
        box = ax.images[0].get_window_extent()
        top = png.shape[0] - int(box.y1)
        crops.append(png[top + 2:top + int(box.height) - 2, int(box.x0) + 2:int(box.x1) - 2])
    h = min(c.shape[0] for c in crops)
    w_ = min(c.shape[1] for c in crops)
    assert np.abs(crops[0][:h, :w_] - crops[1][:h, :w_]).mean() > 0.05, "panels 0 and 1 look alike"
    all_maps = viz.plot_feature_maps(maps[0])  # (H, W, C) also accepted; default max 32
    assert len(_image_axes(all_maps)) == 12
    with pytest.raises(ValueError, match=r"batch of one.*\(2, 4, 4, 3\)"):
        viz.plot_feature_maps(np.zeros((2, 4, 4, 3)))


# --------------------------------------------------------------------------- history


def _line_pixels(png, color):
    rgb = np.array(to_rgb(color))
    return int(np.sum(np.all(np.abs(png - rgb) < 0.08, axis=-1)))


def test_plot_history_from_dict(tmp_path):
    hist = {
        "loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.1, 0.8, 0.7, 0.7],
        "accuracy": [0.5, 0.7, 0.8, 0.85], "val_accuracy": [0.45, 0.6, 0.7, 0.72],
    }
    fig = viz.plot_history(hist)
    png = _render(fig, tmp_path)
    assert len(fig.axes) == 2, f"expected one panel per metric (2), got {len(fig.axes)}"
    loss_ax = fig.axes[0]
    assert loss_ax.get_title() == "loss" and len(loss_ax.lines) == 2
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), hist["loss"])
    np.testing.assert_allclose(loss_ax.lines[1].get_xdata(), [1, 2, 3, 4])
    # Training (C0 blue) and validation (C1 orange) curves are really drawn.
    assert _line_pixels(png, "C0") > 50, "training curve pixels missing"
    assert _line_pixels(png, "C1") > 50, "validation curve pixels missing"
    only = viz.plot_history(hist, metrics="accuracy")
    assert len(only.axes) == 1 and only.axes[0].get_ylabel() == "accuracy"
    with pytest.raises(ValueError, match="metrics must be names in the history"):
        viz.plot_history(hist, metrics=["auc"])
    with pytest.raises(TypeError, match="history of type list"):
        viz.plot_history([1, 2])


@pytest.mark.slow
def test_plot_history_from_a_keras_fit(tmp_path):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, validation_split=0.25, epochs=3, verbose=0)
    fig = viz.plot_history(history)
    png = _render(fig, tmp_path)
    titles = sorted(ax.get_title() for ax in fig.axes)
    assert titles == ["accuracy", "loss"], f"expected accuracy and loss panels, got {titles}"
    assert all(len(ax.lines) == 2 for ax in fig.axes), "each panel needs train and val curves"
    assert _line_pixels(png, "C1") > 30


# --------------------------------------------------------------------------- confusion


def test_plot_confusion_matrix_cells_and_counts(tmp_path):
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, 200)
    p = np.where(rng.uniform(size=200) < 0.8, t, rng.integers(0, 4, 200))
    cm = metrics.confusion_matrix(t, p, num_classes=4)
    names = ["camiseta", "calça", "bolsa", "tênis"]
    fig = viz.plot_confusion_matrix(cm, class_names=names, title="matriz")
    png = _render(fig, tmp_path)
    assert len(fig.axes) == 2, f"expected matrix + colorbar axes, got {len(fig.axes)}"
    ax = fig.axes[0]
    texts = [int(tx.get_text()) for tx in ax.texts]
    assert texts == cm.ravel().tolist(), f"expected cell labels {cm.ravel().tolist()}, got {texts}"
    assert [lbl.get_text() for lbl in ax.get_yticklabels()] == names
    img = ax.images[0]
    diag = _pixel(png, fig, img, 0.5 / 4 + 0.06, 0.5 / 4 + 0.06)  # cell (0, 0), off the text
    off = _pixel(png, fig, img, 1.5 / 4 + 0.06, 0.5 / 4 + 0.06)  # cell (0, 1)
    assert diag.sum() < off.sum() - 0.5, f"the big diagonal cell should be darker: {diag} vs {off}"
    norm = viz.plot_confusion_matrix(cm, normalize=True)
    values = np.array([float(tx.get_text()) for tx in norm.axes[0].texts]).reshape(4, 4)
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=0.02)
    with pytest.raises(ValueError, match=r"square.*\(2, 3\)"):
        viz.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one name per class \\(4\\).*3 names"):
        viz.plot_confusion_matrix(cm, class_names=names[:3])


# --------------------------------------------------------------------------- image grid


def test_plot_image_grid_keeps_brightness_and_colour(tmp_path):
    photo = data.load_photo("chelsea")[:64, :64]  # uint8 RGB crop
    red = np.zeros_like(photo)
    red[..., 0] = 255
    batch = np.stack([photo, np.zeros_like(photo), np.full_like(photo, 255), red])
    fig = viz.plot_image_grid(batch, labels=["foto", "preto", "branco", "vermelho"], ncols=2)
    png = _render(fig, tmp_path)
    axes = _image_axes(fig)
    assert len(axes) == 4 and [ax.get_title() for ax in axes][1] == "preto"
    want = {1: [0, 0, 0], 2: [1, 1, 1], 3: [1, 0, 0]}
    for i, rgb in want.items():
        got = _pixel(png, fig, axes[i].images[0], 0.5, 0.5)
        np.testing.assert_allclose(got, rgb, atol=0.02, err_msg=f"panel {i}")
    got = _pixel(png, fig, axes[0].images[0], 0.5, 0.5)
    np.testing.assert_allclose(got, photo[32, 32] / 255.0, atol=0.06, err_msg="photo pixel")


def test_plot_image_grid_value_ranges(tmp_path):
    # GAN outputs in [-1, 1]: -1 black, 0 mid-grey, 1 white; grayscale (N, H, W, 1).
    gan_like = np.stack([np.full((8, 8, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    fig = viz.plot_image_grid(gan_like)
    png = _render(fig, tmp_path)
    for ax, v in zip(_image_axes(fig), (0.0, 0.5, 1.0)):
        got = _pixel(png, fig, ax.images[0], 0.5, 0.5)
        np.testing.assert_allclose(got, [v] * 3, atol=0.03, err_msg=f"value {v * 2 - 1}")
    # A darker augmented copy stays darker (one range for the whole grid).
    base = np.full((2, 8, 8), 200.0, np.float32)
    base[1] = 100.0
    fig = viz.plot_image_grid(base)
    png = _render(fig, tmp_path, "b.png")
    a, b = (_pixel(png, fig, ax.images[0], 0.5, 0.5)[0] for ax in _image_axes(fig))
    assert a == pytest.approx(200 / 255, abs=0.02) and b == pytest.approx(100 / 255, abs=0.02)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\).*\(2, 8, 8, 2\)"):
        viz.plot_image_grid(np.zeros((2, 8, 8, 2)))
    with pytest.raises(ValueError, match="one entry per image \\(2\\).*1 labels"):
        viz.plot_image_grid(base, labels=["a"])
    with pytest.raises(ValueError, match="value_range"):
        viz.plot_image_grid(base, value_range=(1, 1))
