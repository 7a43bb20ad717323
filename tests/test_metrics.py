"""cnnlib.metrics against scikit-learn on random labels, closed forms and TF autodiff."""

import keras
import numpy as np
import pytest
import sklearn.metrics as skm
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from cnnlib import metrics


def _labels(seed, n, k):
    rng = np.random.default_rng(seed)
    return rng.integers(0, k, n), rng.integers(0, k, n)


# --------------------------------------------------------------------------- vs sklearn


@given(seed=st.integers(0, 10_000), n=st.integers(1, 200), k=st.integers(2, 7))
def test_multiclass_matches_sklearn(seed, n, k):
    t, p = _labels(seed, n, k)
    labels = list(range(k))
    assert metrics.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    cm = metrics.confusion_matrix(t, p, num_classes=k)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(t, p, labels=labels))
    for name, ours, theirs in (
        ("precision", metrics.precision, skm.precision_score),
        ("recall", metrics.recall, skm.recall_score),
        ("f1", metrics.f1_score, skm.f1_score),
    ):
        for average in ("macro", "micro"):
            # Classes present in either array (sklearn's default label set).
            got = ours(t, p, average=average)
            want = theirs(t, p, average=average, zero_division=0)
            assert got == pytest.approx(want), f"{name} {average}: expected {want}, got {got}"
            got_k = ours(t, p, average=average, num_classes=k)
            want_k = theirs(t, p, average=average, labels=labels, zero_division=0)
            assert got_k == pytest.approx(want_k), (
                f"{name} {average} over {k} classes: expected {want_k}, got {got_k}"
            )
        per_class = ours(t, p, average=None, num_classes=k)
        want = theirs(t, p, average=None, labels=labels, zero_division=0)
        np.testing.assert_allclose(per_class, want, err_msg=f"{name} per class")


@given(seed=st.integers(0, 10_000), n=st.integers(1, 100), pos_label=st.sampled_from([0, 1]))
def test_binary_matches_sklearn(seed, n, pos_label):
    t, p = _labels(seed, n, 2)
    for ours, theirs in (
        (metrics.precision, skm.precision_score),
        (metrics.recall, skm.recall_score),
        (metrics.f1_score, skm.f1_score),
    ):
        got = ours(t, p, pos_label=pos_label)
        want = theirs(t, p, pos_label=pos_label, zero_division=0, labels=[0, 1])
        assert got == pytest.approx(want), f"{ours.__name__}: expected {want}, got {got}"


def test_worked_binary_example():
    # TP = 2, FP = 1, FN = 2, TN = 3.
    t = [1, 1, 1, 1, 0, 0, 0, 0]
    p = [1, 1, 0, 0, 1, 0, 0, 0]
    assert metrics.precision(t, p) == pytest.approx(2 / 3)
    assert metrics.recall(t, p) == pytest.approx(2 / 4)
    assert metrics.f1_score(t, p) == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert metrics.accuracy(t, p) == pytest.approx(5 / 8)
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), [[3, 1], [2, 2]])


def test_scores_and_one_hot_are_argmaxed():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, 50)
    scores = rng.normal(size=(50, 4))
    one_hot = np.eye(4)[t]
    want = skm.accuracy_score(t, scores.argmax(1))
    got = metrics.accuracy(one_hot, scores)
    assert got == pytest.approx(want), f"expected {want}, got {got}"
    np.testing.assert_array_equal(
        metrics.confusion_matrix(one_hot, scores), skm.confusion_matrix(t, scores.argmax(1))
    )


def test_micro_f1_equals_accuracy_and_zero_division():
    t, p = _labels(3, 300, 5)
    assert metrics.f1_score(t, p, average="micro") == pytest.approx(metrics.accuracy(t, p))
    # Class 2 never predicted and never true -> 0 under num_classes (sklearn zero_division=0).
    per = metrics.precision([0, 1, 1], [0, 1, 0], average=None, num_classes=3)
    np.testing.assert_allclose(per, [0.5, 1.0, 0.0])


