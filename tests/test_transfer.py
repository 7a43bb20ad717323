"""cnnlib.transfer: EfficientNet-Lite0 ImageNet weights converted offline, freezing, heads.

The conversion runs once per session into a temporary directory (module fixture). The
comparison with the original PyTorch model needs the optional extra ``convert``
(torch + efficientnet-lite-pytorch): without it that test fails, it does not skip.
"""

import json
import os
import pickle
import subprocess
import sys

import keras
import numpy as np
import pytest
from skimage import data as skdata

from cnnlib import efficientnet_lite, transfer
from cnnlib.data import DataSourceError, MissingDataError
from cnnlib.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, load_legacy, load_legacy_state_dict

CONVERT_HINT = "pip install -e .[convert]"


def _torch_reference():
    """torch and the original EfficientNet-Lite port, or a failure that says how to get them."""
    try:
        import torch
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        pytest.fail(f"comparing with the original PyTorch model needs torch and "
                    f"efficientnet-lite-pytorch: run `{CONVERT_HINT}`. ({err})")
    return torch, EfficientNet


@pytest.fixture(scope="module")
def prepared_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cnnlib_data")
    transfer.prepare_backbone_weights(directory)
    return directory


@pytest.fixture(scope="module")
def imagenet_model(prepared_dir):
    return transfer.load_backbone(include_top=True, data_dir=prepared_dir)


@pytest.fixture(scope="module")
def state_dict():
    return load_legacy_state_dict(transfer.source_weights_path())


def _top5(model, photo):
    x = transfer.preprocess_input(transfer.center_crop_resize(photo, 224)[None])
    logits = np.asarray(model(x, training=False))[0]
    return list(np.argsort(-logits)[:5])


# --------------------------------------------------------------------------- legacy reader


