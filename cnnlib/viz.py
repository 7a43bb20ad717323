"""Plots the course looks at: kernels, feature maps, training curves, confusion matrices,
image grids (augmented samples, GAN outputs).

Every function returns a ``matplotlib.figure.Figure`` made without ``pyplot`` (no global
figure state, nothing leaks between calls; Jupyter displays a returned figure, and
``fig.savefig("x.png")`` writes it). Axis labels are in Portuguese, the course's language.

Example:
    >>> import numpy as np
    >>> from cnnlib import viz
    >>> fig = viz.plot_image_grid(np.zeros((4, 8, 8), np.uint8), labels=["a", "b", "c", "d"])
    >>> len(fig.axes)
    4
"""


import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cnnlib import validation

__all__ = [
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_history",
    "plot_image_grid",
    "plot_kernels",
]


# --------------------------------------------------------------------------- helpers


def _to_numpy(name, value):
    """NumPy array from arrays, tensors and Keras variables."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array. Received: {name} with dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty. Received: {name} with shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite. Received: {name} with NaN or inf values")
    return arr


def _check_ncols(ncols, n):
    if ncols is None:
        return int(min(n, max(1, int(np.ceil(np.sqrt(n))))))
    return min(validation.check_integer(ncols, "ncols", minimum=1), n)


def _grid(n, ncols, cell=1.6, title=None):
    """Figure with ``n`` image axes (no ticks) in rows of ``ncols``; extra cells removed."""
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(cell * ncols, cell * nrows + (0.4 if title else 0.0)))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    for ax in axes[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig, list(axes[:n])


def _normalize(a):
    """Min-max to [0, 1]; a constant array becomes 0.5 (grey)."""
    a = a.astype(np.float64)
    lo, hi = a.min(), a.max()
    if hi - lo <= 0:
        return np.full_like(a, 0.5)
    return (a - lo) / (hi - lo)


# --------------------------------------------------------------------------- kernels


def plot_kernels(kernels, channel=None, ncols=None, cmap="gray", title=None):
    """Grid of convolution kernels, one panel per output filter.

    Each panel is scaled min-max on its own (black = most negative weight, white = most
    positive). With 3 input channels and ``channel=None`` each filter is drawn in RGB,
    like the first-layer filters of AlexNet.

    Args:
        kernels: a Conv2D layer (its ``kernel``), or weights in Keras layout
            ``(kh, kw, in_channels, filters)``, or one 2-D kernel ``(kh, kw)``.
        channel: input channel to draw (default: RGB if ``in_channels == 3``, else 0).
        ncols: panels per row (default about ``sqrt(filters)``).
        cmap: colormap of the single-channel panels.
        title: figure title.

    Returns:
        ``Figure`` with ``filters`` axes.

    Raises:
        TypeError: non-numeric kernels. ValueError: wrong rank, ``channel`` out of range.
    """
    if hasattr(kernels, "kernel"):
        kernels = kernels.kernel
    k = _to_numpy("kernels", kernels)
    if k.ndim == 2:
        k = k[:, :, None, None]
    if k.ndim != 4:
        raise ValueError(
            "kernels must have shape (kh, kw) or (kh, kw, in_channels, filters). "
            f"Received: kernels with shape {k.shape}"
        )
    cin, cout = k.shape[2], k.shape[3]
    if channel is not None:
        channel = validation.check_index(channel, "channel", cin)
    rgb = channel is None and cin == 3
    fig, axes = _grid(cout, _check_ncols(ncols, cout), title=title)
    for i, ax in enumerate(axes):
        if rgb:
            ax.imshow(_normalize(k[:, :, :, i]), interpolation="nearest")
        else:
            ax.imshow(_normalize(k[:, :, channel or 0, i]), cmap=cmap, vmin=0, vmax=1,
                      interpolation="nearest")
        ax.set_title(str(i), fontsize=8)
    return fig


# --------------------------------------------------------------------------- feature maps


def plot_feature_maps(feature_maps, max_maps=32, ncols=8, cmap="viridis", title=None):
    """Grid of the channels of one feature map (a layer's output for one image).

    Args:
        feature_maps: ``(H, W, C)`` or ``(1, H, W, C)`` (a batch of one).
        max_maps: draw at most the first ``max_maps`` channels.
        ncols: panels per row.
        cmap: colormap; each panel scaled min-max on its own.
        title: figure title.

    Returns:
        ``Figure`` with ``min(C, max_maps)`` axes.

    Raises:
        ValueError: wrong shape, a batch of more than one, ``max_maps`` not positive.
    """
    fm = _to_numpy("feature_maps", feature_maps)
    if fm.ndim == 4:
        if fm.shape[0] != 1:
            raise ValueError(
                "feature_maps must be (H, W, C) or a batch of one (1, H, W, C). "
                f"Received: feature_maps with shape {fm.shape}"
            )
        fm = fm[0]
    if fm.ndim != 3:
        raise ValueError(
            "feature_maps must be (H, W, C) or (1, H, W, C). "
            f"Received: feature_maps with shape {fm.shape}"
        )
    max_maps = validation.check_integer(max_maps, "max_maps", minimum=1)
    n = min(fm.shape[-1], max_maps)
    fig, axes = _grid(n, _check_ncols(ncols, n), title=title)
    for i, ax in enumerate(axes):
        ax.imshow(_normalize(fm[:, :, i]), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(str(i), fontsize=8)
    return fig


# --------------------------------------------------------------------------- curves


def plot_history(history, metrics=None, title=None):
    """Training curves: one panel per metric, training and ``val_`` curves together.

    Args:
        history: a ``keras.callbacks.History`` (what ``fit`` returns) or a dict
            ``{"loss": [...], "val_loss": [...], ...}``.
        metrics: names to draw (without ``val_``); default every training metric.
        title: figure title.

    Returns:
        ``Figure`` with one axes per metric; x axis = epoch (1-based).

    Raises:
        TypeError: not a History or dict. ValueError: empty history, unknown metric,
            curves of different lengths.
    """
    hist = getattr(history, "history", history)
    if not isinstance(hist, dict):
        raise TypeError(
            "history must be a keras History or a dict of metric lists. "
            f"Received: history of type {type(history).__name__}"
        )
    if not hist:
        raise ValueError("history must hold at least one metric. Received: an empty history")
    names = [k for k in hist if not k.startswith("val_")] or [k[4:] for k in hist]
    if metrics is not None:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in metrics if m not in hist and f"val_{m}" not in hist]
        if unknown or not metrics:
            raise ValueError(
                f"metrics must be names in the history {sorted(hist)}. Received: metrics={metrics!r}"
            )
        names = metrics
    curves = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in hist.items()}
    fig = Figure(figsize=(4.5 * len(names), 3.4))
    axes = fig.subplots(1, len(names), squeeze=False).ravel()
    for ax, name in zip(axes, names):
        for key, label in ((name, "treino"), (f"val_{name}", "validação")):
            if key in curves:
                y = curves[key]
                if y.size == 0:
                    raise ValueError(f"history[{key!r}] must not be empty. Received: []")
                ax.plot(np.arange(1, y.size + 1), y, marker="o", markersize=3, label=label)
        ax.set_xlabel("época")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- confusion


def plot_confusion_matrix(cm, class_names=None, normalize=False, cmap="Blues", title=None):
    """Confusion matrix as a heat map with the count (or row fraction) in every cell.

    Args:
        cm: ``(K, K)`` counts, rows = true class, columns = prediction
            (``cnnlib.metrics.confusion_matrix``).
        class_names: ``K`` tick labels (default ``0..K-1``).
        normalize: divide each row by its total (recall per class on the diagonal).
        cmap: colormap.
        title: axes title.

    Returns:
        ``Figure`` with the matrix axes and a colorbar axes (2 axes).

    Raises:
        ValueError: not square, negative counts, ``class_names`` of the wrong length.
    """
    m = _to_numpy("cm", cm).astype(np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"cm must be a square (K, K) matrix. Received: cm with shape {m.shape}")
    if np.any(m < 0):
        raise ValueError(f"cm must hold counts >= 0. Received: minimum {m.min()}")
    k = m.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(k)]
    class_names = [str(c) for c in class_names]
    if len(class_names) != k:
        raise ValueError(
            f"class_names must have one name per class ({k}). "
            f"Received: {len(class_names)} names"
        )
    if normalize:
        rows = m.sum(axis=1, keepdims=True)
        m = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    size = max(3.5, 0.55 * k + 2.0)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.subplots()
    image = ax.imshow(m, cmap=cmap, vmin=0, vmax=m.max() if m.max() > 0 else 1,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    tilt = k > 5
    ax.set_xticks(range(k), labels=class_names, rotation=45 if tilt else 0,
                  ha="right" if tilt else "center")
    ax.set_yticks(range(k), labels=class_names)
    ax.set_xlabel("classe prevista")
    ax.set_ylabel("classe verdadeira")
    threshold = m.max() / 2.0
    for i in range(k):
        for j in range(k):
            text = f"{m[i, j]:.2f}" if normalize else f"{int(round(m[i, j]))}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if m[i, j] > threshold else "black")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- images


def _check_value_range(value_range):
    if value_range is None:
        return None
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        lo = hi = None
    if lo is None or not hi > lo:
        raise ValueError(
            f"value_range must be None or (low, high) with high > low. "
            f"Received: value_range={value_range!r}"
        )
    return lo, hi


def plot_image_grid(images, labels=None, ncols=None, value_range=None, cmap="gray", title=None):
    """Grid of images, e.g. augmented samples of one photo or a GAN's outputs.

    Args:
        images: ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)``; uint8 or float.
        labels: ``N`` panel titles (strings or numbers), or ``None``.
        ncols: panels per row (default about ``sqrt(N)``).
        value_range: ``(low, high)`` mapped to black..white, the same for all panels so
            brightness changes stay visible. Default: uint8 -> (0, 255); floats in [0, 1]
            -> (0, 1); in [-1, 1] -> (-1, 1) (GAN outputs); in [0, 255] -> (0, 255);
            otherwise the batch's own min and max.
        cmap: colormap of single-channel images.
        title: figure title.

    Returns:
        ``Figure`` with ``N`` axes.

    Raises:
        ValueError: wrong shape, ``labels`` of the wrong length, bad ``value_range``.
    """
    x = _to_numpy("images", images)
    shape = x.shape
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] == 3)):
        raise ValueError(
            "images must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3). "
            f"Received: images with shape {shape}"
        )
    n = x.shape[0]
    if labels is not None:
        labels = list(labels)
        if len(labels) != n:
            raise ValueError(
                f"labels must have one entry per image ({n}). Received: {len(labels)} labels"
            )
    rng = _check_value_range(value_range)
    if rng is None:
        lo, hi = float(x.min()), float(x.max())
        if x.dtype == np.uint8:
            rng = (0.0, 255.0)
        elif lo >= 0 and hi <= 1:
            rng = (0.0, 1.0)
        elif lo >= -1 and hi <= 1:
            rng = (-1.0, 1.0)
        elif lo >= 0 and hi <= 255:
            rng = (0.0, 255.0)
        else:
            rng = (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)
    lo, hi = rng
    scaled = np.clip((x.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)
    fig, axes = _grid(n, _check_ncols(ncols, n), title=title)
    for i, ax in enumerate(axes):
        if scaled.ndim == 4:
            ax.imshow(scaled[i], interpolation="nearest")
        else:
            ax.imshow(scaled[i], cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=8)
    return fig
