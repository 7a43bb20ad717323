"""Forward + backward time of cnnlib.layers.Conv2D / DepthwiseConv2D vs keras.layers, side by side.

Also grouped (ResNeXt) and channels_first convolutions, and one whole ResNet-18 training
step built with ``layers="cnnlib"`` vs ``layers="keras"`` (same weights).

Each shape of a fixed suite is timed for both implementations in the same run, interleaved
round by round (so a busy machine slows both alike); the table prints the median times,
the ratio cnnlib / keras and the geometric mean of the ratios.

    .venv/bin/python benchmarks/conv_gradient.py            # full suite
    .venv/bin/python benchmarks/conv_gradient.py --quick    # 1/4 batch, fewer rounds
    .venv/bin/python benchmarks/conv_gradient.py --shapes vgg_3x3 alexnet_conv1 --rounds 9
    .venv/bin/python benchmarks/conv_gradient.py --shapes resnext_3x3_g32 vgg_3x3_nchw --models

One step = forward, then the gradients of ``sum(y * g)`` with respect to the input, the
kernel and the bias, inside one ``tf.function``.
"""

import argparse
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cnnlib import layers as L  # noqa: E402
from cnnlib import models as M  # noqa: E402
from cnnlib.layers import _ops  # noqa: E402

# name: (batch, height, width, channels, kernel, filters, stride, padding, depthwise[, extra
# layer arguments]); channels_first shapes are given as NHWC and transposed.
SUITE = {
    "lenet_conv1": (256, 32, 32, 1, 5, 6, 1, "valid", False),
    "alexnet_conv1": (16, 227, 227, 3, 11, 96, 4, "valid", False),
    "vgg_3x3": (32, 56, 56, 64, 3, 64, 1, "same", False),
    "resnet_3x3_s2": (32, 56, 56, 64, 3, 128, 2, "same", False),
    "bottleneck_1x1": (32, 28, 28, 256, 1, 64, 1, "valid", False),
    "convnext_dw7x7": (32, 28, 28, 192, 7, None, 1, "same", True),
    # Batch 4: TensorFlow's own grouped backward on CPU takes ~10 s per step at this size.
    "resnext_3x3_g32": (4, 28, 28, 128, 3, 128, 1, "same", False, {"groups": 32}),
    "grouped_3x3_g4_s2": (4, 56, 56, 64, 3, 128, 2, "same", False, {"groups": 4}),
    "vgg_3x3_nchw": (32, 56, 56, 64, 3, 64, 1, "same", False,
                     {"data_format": "channels_first"}),
    "dw7x7_nchw": (32, 28, 28, 192, 7, None, 1, "same", True,
                   {"data_format": "channels_first"}),
}

# name: (builder, input shape, batch): one SGD training step of the whole model.
MODELS = {
    "resnet18_train_step": (lambda **kw: M.resnet18(10, (32, 32, 3), stem="cifar", **kw),
                            (32, 32, 3), 32),
}


def make_step(layer, x, g):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * g)
        return tape.gradient(loss, [x] + layer.trainable_weights)
    return step


def run_once(step):
    start = time.perf_counter()
    out = step()
    _ = [t.numpy() for t in out[:1]]                  # wait for the result
    return time.perf_counter() - start


def time_interleaved(steps, rounds, warmup):
    """Median seconds of each step, timed round by round in turn (a busy machine slows all)."""
    for step in steps.values():
        for _ in range(warmup):
            run_once(step)
    times = {key: [] for key in steps}
    for _ in range(rounds):
        for key, step in steps.items():
            times[key].append(run_once(step))
    return {key: statistics.median(v) for key, v in times.items()}


