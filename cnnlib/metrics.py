"""Performance measures from the lecture ("Medindo Performance"): NumPy in, NumPy out.

The lecture separates *measurements* (accuracy, precision, recall, F-score, ...: what we
report, not differentiable) from their differentiable *surrogates* (cross-entropy, soft
Dice, ...: what we train with). This module has both sides of the F-score pair:

- ``accuracy``, ``precision``, ``recall``, ``f1_score``, ``confusion_matrix`` on class
  labels, binary (``average="binary"``) or multiclass (``"macro"``, ``"micro"``, ``None``
  per class), with scikit-learn's definitions and ``zero_division=0``;
- ``soft_dice`` (NumPy) and ``soft_dice_loss`` / ``SoftDiceLoss`` (TensorFlow,
  differentiable, usable in ``model.compile(loss=...)``). On hard 0/1 predictions the Dice
  coefficient ``2|A ∩ B| / (|A| + |B|)`` *is* the F1 score.

Labels: ``y_true`` and ``y_pred`` are 1-D integer arrays of class ids; a 2-D ``(N, C)``
array (one-hot targets or a model's scores/probabilities) is turned into ids by ``argmax``.

Example:
    >>> from cnnlib import metrics
    >>> metrics.f1_score([0, 1, 1, 0], [0, 1, 0, 0])
    0.6666666666666666
    >>> metrics.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2])
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 0, 2]])
"""


import keras
import numpy as np
import tensorflow as tf

from cnnlib import validation

AVERAGES = ("binary", "macro", "micro", None)

__all__ = [
    "AVERAGES",
    "SoftDiceLoss",
    "accuracy",
    "confusion_matrix",
    "f1_score",
    "precision",
    "recall",
    "soft_dice",
    "soft_dice_loss",
]


# --------------------------------------------------------------------------- validation


def _as_labels(name, y):
    """1-D int64 class ids from ids ``(N,)`` or scores/one-hot ``(N, C)`` (argmax)."""
    arr = np.asarray(y)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(
            f"{name} must be numeric class labels (N,) or scores (N, C). "
            f"Received: {name} with dtype {arr.dtype}"
        )
    if arr.ndim == 2:
        if arr.shape[1] < 2:
            raise ValueError(
                f"{name} of shape (N, C) must have C >= 2 columns (scores or one-hot). "
                f"Received: {name} with shape {arr.shape}"
            )
        arr = np.argmax(arr, axis=1)
    elif arr.ndim != 1:
        raise ValueError(
            f"{name} must have shape (N,) (class ids) or (N, C) (scores). "
            f"Received: {name} with shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty. Received: {name} with shape {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(
                f"{name} must hold whole-number class ids (or (N, C) scores). "
                f"Received: {name} with non-integer values such as {arr[arr != np.round(arr)][:3]}"
            )
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(
            f"{name} must hold class ids >= 0. Received: {name} with minimum {arr.min()}"
        )
    return arr


def _pair(y_true, y_pred, num_classes=None):
    t = _as_labels("y_true", y_true)
    p = _as_labels("y_pred", y_pred)
    if t.shape != p.shape:
        raise ValueError(
            "y_true and y_pred must hold the same number of samples. "
            f"Received: y_true with {t.shape[0]} and y_pred with {p.shape[0]}"
        )
    num_classes = validation.check_integer(num_classes, "num_classes", minimum=1, allow_none=True)
    if num_classes is not None:
        top = max(t.max(), p.max())
        if top >= num_classes:
            raise ValueError(
                f"labels must be in [0, num_classes={num_classes}). Received: label {top}"
            )
    return t, p


def _classes(t, p, num_classes):
    if num_classes is not None:
        return np.arange(int(num_classes))
    return np.union1d(t, p)


