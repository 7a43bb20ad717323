"""Drop TensorFlow's start-up INFO lines (oneDNN, CPU features) from ``import tensorflow``.

TensorFlow 2.21 writes, while it is imported and before absl's logging is initialised::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:... port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:... cpu_feature_guard.cc:227] This TensorFlow binary is optimized ...
    To enable the following instructions: AVX2 ..., in other operations, rebuild ...

straight to file descriptor 2, so neither ``TF_CPP_MIN_LOG_LEVEL`` (read later, by TF's
own log sink) nor ``GLOG_minloglevel`` (absl reads no environment) nor Python's ``absl``
logging hides them; ``TF_ENABLE_ONEDNN_OPTS=1`` still prints them, and ``=0`` would change
the numerics. They end up in the demo's output and in executed notebooks (ipykernel
forwards file descriptor 2 into the cell output).

The import hook is :class:`OneShotImportHook`, shared with ``cnnlib/__init__.py`` (which
registers the Keras layers right after ``import keras``). It lives here because this file
must stay self-contained: the ``.pth`` executes it without importing cnnlib.

:func:`install` puts an import hook that, only while ``tensorflow`` itself is executing its
import, sends file descriptor 2 to a temporary file, then writes back everything except
those lines (:data:`NOISE`). Warnings and errors (``W``/``E``/``F`` lines, Python
tracebacks) pass through unchanged. The project's virtual environment runs it at start-up
through a ``.pth`` file the Makefile writes (``make venv``); set
``CNNLIB_TF_STARTUP_LOGS=1`` to see the lines again. The text is written back when the
import ends (a file, not a pipe: no thread, no risk of a full pipe blocking the import), so
if ``import tensorflow`` kills the process outright, its last words are lost: rerun with
``CNNLIB_TF_STARTUP_LOGS=1`` to read them.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys

SHOW_ENV = "CNNLIB_TF_STARTUP_LOGS"
_TAG = "cnnlib.tf_quiet"

#: The start-up lines dropped (INFO from port.cc / cpu_feature_guard.cc and their companions).
NOISE = (
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"),
    re.compile(r"^I\d{4} [\d:. ]+\s+\d+ (port|cpu_feature_guard)\.cc:\d+\] "),
    re.compile(r"^To enable the following instructions: .* rebuild TensorFlow with the "
               r"appropriate compiler flags\.$"),
)


def filter_startup_lines(text: str) -> str:
    """``text`` without the lines matching :data:`NOISE` (other lines kept, in order)."""
    kept = [line for line in text.splitlines(keepends=True)
            if not any(pattern.match(line.rstrip("\r\n")) for pattern in NOISE)]
    return "".join(kept)


class _WrappedLoader(importlib.abc.Loader):
    """Runs ``loader.exec_module`` through ``around``; then the module's loader is ``loader``
    again (as if never wrapped)."""

    def __init__(self, loader, around):
        self._loader, self._around = loader, around

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        try:
            self._around(lambda: self._loader.exec_module(module))
        finally:
            module.__loader__ = module.__spec__.loader = self._loader

    def __getattr__(self, name):
        return getattr(self._loader, name)


class OneShotImportHook(importlib.abc.MetaPathFinder):
    """Wraps the first import of module ``name``: its execution runs as ``around(run)``.

    ``around`` receives a no-argument ``run`` that executes the module and must call it
    (to run code around it, e.g. :func:`_quietly`, or after it, as ``cnnlib/__init__.py``
    registering the Keras layers). The hook removes itself on first use. ``tag`` names the
    purpose, so that :func:`install_once` sees a hook installed by another copy of this
    file (the ``.pth`` executes it outside the package: another class object).
    """

    def __init__(self, name, around, tag):
        self.name, self.around, self.hook_tag = name, around, tag

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once; also keeps the search below from finding us
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _WrappedLoader(spec.loader, self.around)
        return spec


def install_once(name, around, tag):
    """Put a :class:`OneShotImportHook` first on ``sys.meta_path`` unless one tagged ``tag`` is there.

    Returns:
        Whether a hook was added.
    """
    if any(getattr(f, "hook_tag", None) == tag for f in sys.meta_path):
        return False
    sys.meta_path.insert(0, OneShotImportHook(name, around, tag))
    return True


def _quietly(run):
    """Runs ``run()`` with file descriptor 2 filtered (:class:`_filtered_stderr_fd`)."""
    with _filtered_stderr_fd():
        run()


class _filtered_stderr_fd:
    """Context: fd 2 goes to a temporary file; on exit, the filtered text goes to fd 2."""

    def __enter__(self):
        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            self._saved = None  # no usable fd 2: nothing to filter
            return self
        import tempfile  # here: this file runs at every start-up of the venv's Python

        self._file = tempfile.TemporaryFile()
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        if self._saved is None:
            return False
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        text = filter_startup_lines(self._file.read().decode("utf-8", "replace"))
        self._file.close()
        if text:
            os.write(2, text.encode("utf-8"))
        return False


def install() -> bool:
    """Install the hook unless TensorFlow is already imported or ``$CNNLIB_TF_STARTUP_LOGS=1``.

    Returns:
        Whether the hook is now installed.
    """
    if os.environ.get(SHOW_ENV) == "1" or "tensorflow" in sys.modules:
        return False
    # By tag: the .pth runs this file outside the package (and twice where lib64 -> lib).
    install_once("tensorflow", _quietly, _TAG)
    return True


PTH_NAME = "cnnlib_tf_quiet.pth"
_PTH_MODULE_NAME = "cnnlib_tf_quiet_pth"


def pth_line(source: str | None = None) -> str:
    """The line of the ``.pth`` file: runs this file at start-up, without importing cnnlib."""
    source = os.path.abspath(source or __file__)
    return (f"import os; os.environ.get({SHOW_ENV!r}) == '1' or os.path.exists({source!r}) and "
            f"exec(compile(open({source!r}).read(), {source!r}, 'exec'), "
            f"{{'__name__': {_PTH_MODULE_NAME!r}}})\n")


def write_pth(site_packages: str | None = None) -> str:
    """Write :data:`PTH_NAME` into ``site_packages`` (default: this interpreter's purelib).

    Returns:
        The path written.
    """
    import sysconfig

    target = os.path.join(site_packages or sysconfig.get_paths()["purelib"], PTH_NAME)
    with open(target, "w") as f:
        f.write(pth_line())
    return target


if __name__ == _PTH_MODULE_NAME:  # run by the .pth line at interpreter start-up
    install()
