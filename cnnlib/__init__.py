"""cnnlib: the library of the course "Redes Convolucionais para classificação de imagens".

``import cnnlib`` is cheap: it imports neither TensorFlow nor Keras, so the NumPy-only
modules (``cnnlib.reference``, ``cnnlib.gradcheck``, ``cnnlib.geometry``,
``cnnlib.validation``, ``cnnlib.data``) and ``cnnlib validate`` run without them.

A saved model still loads with ``keras.models.load_model(path)`` after ``import cnnlib``:
cnnlib's Keras layers and blocks are registered for ``.keras`` loading as soon as Keras is
imported (at once if it already was, else right after ``import keras`` completes, through
an import hook). Other modules (``cnnlib.data``, ``cnnlib.gan``, ...) are imported on
first use, as attributes.
"""

import importlib
import sys

from cnnlib.tf_quiet import install_once

__version__ = "0.1.0"

_SUBMODULES = (
    "augment", "blocks", "data", "gan", "geometry", "gradcheck", "layers", "metrics", "models",
    "reference", "tfds_datasets", "transfer", "validation", "viz",
)

# The modules whose import registers cnnlib's serializable Keras objects.
_REGISTERING = ("cnnlib.layers", "cnnlib.blocks")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"cnnlib.{name}")
    raise AttributeError(f"module 'cnnlib' has no attribute {name!r}")


def _register_keras_objects():
    """Import the registering modules not already imported (or being imported)."""
    for module in _REGISTERING:
        if module not in sys.modules:
            importlib.import_module(module)


def _after_keras_import(run):
    """Executes ``keras`` (``run``), then registers cnnlib's Keras objects."""
    run()
    _register_keras_objects()


if "keras" in sys.modules:
    _register_keras_objects()
else:
    install_once("keras", _after_keras_import, "cnnlib.register")