# --------------------------------------------------------------------------- counts


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Confusion matrix ``C[i, j]`` = number of samples of true class i predicted as j.

    Args:
        y_true: class ids ``(N,)`` or one-hot/scores ``(N, C)``.
        y_pred: class ids ``(N,)`` or scores ``(N, C)``.
        num_classes: size K of the matrix; default ``max(label) + 1``.

    Returns:
        int64 array ``(K, K)``, rows = true class, columns = prediction (scikit-learn's
        convention); ``C.trace() / C.sum()`` is the accuracy.

    Raises:
        TypeError / ValueError: non-numeric, empty, mismatched or out-of-range labels.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=3).tolist()   # rows: true class
        [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    """
    t, p = _pair(y_true, y_pred, num_classes)
    k = int(num_classes) if num_classes is not None else int(max(t.max(), p.max())) + 1
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def _per_class_counts(t, p, classes):
    """True positives, predicted positives and actual positives per class ``(K,)``."""
    tp = np.array([np.sum((t == c) & (p == c)) for c in classes], dtype=np.int64)
    pred_pos = np.array([np.sum(p == c) for c in classes], dtype=np.int64)
    true_pos = np.array([np.sum(t == c) for c in classes], dtype=np.int64)
    return tp, pred_pos, true_pos


def _divide(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _check_average(average):
    return validation.check_one_of(average, AVERAGES, "average")


def _check_pos_label(pos_label):
    return validation.check_integer(pos_label, "pos_label", minimum=0)


def _scores(kind, y_true, y_pred, average, pos_label, num_classes):
    """Shared body of precision / recall / F1 (``kind`` selects the formula)."""
    _check_average(average)
    t, p = _pair(y_true, y_pred, num_classes)
    if average == "binary":
        pos_label = _check_pos_label(pos_label)
        present = np.union1d(t, p)
        if present.size > 2:
            raise ValueError(
                "average='binary' needs at most two classes; use average='macro', 'micro' "
                f"or None for multiclass labels. Received: classes {present.tolist()}"
            )
        classes = np.array([pos_label])
    else:
        classes = _classes(t, p, num_classes)
    tp, pred_pos, true_pos = _per_class_counts(t, p, classes)
    if average == "micro":
        tp, pred_pos, true_pos = tp.sum(), pred_pos.sum(), true_pos.sum()
    if kind == "precision":
        values = _divide(tp, pred_pos)
    elif kind == "recall":
        values = _divide(tp, true_pos)
    else:  # F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (predicted + actual positives)
        values = _divide(2 * tp, pred_pos + true_pos)
    if average is None:
        return values
    if average == "macro":
        return float(np.mean(values))
    return float(np.ravel(values)[0])


def accuracy(y_true, y_pred):
    """Fraction of samples whose predicted class equals the true class.

    Args:
        y_true: class ids ``(N,)`` or one-hot ``(N, C)``.
        y_pred: class ids ``(N,)`` or scores ``(N, C)`` (argmax taken).

    Returns:
        float in [0, 1].

    Example:
        >>> accuracy([0, 1, 2, 2], [0, 2, 2, 2])
        0.75
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def precision(y_true, y_pred, average="binary", pos_label=1, num_classes=None):
    """Precision ``TP / (TP + FP)``: of what was predicted as the class, how much was it.

    Args:
        y_true: class ids ``(N,)`` or one-hot ``(N, C)``.
        y_pred: class ids ``(N,)`` or scores ``(N, C)``.
        average: ``"binary"`` (class ``pos_label`` only; labels must be two classes),
            ``"macro"`` (unweighted mean over classes), ``"micro"`` (from the pooled
            counts; equals accuracy for single-label multiclass), ``None`` (per class).
        pos_label: the positive class for ``average="binary"``.
        num_classes: classes ``0..num_classes-1`` to average over; default: the labels
            present in ``y_true`` or ``y_pred``.

    Returns:
        float, or float64 array ``(K,)`` when ``average=None``. 0 where nothing was
        predicted as the class (scikit-learn's ``zero_division=0``).

    Raises:
        ValueError: unknown ``average``, more than two classes with ``"binary"``, bad labels.

    Example:
        >>> precision([0, 1, 1, 0], [0, 1, 1, 1])                 # 2 of 3 predicted 1 are right
        0.6666666666666666
        >>> precision([0, 1, 2, 2], [0, 2, 2, 2], average="macro")  # mean of 1, 0, 2/3
        0.5555555555555555
    """
    return _scores("precision", y_true, y_pred, average, pos_label, num_classes)


def recall(y_true, y_pred, average="binary", pos_label=1, num_classes=None):
    """Recall ``TP / (TP + FN)``: of the class's samples, how many were found.

    Same arguments and return as ``precision``; 0 for a class with no true samples.
    """
    return _scores("recall", y_true, y_pred, average, pos_label, num_classes)


def f1_score(y_true, y_pred, average="binary", pos_label=1, num_classes=None):
    """F1 ``2 P R / (P + R) = 2 TP / (2 TP + FP + FN)``, the harmonic mean of P and R.

    Same arguments and return as ``precision``; 0 where ``2TP + FP + FN = 0``.
    """
    return _scores("f1", y_true, y_pred, average, pos_label, num_classes)


# --------------------------------------------------------------------------- soft Dice


def _check_smooth(smooth):
    return validation.check_number(smooth, "smooth", minimum=0)


def soft_dice(y_true, y_pred, axis=None, smooth=0.0):
    """Soft Dice coefficient ``(2 Σ t·p + s) / (Σ t + Σ p + s)`` (NumPy).

    With hard 0/1 ``y_pred`` this is the F1 score of the positive class; with
    probabilities it is its differentiable relaxation (the lecture's "F-Score -> Soft Dice").

    Args:
        y_true: targets in [0, 1], any shape.
        y_pred: probabilities in [0, 1], same shape as ``y_true``.
        axis: axes to sum over (``None``: all, one number; e.g. ``(1, 2, 3)`` for one
            Dice per image of a ``(N, H, W, C)`` batch).
        smooth: ``s >= 0`` added to numerator and denominator; with ``s = 0`` two empty
            masks give 1 (defined as a perfect match) instead of 0/0.

    Returns:
        float (``axis=None``) or float64 array of the remaining axes.

    Raises:
        TypeError: non-numeric input. ValueError: shape mismatch, values outside [0, 1],
            negative ``smooth``.

    Example:
        >>> round(soft_dice([1, 1, 0, 0], [0.9, 0.6, 0.2, 0.0]), 4)  # 3 / 3.7
        0.8108
    """
    smooth = _check_smooth(smooth)
    arrays = []
    for name, value in (("y_true", y_true), ("y_pred", y_pred)):
        arr = np.asarray(value)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must be numeric. Received: {name} with dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.size == 0:
            raise ValueError(f"{name} must not be empty. Received: {name} with shape {arr.shape}")
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(
                f"{name} must hold values in [0, 1] (masks or probabilities). "
                f"Received: {name} with range [{np.nanmin(arr)}, {np.nanmax(arr)}]"
            )
        arrays.append(arr)
    t, p = arrays
    if t.shape != p.shape:
        raise ValueError(
            "y_true and y_pred must have the same shape. "
            f"Received: y_true {t.shape} and y_pred {p.shape}"
        )
    inter = np.sum(t * p, axis=axis)
    total = np.sum(t, axis=axis) + np.sum(p, axis=axis)
    num = 2.0 * inter + smooth
    den = total + smooth
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return float(out) if np.ndim(out) == 0 else out


def soft_dice_loss(y_true, y_pred, smooth=1.0):
    """Differentiable soft Dice loss ``1 - Dice`` per sample (TensorFlow).

    Sums over every axis but the first, so a ``(N, H, W, C)`` batch gives one loss per
    image, and ``keras`` averages them. Usable directly in ``model.compile(loss=...)``.

    ``d Dice / d p_i = 2 (t_i D - I) / D^2`` with ``I = Σ t·p + s/2``, ``D = Σ t + Σ p + s``.

    Args:
        y_true: targets in [0, 1], ``(N, ...)``.
        y_pred: probabilities (e.g. after a sigmoid/softmax), same shape.
        smooth: ``s >= 0``; the default 1 keeps the gradient finite on empty masks.

    Returns:
        float tensor ``(N,)``.

    Raises:
        ValueError: static shapes differ, rank 0, negative ``smooth``.
    """
    smooth = _check_smooth(smooth)
    y_pred = tf.convert_to_tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = tf.cast(y_pred, tf.float32)
    y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
    if y_pred.shape.rank == 0:
        raise ValueError("y_pred must have a batch axis (N, ...). Received: a scalar y_pred")
    if not y_true.shape.is_compatible_with(y_pred.shape):
        raise ValueError(
            "y_true and y_pred must have the same shape. "
            f"Received: y_true {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)}"
        )
    if y_pred.shape.rank == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    axes = list(range(1, y_pred.shape.rank))
    inter = tf.reduce_sum(y_true * y_pred, axis=axes)
    total = tf.reduce_sum(y_true, axis=axes) + tf.reduce_sum(y_pred, axis=axes)
    dice = (2.0 * inter + smooth) / (total + smooth) if smooth > 0 else tf.math.divide_no_nan(
        2.0 * inter, total
    )
    return 1.0 - dice


@keras.saving.register_keras_serializable(package="cnnlib")
class SoftDiceLoss(keras.losses.Loss):
    """Keras loss wrapper of ``soft_dice_loss`` (``1 - Dice`` per sample, averaged).

    Args:
        smooth: ``s >= 0`` added to numerator and denominator.
        name, reduction: as ``keras.losses.Loss``.

    Example:
        >>> model.compile(optimizer="adam", loss=SoftDiceLoss(smooth=1.0))  # doctest: +SKIP
    """

    def __init__(self, smooth=1.0, name="soft_dice_loss", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.smooth = _check_smooth(smooth)

    def call(self, y_true, y_pred):
        return soft_dice_loss(y_true, y_pred, smooth=self.smooth)

    def get_config(self):
        return {**super().get_config(), "smooth": self.smooth}
