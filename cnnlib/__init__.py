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
import importlib.abc
import importlib.util
import sys

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


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Runs :func:`_register_keras_objects` once, right after ``import keras`` completes."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)  # once; also keeps the search below from finding us
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader

        class _Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                module.__loader__ = module.__spec__.loader = loader  # as if never wrapped
                _register_keras_objects()

            def __getattr__(self, name):
                return getattr(loader, name)

        spec.loader = _Loader()
        return spec


if "keras" in sys.modules:
    _register_keras_objects()
elif not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _AfterKerasImport())
