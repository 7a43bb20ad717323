"""Keras' own 2-D layer tests, run against cnnlib's layers (issue 16).

The test modules shipped inside the installed ``keras`` wheel are loaded at test time
(nothing is copied into this repository) with ``keras.src.layers``' 2-D classes replaced
by cnnlib's, so every Keras upgrade re-checks the contract: same outputs as Keras' NumPy
references, same weights, same errors, serialization, ``fit``, LoRA, ``.keras`` saving.

Selection: every test of the five modules whose subject is a 2-D layer (named ``*2d*``),
plus the module-level tests that exercise ``Conv2D`` / ``DepthwiseConv2D`` only (listed in
``_MIXED``). Their count is pinned (54), so a Keras upgrade that adds or drops 2-D tests
shows up here instead of passing silently.
"""

import importlib.util
import pathlib
import re
import sys
import types
import unittest

import keras
import keras.src
import keras.src.layers
import pytest
from _pytest.mark import MarkGenerator

import cnnlib.layers

# cnnlib's classes that stand in for Keras' in the loaded test modules.
_SWAP = {
    "Conv2D": cnnlib.layers.Conv2D,
    "Convolution2D": cnnlib.layers.Conv2D,
    "DepthwiseConv2D": cnnlib.layers.DepthwiseConv2D,
    "MaxPooling2D": cnnlib.layers.MaxPooling2D,
    "MaxPool2D": cnnlib.layers.MaxPool2D,
    "AveragePooling2D": cnnlib.layers.AveragePooling2D,
    "AvgPool2D": cnnlib.layers.AvgPool2D,
    "GlobalAveragePooling2D": cnnlib.layers.GlobalAveragePooling2D,
    "GlobalAvgPool2D": cnnlib.layers.GlobalAveragePooling2D,
}

_MODULES = [
    "convolutional/conv_test.py",
    "convolutional/depthwise_conv_test.py",
    "pooling/max_pooling_test.py",
    "pooling/average_pooling_test.py",
    "pooling/global_average_pooling_test.py",
]

# Tests without "2d" in their name whose layer under test is a 2-D one.
_MIXED = {
    "conv_test.py": {
        "test_bad_init_args", "test_conv_symbolic_invalid_configuration1",
        "test_enable_lora_with_alpha", "test_lora_rank_argument", "test_lora_weight_name",
        "test_conv_constraints", "test_conv_raises_exception_on_zero_dims",
    },
    "depthwise_conv_test.py": {"test_bad_init_args", "test_invalid_output_shape_raises"},
}

EXPECTED_COUNT = 54


def _layers_with_cnnlib():
    """A module that answers like ``keras.src.layers`` except for the swapped classes."""
    original = keras.src.layers
    proxy = types.ModuleType("keras_src_layers_with_cnnlib")
    proxy.__dict__.update(_SWAP)
    proxy.__getattr__ = lambda name: getattr(original, name)
    return proxy


def _load(relative):
    """Import one of Keras' test modules with ``from keras.src import layers`` -> proxy."""
    path = pathlib.Path(keras.src.layers.__file__).parent / relative
    name = "cnnlib_peer_" + relative.replace("/", "_")[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    original, original_mark = keras.src.layers, pytest.mark
    keras.src.layers = _layers_with_cnnlib()    # read by ``from keras.src import layers``
    # Keras' own conftest registers marks such as ``requires_trainable_backend`` (a no-op
    # on TensorFlow); an unconfigured MarkGenerator accepts them under --strict-markers.
    pytest.mark = MarkGenerator(_ispytest=True)
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        keras.src.layers, pytest.mark = original, original_mark
    return module


def _is_2d(filename, test_name):
    return "2d" in test_name or test_name in _MIXED.get(filename, ())


def _collect():
    cases = []
    for relative in _MODULES:
        module = _load(relative)
        filename = relative.rsplit("/", 1)[1]
        for attr in sorted(vars(module)):
            cls = getattr(module, attr)
            if not (isinstance(cls, type) and issubclass(cls, unittest.TestCase)
                    and cls.__module__ == module.__name__):
                continue
            for test_name in unittest.TestLoader().getTestCaseNames(cls):
                if _is_2d(filename, test_name):
                    cases.append(pytest.param(cls, test_name,
                                              id=f"{filename[:-3]}::{attr}::{test_name}"))
    return cases


CASES = _collect()


def test_the_selection_is_keras_54_2d_tests():
    ids = [c.id for c in CASES]
    assert len(ids) == EXPECTED_COUNT, (
        f"esperados {EXPECTED_COUNT} testes 2-D do Keras, vieram {len(ids)}: {ids}")
    assert len(set(ids)) == len(ids), f"testes repetidos na seleção: {ids}"


def test_the_loaded_modules_use_cnnlib_classes():
    module = sys.modules["cnnlib_peer_convolutional_conv_test"]
    assert module.layers.Conv2D is cnnlib.layers.Conv2D, (
        f"esperado cnnlib.layers.Conv2D no módulo do Keras, veio {module.layers.Conv2D}")
    assert module.layers.Conv1D is keras.layers.Conv1D, (
        f"esperado o Conv1D do próprio Keras, veio {module.layers.Conv1D}")


@pytest.mark.slow
@pytest.mark.parametrize("cls, test_name", CASES)
def test_keras_2d_layer_test_passes_with_cnnlib(cls, test_name):
    result = unittest.TestResult()
    cls(test_name).run(result)
    problems = [f"{kind}:\n{trace}" for kind, items in
                (("ERRO", result.errors), ("FALHA", result.failures))
                for _, trace in items]
    problems += [f"PULADO: {why}" for _, why in result.skipped]
    assert result.testsRun == 1 and not problems, (
        f"esperado: o teste {cls.__name__}.{test_name} do Keras passa com as camadas do "
        f"cnnlib; veio:\n" + "\n".join(re.sub(r"\n\s*\n", "\n", p) for p in problems))