def test_confusion_matrix_structure():
    t, p = _labels(7, 500, 6)
    cm = metrics.confusion_matrix(t, p)
    assert cm.shape == (6, 6) and cm.dtype == np.int64, f"got {cm.shape} {cm.dtype}"
    assert cm.sum() == 500
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(t, minlength=6))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(p, minlength=6))
    assert np.trace(cm) / cm.sum() == pytest.approx(metrics.accuracy(t, p))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: metrics.accuracy([0, 1], [0, 1, 1]), ValueError, "same number of samples"),
        (lambda: metrics.accuracy([], []), ValueError, "must not be empty"),
        (lambda: metrics.accuracy([0, -1], [0, 1]), ValueError, r"class ids >= 0.*-1"),
        (lambda: metrics.accuracy([0, 1.5], [0, 1]), ValueError, "whole-number"),
        (lambda: metrics.accuracy(["a"], ["b"]), TypeError, "y_true must be numeric"),
        (lambda: metrics.accuracy(np.zeros((2, 2, 2)), [0, 1]), ValueError, r"shape \(2, 2, 2\)"),
        (lambda: metrics.f1_score([0, 1, 2], [0, 1, 2]), ValueError, r"binary.*\[0, 1, 2\]"),
        (lambda: metrics.f1_score([0, 1], [0, 1], average="weighted"), ValueError,
         "average must be one of"),
        (lambda: metrics.recall([0, 1], [0, 1], pos_label=-1), ValueError, "pos_label"),
        (lambda: metrics.confusion_matrix([0, 3], [0, 1], num_classes=3), ValueError,
         r"num_classes=3.*label 3"),
        (lambda: metrics.soft_dice([0, 1], [0.5, 1.5]), ValueError, r"\[0, 1\].*1.5"),
        (lambda: metrics.soft_dice([0, 1], [0.5]), ValueError, "same shape"),
        (lambda: metrics.soft_dice([0, 1], [0, 1], smooth=-1), ValueError, "smooth=-1"),
        (lambda: metrics.soft_dice_loss(np.zeros((2, 3)), np.zeros((2, 4))), ValueError,
         "same shape"),
    ],
)
def test_bad_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- soft Dice


@given(seed=st.integers(0, 10_000), n=st.integers(1, 300))
def test_dice_of_hard_masks_is_f1(seed, n):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    if t.sum() + p.sum() == 0:
        assert metrics.soft_dice(t, p) == 1.0  # two empty masks agree perfectly
        return
    want = skm.f1_score(t, p, zero_division=0)
    got = metrics.soft_dice(t, p)
    assert got == pytest.approx(want), f"expected F1 {want}, got Dice {got}"
    loss = float(metrics.soft_dice_loss(t[None].astype("float64"), p[None].astype("float64"),
                                        smooth=0.0)[0])
    assert loss == pytest.approx(1 - want), f"expected loss {1 - want}, got {loss}"


def test_soft_dice_closed_form_and_axis():
    t = np.array([[1, 1, 0, 0], [0, 0, 0, 1]], float)
    p = np.array([[0.9, 0.6, 0.2, 0.0], [0.5, 0.5, 0.0, 1.0]])
    # Row 0: 2*1.5 / (2 + 1.7); row 1: 2*1 / (1 + 2).
    np.testing.assert_allclose(metrics.soft_dice(t, p, axis=1), [3 / 3.7, 2 / 3])
    assert metrics.soft_dice(t, p) == pytest.approx(2 * 2.5 / (3 + 3.7))
    assert metrics.soft_dice(t, p, smooth=1.0) == pytest.approx((5 + 1) / (6.7 + 1))
    got = metrics.soft_dice_loss(t, p, smooth=1.0).numpy()
    np.testing.assert_allclose(got, [1 - 4 / 4.7, 1 - 3 / 4], rtol=1e-6)


def test_soft_dice_loss_gradient_matches_closed_form():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 2, (3, 5, 5, 1)).astype("float64")
    p = tf.Variable(rng.uniform(0.01, 0.99, (3, 5, 5, 1)))
    s = 1.0
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(metrics.soft_dice_loss(t, p, smooth=s))
    grad = tape.gradient(loss, p).numpy()
    pn = p.numpy()
    inter = (t * pn).sum(axis=(1, 2, 3), keepdims=True) + s / 2
    den = t.sum(axis=(1, 2, 3), keepdims=True) + pn.sum(axis=(1, 2, 3), keepdims=True) + s
    want = -2 * (t * den - inter) / den**2  # d(1 - Dice)/dp
    np.testing.assert_allclose(grad, want, rtol=1e-10, err_msg="d(1 - Dice)/dp")


@pytest.mark.slow
def test_soft_dice_loss_trains_a_segmenter():
    """A 1x1-conv segmenter fit with SoftDiceLoss learns 'pixel > 0.5' masks."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (256, 8, 8, 1)).astype("float32")
    y = (x > 0.5).astype("float32")
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 1, activation="sigmoid")]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=metrics.SoftDiceLoss())
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)  # 240 steps
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.5 * before, f"expected the Dice loss to halve: before {before}, after {after}"
    dice = metrics.soft_dice(y, (model.predict(x, verbose=0) > 0.5).astype("float32"))
    assert dice > 0.95, f"expected hard Dice > 0.95 after training, got {dice}"
    w, b = (v.ravel()[0] for v in model.get_weights())
    assert abs(-b / w - 0.5) < 0.05, f"expected the learned threshold near 0.5, got {-b / w}"
    restored = metrics.SoftDiceLoss.from_config(metrics.SoftDiceLoss(smooth=2.0).get_config())
    assert restored.smooth == 2.0
    assert keras.losses.get(
        {"class_name": "cnnlib>SoftDiceLoss", "config": {"smooth": 0.5}}
    ).smooth == 0.5