def bench_shape(name, spec, batch_divisor, rounds, warmup):
    n, h, w, c, k, filters, stride, padding, depthwise = spec[:9]
    extra = spec[9] if len(spec) > 9 else {}
    n = max(1, n // batch_divisor)
    rng = np.random.default_rng(0)
    shape = (n, c, h, w) if extra.get("data_format") == "channels_first" else (n, h, w, c)
    x = tf.constant(rng.normal(size=shape), tf.float32)
    if depthwise:
        ours = L.DepthwiseConv2D(k, strides=stride, padding=padding, **extra)
        theirs = keras.layers.DepthwiseConv2D(k, strides=stride, padding=padding, **extra)
    else:
        ours = L.Conv2D(filters, k, strides=stride, padding=padding, **extra)
        theirs = keras.layers.Conv2D(filters, k, strides=stride, padding=padding, **extra)
    ours.build(x.shape)
    theirs.build(x.shape)
    ours.set_weights(theirs.get_weights())
    g = tf.constant(rng.normal(size=theirs.compute_output_shape(x.shape)), tf.float32)
    steps = {"keras": make_step(theirs, x, g), "cnnlib": make_step(ours, x, g)}
    times = time_interleaved(steps, rounds, warmup)
    method = "-" if depthwise else _ops._choose_filter_grad_method(
        (n, h, w, c // extra.get("groups", 1)), (n, None, None, filters), (k, k))
    if extra.get("groups", 1) > 1:
        method += f" x{extra['groups']} groups"
    return times, shape, method


def make_train_step(model, x, y):
    optimizer = keras.optimizers.SGD(0.01)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer.build(model.trainable_variables)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return [loss]
    return step


def bench_model(name, batch_divisor, rounds, warmup):
    """One training step (forward, loss, gradients, SGD update) of the whole model."""
    build, input_shape, batch = MODELS[name]
    n = max(1, batch // batch_divisor)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(n,) + input_shape), tf.float32)
    y = tf.constant(rng.integers(0, 10, size=n))
    keras.utils.set_random_seed(0)
    theirs = build(layers="keras")
    ours = build(layers="cnnlib")
    ours.set_weights(theirs.get_weights())
    steps = {"keras": make_train_step(theirs, x, y), "cnnlib": make_train_step(ours, x, y)}
    times = time_interleaved(steps, rounds, warmup)
    return times, (n,) + input_shape


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch / 4, 3 rounds")
    parser.add_argument("--shapes", nargs="*", choices=sorted(SUITE), default=list(SUITE))
    parser.add_argument("--models", nargs="*", choices=sorted(MODELS), default=None,
                        help="whole-model training steps (default: all with the full suite)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 7, quick 3)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    divisor = 4 if args.quick else 1
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, devices: "
          f"{[d.device_type for d in tf.config.list_physical_devices()]}, "
          f"{rounds} rounds, median, batch / {divisor}")
    header = f"{'shape':<16} {'input':<20} {'dL/dF via':<17} {'keras ms':>9} {'cnnlib ms':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    ratios = []
    for name in args.shapes:
        times, shape, method = bench_shape(name, SUITE[name], divisor, rounds, warmup=2)
        ratio = times["cnnlib"] / times["keras"]
        ratios.append(ratio)
        print(f"{name:<16} {'x'.join(map(str, shape)):<20} {method:<17} {times['keras'] * 1e3:9.1f} "
              f"{times['cnnlib'] * 1e3:10.1f} {ratio:6.2f}x", flush=True)
    if ratios:
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print("-" * len(header))
        print(f"geometric mean ratio: {geomean:.2f}x   max: {max(ratios):.2f}x")
    models = args.models
    if models is None:
        models = list(MODELS) if args.shapes == list(SUITE) else []
    elif not models:
        models = list(MODELS)
    for name in models:
        times, shape = bench_model(name, divisor, rounds, warmup=2)
        print(f"{name:<16} {'x'.join(map(str, shape)):<20} {'whole model':<17} "
              f"{times['keras'] * 1e3:9.1f} {times['cnnlib'] * 1e3:10.1f} "
              f"{times['cnnlib'] / times['keras']:6.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