def test_legacy_reader_reads_every_tensor(state_dict):
    trainable = sum(v.size for k, v in state_dict.items()
                    if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert len(state_dict) == 296, f"expected 296 tensors, got {len(state_dict)}"
    assert trainable == efficientnet_lite.NUM_TRAINABLE_PARAMS, (
        f"expected {efficientnet_lite.NUM_TRAINABLE_PARAMS} parameters, got {trainable}")
    stem = state_dict["_conv_stem.weight"]
    assert stem.shape == (32, 3, 3, 3) and stem.dtype == np.float32, f"got {stem.shape} {stem.dtype}"
    assert state_dict["_bn0.num_batches_tracked"].dtype == np.int64
    assert np.all(state_dict["_bn0.running_var"] >= 0), "running variances must be >= 0"
    assert all(np.isfinite(v).all() for v in state_dict.values()), "every value must be finite"


def test_legacy_reader_equals_torch_load(state_dict):
    torch, _ = _torch_reference()
    reference = torch.load(transfer.source_weights_path(), weights_only=False)
    assert list(state_dict) == list(reference), "keys or their order differ from torch.load"
    for key, value in reference.items():
        expected = value.numpy()
        assert state_dict[key].dtype == expected.dtype, f"{key}: dtype {state_dict[key].dtype}"
        np.testing.assert_array_equal(state_dict[key], expected, err_msg=key)


def test_legacy_reader_refuses_foreign_globals(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for header in (MAGIC_NUMBER, PROTOCOL_VERSION, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
    with pytest.raises(pickle.UnpicklingError, match="Received: global os.system"):
        load_legacy(path)


@pytest.mark.parametrize("content, match", [
    (b"PK\x03\x04 zip archive", "zip archive"),
    (pickle.dumps(12345, protocol=2), "magic"),
    (b"not a pickle", "legacy torch file"),
])
def test_legacy_reader_rejects_other_files(tmp_path, content, match):
    path = tmp_path / "other.pth"
    path.write_bytes(content + b"\x00" * 16)
    with pytest.raises(ValueError, match=match):
        load_legacy(path)


def test_legacy_reader_rejects_truncated_file(tmp_path):
    source = transfer.source_weights_path().read_bytes()
    path = tmp_path / "truncated.pth"
    path.write_bytes(source[:-1000])
    with pytest.raises(ValueError, match="truncated"):
        load_legacy(path)


# --------------------------------------------------------------------------- conversion


def test_converted_logits_equal_pytorch_original(imagenet_model):
    torch, EfficientNet = _torch_reference()
    path = str(transfer.source_weights_path())
    original = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    photos = np.stack([transfer.center_crop_resize(skdata.chelsea(), 224),
                       transfer.center_crop_resize(skdata.coffee(), 224)])
    noise = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype(np.float32)
    x = transfer.preprocess_input(np.concatenate([photos, noise]))
    ours = np.asarray(imagenet_model(x, training=False))
    with torch.no_grad():
        theirs = original(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    error = np.abs(ours - theirs).max()
    print(f"\nconversion error: max |keras - torch| logit = {error:.3e} "
          f"(logits up to {np.abs(theirs).max():.2f})")
    assert error < 1e-4, f"expected converted logits within 1e-4 of PyTorch, got max error {error:.3e}"
    assert (ours.argmax(-1) == theirs.argmax(-1)).all()


def test_converted_model_classifies_chelsea_as_cat(imagenet_model):
    top5 = _top5(imagenet_model, skdata.chelsea())
    assert top5[0] in transfer.IMAGENET_CAT_CLASSES, (
        f"expected a cat class (281-285) first for chelsea, got top-5 {top5}")


def test_converted_model_classifies_coffee_as_espresso_or_cup(imagenet_model):
    top5 = _top5(imagenet_model, skdata.coffee())
    assert top5[0] in (967, 968), f"expected espresso (967) or cup (968) for coffee, got top-5 {top5}"


def test_conversion_rejects_missing_or_misshapen_tensors(state_dict):
    model = efficientnet_lite.efficientnet_lite0(input_shape=(32, 32, 3))
    missing = {k: v for k, v in state_dict.items() if k != "_blocks.3._bn1.running_var"}
    with pytest.raises(ValueError, match=r"state_dict must contain '_blocks.3._bn1.running_var'"):
        efficientnet_lite.load_torch_state_dict(model, missing)
    misshapen = dict(state_dict, **{"_fc.weight": state_dict["_fc.weight"][:10]})
    with pytest.raises(ValueError, match=r"_fc.weight must have shape \(1000, 1280\)"):
        efficientnet_lite.load_torch_state_dict(model, misshapen)
    extra = dict(state_dict, **{"_extra.weight": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="Unused: \\['_extra.weight'\\]"):
        efficientnet_lite.load_torch_state_dict(model, extra)


def test_prepare_writes_checked_files_and_is_idempotent(prepared_dir):
    target = prepared_dir / transfer.WEIGHTS_FILE
    info = json.loads((prepared_dir / transfer.WEIGHTS_INFO_FILE).read_text())
    assert info["source_sha256"] == transfer.SOURCE_SHA256
    assert info["params"] == efficientnet_lite.NUM_PARAMS == 4_694_024, f"got {info['params']}"
    assert info["chelsea_top1"] in transfer.IMAGENET_CAT_CLASSES
    before = target.stat().st_mtime_ns
    assert transfer.prepare_backbone_weights(prepared_dir) == target
    assert target.stat().st_mtime_ns == before, "a second prepare must not convert again"


def test_prepare_works_without_torch(tmp_path):
    """The conversion `cnnlib prepare` runs needs NumPy and Keras only: torch is blocked."""
    script = (
        "import sys\n"
        "class BlockTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, BlockTorch())\n"
        "from cnnlib import transfer\n"
        "path = transfer.prepare_backbone_weights(sys.argv[1])\n"
        "assert 'torch' not in sys.modules\n"
        "print(path.name)\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, f"conversion without torch failed:\n{result.stderr[-2000:]}"
    assert result.stdout.strip().endswith(transfer.WEIGHTS_FILE), f"got {result.stdout!r}"


def test_prepare_rejects_wrong_source(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not the weights")
    with pytest.raises(DataSourceError, match="sha256"):
        transfer.prepare_backbone_weights(tmp_path / "out", source=bad)
    assert not (tmp_path / "out" / transfer.WEIGHTS_FILE).exists()


def test_load_backbone_without_prepare_names_the_command(tmp_path):
    with pytest.raises(MissingDataError, match="cnnlib prepare"):
        transfer.load_backbone(data_dir=tmp_path)


def test_load_backbone_rejects_corrupted_weights(prepared_dir, tmp_path):
    (tmp_path / transfer.WEIGHTS_FILE).write_bytes(
        (prepared_dir / transfer.WEIGHTS_FILE).read_bytes()[:-10] + b"0123456789")
    (tmp_path / transfer.WEIGHTS_INFO_FILE).write_text(
        (prepared_dir / transfer.WEIGHTS_INFO_FILE).read_text())
    with pytest.raises(MissingDataError, match="does not match"):
        transfer.load_backbone(data_dir=tmp_path)


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "alexnet"}, "name must be one of"),
    ({"weights": "cifar"}, "weights must be 'imagenet' or None"),
    ({"input_shape": (224, 224)}, "input_shape must be"),
    ({"input_shape": (16, 16, 3)}, "input_shape must be"),
])
def test_load_backbone_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        transfer.load_backbone(**kwargs)


def test_backbone_without_top_is_a_feature_extractor(prepared_dir):
    backbone = transfer.load_backbone(input_shape=(96, 128, 3), data_dir=prepared_dir)
    assert backbone.output.shape[1:] == (3, 4, 1280), f"got {backbone.output.shape}"
    full = transfer.load_backbone(input_shape=(96, 128, 3), include_top=True, data_dir=prepared_dir)
    np.testing.assert_array_equal(backbone.get_layer("block4b_dwconv").get_weights()[0],
                                  full.get_layer("block4b_dwconv").get_weights()[0])


# --------------------------------------------------------------------------- preprocessing


def test_preprocess_input_matches_keras_applications():
    x = np.random.default_rng(1).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(transfer.preprocess_input(x, "resnet50"),
                               keras.applications.resnet50.preprocess_input(x.copy()), atol=1e-4)
    np.testing.assert_allclose(transfer.preprocess_input(x, "mobilenet_v2"),
                               keras.applications.mobilenet_v2.preprocess_input(x.copy()), atol=1e-6)
    lite = transfer.preprocess_input(np.array([[[[0, 127, 255]]]], dtype=np.uint8))
    np.testing.assert_allclose(lite, [[[[-127 / 128, 0.0, 1.0]]]])


@pytest.mark.parametrize("mode", transfer.BackbonePreprocessing.MODES)
def test_preprocessing_layer_equals_function_and_round_trips(mode):
    name = next(n for n, (_, m) in transfer.BACKBONES.items() if m == mode)
    x = np.random.default_rng(2).uniform(0, 255, (2, 5, 5, 3)).astype(np.float32)
    layer = transfer.BackbonePreprocessing(mode)
    np.testing.assert_allclose(np.asarray(layer(x)), transfer.preprocess_input(x, name), atol=1e-5)
    clone = transfer.BackbonePreprocessing.from_config(layer.get_config())
    assert clone.mode == mode


def test_preprocessing_rejects_bad_input():
    with pytest.raises(ValueError, match="mode must be one of"):
        transfer.BackbonePreprocessing("imagenet")
    with pytest.raises(ValueError, match=r"images must have shape \(\.\.\., H, W, 3\)"):
        transfer.preprocess_input(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="size must be a positive integer"):
        transfer.center_crop_resize(np.zeros((4, 6, 3)), size=0)


def test_center_crop_resize_keeps_the_middle():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    image[:, 10:50] = 200  # the central 40x40 square
    out = transfer.center_crop_resize(image, 20)
    assert out.shape == (20, 20, 3)
    np.testing.assert_allclose(out, 200.0, atol=1e-3)


# --------------------------------------------------------------------------- freezing, heads


@pytest.fixture(scope="module")
def small_backbone(prepared_dir):
    return transfer.load_backbone(input_shape=(64, 64, 3), data_dir=prepared_dir)


def test_block_names_follow_the_architecture(small_backbone):
    names = transfer.block_names(small_backbone)
    expected = efficientnet_lite.block_names()
    assert names == expected, f"expected {expected}, got {names}"
    assert len(names) == 18 and names[1] == "block1a" and names[-2] == "block7a"


def test_freeze_by_block(small_backbone):
    assert transfer.freeze(small_backbone) == 0
    assert not small_backbone.trainable_weights
    count = transfer.freeze(small_backbone, unfreeze_from="block6a")
    trainable = {w.path.split("/")[0] for w in small_backbone.trainable_weights}
    expected = {layer.name for layer in small_backbone.layers if layer.weights
                and not isinstance(layer, keras.layers.BatchNormalization)
                and (layer.name.startswith(("block6", "block7", "top")))}
    assert trainable == expected, f"unexpected trainable layers: {sorted(trainable ^ expected)}"
    assert count == len(expected), f"expected {len(expected)} trainable tensors, got {count}"
    with_bn = transfer.freeze(small_backbone, unfreeze_from="top", train_batchnorm=True)
    assert with_bn == 3, f"top_conv kernel + top_bn gamma/beta expected, got {with_bn}"
    with pytest.raises(ValueError, match=r"unfreeze_from must be one of .*Received: unfreeze_from='block9a'"):
        transfer.freeze(small_backbone, unfreeze_from="block9a")
    transfer.freeze(small_backbone)


def test_keras_applications_backbones_go_through_the_same_functions():
    # weights=None: the architecture only, no download (tests never reach the network).
    backbone = transfer.load_backbone("mobilenet_v2", input_shape=(64, 64, 3), weights=None)
    assert backbone.output.shape[1:] == (2, 2, 1280), f"got {backbone.output.shape}"
    names = transfer.block_names(backbone)
    assert "block_16" in names and names.index("block_1") < names.index("block_16"), names
    count = transfer.freeze(backbone, unfreeze_from="block_16")
    trainable = {w.path.split("/")[0] for w in backbone.trainable_weights}
    assert trainable == {"block_16_expand", "block_16_depthwise", "block_16_project", "Conv_1"}, trainable
    assert count == 4
    model = transfer.build_classifier(backbone, 5, preprocessing="mobilenet_v2")
    x = np.random.default_rng(4).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    probabilities = np.asarray(model(x))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_build_classifier_rejects_bad_arguments(small_backbone, imagenet_model):
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        transfer.build_classifier(small_backbone, 1)
    with pytest.raises(ValueError, match="include_top=False"):
        transfer.build_classifier(imagenet_model, 10)
    with pytest.raises(TypeError, match="backbone must be a keras.Model"):
        transfer.build_classifier("efficientnet_lite0", 10)


@pytest.mark.slow
def test_fine_tuning_keeps_batchnorm_in_inference_mode(prepared_dir):
    keras.utils.set_random_seed(0)
    backbone = transfer.load_backbone(input_shape=(64, 64, 3), data_dir=prepared_dir)
    transfer.freeze(backbone, unfreeze_from="block7a")
    model = transfer.build_classifier(backbone, 3)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    watched = {name: backbone.get_layer(name) for name in
               ("stem_conv", "block7a_project_conv", "top_conv", "top_bn", "block7a_bn")}
    before = {name: [np.array(w) for w in layer.weights] for name, layer in watched.items()}
    x = np.random.default_rng(3).uniform(0, 255, (16, 64, 64, 3)).astype(np.float32)
    model.fit(x, np.arange(16) % 3, batch_size=8, epochs=1, verbose=0)
    after = {name: [np.array(w) for w in layer.weights] for name, layer in watched.items()}
    for name in ("stem_conv", "top_bn", "block7a_bn"):  # frozen, BN statistics included
        for b, a in zip(before[name], after[name]):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} must not change")
    for name in ("block7a_project_conv", "top_conv"):
        assert not np.array_equal(before[name][0], after[name][0]), f"{name} must be fine-tuned"


@pytest.mark.slow
def test_frozen_imagenet_backbone_beats_cnn_from_scratch(prepared_dir):
    """1,000 Fashion-MNIST images at 96x96 RGB, same head, same optimizer and epochs."""
    import tensorflow as tf

    from cnnlib.data import load_fashion_mnist

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    size, epochs = 96, 8

    def to_rgb(images):
        x = tf.image.resize(images[..., None].astype(np.float32), (size, size)).numpy()
        return np.repeat(x, 3, axis=-1)

    x_train, y_train = to_rgb(x_train[:1000]), y_train[:1000].astype(np.int64)
    x_test, y_test = to_rgb(x_test[:1000]), y_test[:1000].astype(np.int64)

    def fit_and_evaluate(model):
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
        return model.evaluate(x_test, y_test, verbose=0)[1]

    keras.utils.set_random_seed(0)
    backbone = transfer.load_backbone(input_shape=(size, size, 3), data_dir=prepared_dir)
    transfer.freeze(backbone)
    transferred = transfer.build_classifier(backbone, 10)
    head_params = sum(int(np.prod(w.shape)) for w in transferred.trainable_weights)
    transfer_accuracy = fit_and_evaluate(transferred)

    keras.utils.set_random_seed(0)
    layers = keras.layers
    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    scratch = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    scratch_params = scratch.count_params()
    scratch_accuracy = fit_and_evaluate(scratch)

    print(f"\ntransfer (frozen EfficientNet-Lite0 + head, {head_params} trainable): "
          f"{transfer_accuracy:.3f}; from scratch ({scratch_params} trainable): {scratch_accuracy:.3f}")
    assert scratch_params >= head_params, "the from-scratch CNN must not have fewer trainable weights"
    assert transfer_accuracy >= 0.70, f"expected transfer accuracy >= 0.70, got {transfer_accuracy:.3f}"
    assert transfer_accuracy > scratch_accuracy + 0.05, (
        f"expected transfer ({transfer_accuracy:.3f}) to beat from scratch "
        f"({scratch_accuracy:.3f}) by more than 0.05")
