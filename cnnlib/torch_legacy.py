"""Read a legacy (non-zip, PyTorch < 1.6) ``torch.save`` file into NumPy, without torch.

The legacy format written by ``torch.save(..., _use_new_zipfile_serialization=False)`` is a
sequence of pickles followed by raw storages::

    pickle(MAGIC_NUMBER)            # 0x1950a86a20f9469cfc6c
    pickle(PROTOCOL_VERSION)        # 1001
    pickle(sys_info)                # {'little_endian': True, 'type_sizes': {...}, ...}
    pickle(obj)                     # tensors reference storages by persistent id:
                                    #   ('storage', torch.FloatStorage, key, 'cpu', numel, None)
    pickle(storage_keys)            # the keys, in the order their bytes follow
    for each key: int64 numel, then numel * element_size raw little-endian bytes

A tensor inside ``obj`` is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, backward_hooks)``. This module resolves only that handful of globals (a
restricted unpickler: any other global in the file is refused, so reading a file never runs
its code) and returns each tensor as a NumPy array.

Example:
    >>> state = load_legacy_state_dict("efficientnet-lite0-57934424.pth")   # doctest: +SKIP
    >>> state["_conv_stem.weight"].shape                                      # doctest: +SKIP
    (32, 3, 3, 3)
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# torch storage class name -> NumPy dtype (little-endian).
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class _StorageType:
    """Stands for ``torch.<Name>Storage`` while unpickling: carries the dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """A storage announced by the pickle; its bytes are read after the pickle ends."""

    def __init__(self, key: str, dtype: np.dtype, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data: np.ndarray | None = None


class _PendingTensor:
    """Arguments of ``_rebuild_tensor_v2``, materialized once the storages are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, int(offset)
        self.size, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)

    def to_numpy(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise ValueError(f"storage {self.storage.key!r} has no data in the file")
        itemsize = data.dtype.itemsize
        extent = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) + 1
        if any(n == 0 for n in self.size):
            return np.zeros(self.size, dtype=data.dtype)
        if self.offset < 0 or any(s < 0 for s in self.stride) or extent > data.size:
            raise ValueError(
                "tensor view must lie inside its storage. Received: "
                f"offset={self.offset}, size={self.size}, stride={self.stride}, "
                f"storage numel={data.size}"
            )
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.array(view)  # own, contiguous copy


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _PendingTensor(storage, storage_offset, size, stride)


class _LegacyUnpickler(pickle.Unpickler):
    """Resolves only OrderedDict, torch storages and ``_rebuild_tensor_v2``."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            "only OrderedDict, torch storages and torch._utils._rebuild_tensor_v2 may appear "
            f"in a state dict file. Received: global {module}.{name}"
        )

    def persistent_load(self, saved_id):
        if not (isinstance(saved_id, tuple) and saved_id and saved_id[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(
                f"persistent ids must be ('storage', ...) tuples. Received: {saved_id!r}"
            )
        storage_type, key, _location, numel, view_metadata = saved_id[1:]
        if view_metadata is not None:
            raise pickle.UnpicklingError(
                f"storage views are not supported. Received: view_metadata={view_metadata!r}"
            )
        if key not in self._storages:
            self._storages[key] = _Storage(key, storage_type.dtype, int(numel))
        return self._storages[key]


def _materialize(obj):
    if isinstance(obj, _PendingTensor):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def load_legacy(path) -> object:
    """Load a legacy ``torch.save`` file; every tensor becomes a NumPy array.

    Args:
        path: a file written in the legacy (non-zip) format.

    Returns:
        The saved object (typically an ``OrderedDict[str, np.ndarray]``).

    Raises:
        ValueError: the file is not in the legacy format, or is truncated/corrupt.
        pickle.UnpicklingError: the file references a global other than a tensor's.
    """
    path = Path(path)
    storages: dict[str, _Storage] = {}
    with open(path, "rb") as f:
        head = f.read(4)
        if head[:2] == b"PK":
            raise ValueError(
                "path must be a legacy (non-zip) torch file; this is a zip archive "
                f"(torch >= 1.6 format). Received: path={str(path)!r}"
            )
        f.seek(0)
        try:
            magic = pickle.load(f)
            version = pickle.load(f)
            sys_info = pickle.load(f)
        except Exception as err:  # not a pickle stream at all
            raise ValueError(
                f"path must be a legacy torch file starting with its magic number. "
                f"Received: path={str(path)!r} ({err})"
            ) from err
        if magic != MAGIC_NUMBER or version != PROTOCOL_VERSION:
            raise ValueError(
                f"path must be a legacy torch file (magic {MAGIC_NUMBER:#x}, protocol "
                f"{PROTOCOL_VERSION}). Received: magic={magic!r}, protocol={version!r}"
            )
        if not (isinstance(sys_info, dict) and sys_info.get("little_endian", False)):
            raise ValueError(f"only little-endian files are supported. Received: sys_info={sys_info!r}")
        obj = _LegacyUnpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            if key not in storages:
                raise ValueError(f"storage {key!r} is listed but no tensor uses it")
            storage = storages[key]
            raw = f.read(8)
            if len(raw) != 8:
                raise ValueError(f"file is truncated before storage {key!r}: {path}")
            (numel,) = struct.unpack("<q", raw)
            if numel != storage.numel:
                raise ValueError(
                    f"storage {key!r} must hold {storage.numel} elements as the pickle "
                    f"says. Received: {numel} in the file"
                )
            nbytes = numel * storage.dtype.itemsize
            buf = f.read(nbytes)
            if len(buf) != nbytes:
                raise ValueError(
                    f"file is truncated inside storage {key!r}: expected {nbytes} bytes, "
                    f"got {len(buf)}"
                )
            storage.data = np.frombuffer(buf, dtype=storage.dtype)
        trailing = f.read(1)
        if trailing:
            raise ValueError(f"unexpected bytes after the last storage in {path}")
    return _materialize(obj)


def load_legacy_state_dict(path) -> "collections.OrderedDict[str, np.ndarray]":
    """Load a legacy PyTorch ``state_dict`` file as ``{name: np.ndarray}``, in file order.

    Raises:
        TypeError: the file holds something other than a dict of tensors.
    """
    obj = load_legacy(path)
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise TypeError(
            f"path must hold a state dict (a dict of tensors). Received: {type(obj).__name__}"
        )
    return obj
