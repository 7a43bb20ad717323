"""Per-layer tables (output shape, parameters, FLOPs) like the lecture's LeNet and AlexNet.

FLOPs here are what the lecture and the papers' tables count: multiply-adds of the
convolutions and fully connected layers (one multiply-add = one "FLOP"), biases,
normalization, activations and pooling left out. A convolution costs
``kernel.size * H_out * W_out`` (``kernel.size = kh * kw * C_in / groups * C_out``), a
dense layer ``kernel.size`` per position. With this count ResNet-50 costs 3.9 G, the
"3.8x10^9 FLOPs" of the ResNet paper.
"""

import math
from dataclasses import dataclass

import keras

__all__ = ["Row", "SummaryTable", "summary_table", "count_flops", "count_weights",
           "layer_flops"]


@dataclass(frozen=True)
class Row:
    """One layer of a :class:`SummaryTable`.

    Attributes:
        layer: layer name. kind: class name.
        input_shape, output_shape: shapes without the batch axis.
        params: all parameters (``layer.count_params()``, BN moving statistics included).
        weights: kernel entries only (no biases, no normalization parameters).
        flops: multiply-adds for one image.
    """

    layer: str
    kind: str
    input_shape: tuple
    output_shape: tuple
    params: int
    weights: int
    flops: int


def _fmt_shape(shape):
    if shape and isinstance(shape[0], (tuple, list)):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "×".join("?" if d is None else str(d) for d in shape) if shape else "-"


def _human(n):
    """35K, 101M, 1.8G: the lecture's AlexNet-table style."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return str(n)


@dataclass(frozen=True)
class SummaryTable:
    """Rows of :func:`summary_table` with totals; ``str(table)`` renders it as text.

    Attributes:
        name: model name. rows: list of :class:`Row`.
        total_params, trainable_params, total_weights, total_flops: sums over the model.
    """

    name: str
    rows: tuple
    total_params: int
    trainable_params: int
    total_weights: int
    total_flops: int

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, key):
        if isinstance(key, str):
            for row in self.rows:
                if row.layer == key:
                    return row
            raise KeyError(f"No layer named {key!r} in the table of {self.name!r}.")
        return self.rows[key]

    def render(self, human=False):
        """Text table: Layer | Input | Output | Params | FLOPs, then the totals.

        Args:
            human: numbers as 35K / 101M / 1.8G (the AlexNet table) instead of 61,706.
        """
        num = _human if human else (lambda n: f"{n:,}")
        header = ("Layer", "Input", "Output", "Params", "FLOPs")
        body = [(f"{r.layer} ({r.kind})", _fmt_shape(r.input_shape),
                 _fmt_shape(r.output_shape), num(r.params) if r.params else "-",
                 num(r.flops) if r.flops else "-") for r in self.rows]
        widths = [max(len(line[i]) for line in [header] + body) for i in range(5)]

        def fmt(line):
            return "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(line, widths)))

        lines = [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(b) for b in body]
        lines.append(f"Parameters: {self.total_params:,} (trainable {self.trainable_params:,}"
                     f", weights without biases {self.total_weights:,})")
        if self.rows and self.total_params:
            top = max(self.rows, key=lambda r: r.params)
            lines.append(f" {top.layer}: {top.params:,} "
                         f"({100 * top.params / self.total_params:.0f}%)")
        lines.append(f"FLOPs (multiply-adds): {_human(self.total_flops)} "
                     f"({self.total_flops:,})")
        return "\n".join(lines)

    def __str__(self):
        return self.render()


def _build_input_shape(layer):
    shapes = getattr(layer, "_build_shapes_dict", None)
    if shapes:
        shape = next(iter(shapes.values()))
        if shape is not None:
            return shape
    try:
        return tuple(layer.input.shape)
    except (AttributeError, ValueError):
        return None


def _known(shape):
    """Whether every axis of ``shape`` but the batch is known."""
    return shape is not None and None not in tuple(shape)[1:]


def _called_input_shape(layer):
    """The input shape of ``layer``'s call with the most known axes (a model built on
    ``(None, None, 3)`` and called inside another on ``(32, 32, 3)`` gives the latter)."""
    shapes = []
    for node in getattr(layer, "_inbound_nodes", []):
        tensors = getattr(node, "input_tensors", None) or []
        if len(tensors) == 1:
            shapes.append(tuple(tensors[0].shape))
    return max(shapes, key=lambda s: sum(d is not None for d in s), default=None)


def _graph(layer):
    """The functional graph of a functional model or a built Sequential, else None."""
    from keras.src.models.functional import Functional

    if isinstance(layer, Functional):
        return layer
    graph = getattr(layer, "_functional", None)
    return graph if isinstance(graph, Functional) else None


def _graph_flops(graph, input_shape):
    """FLOPs of a functional graph run on ``input_shape``: every operation is counted with
    the shape it receives there (so models nested on unknown sizes get the real ones)."""
    total = 0

    def operation_fn(operation):
        def call(*args, **kwargs):
            nonlocal total
            shapes = [tuple(a.shape) for a in args if hasattr(a, "shape")]
            total += layer_flops(operation, shapes[0] if len(shapes) == 1 else shapes)
            return operation.compute_output_spec(*args, **kwargs)
        return call

    graph._run_through_graph(keras.KerasTensor(tuple(input_shape)), operation_fn=operation_fn)
    return total


def _sublayers(layer):
    return [sub for sub in layer._flatten_layers(include_self=False, recursive=False)]


def _size(variable):
    return math.prod(variable.shape)


def layer_flops(layer, input_shape=None):
    """Multiply-adds of ``layer`` (and its sub-layers) for one input of ``input_shape``.

    Args:
        layer: a built Keras layer. input_shape: its input shape with the batch axis;
            by default the shape it was built with.

    Returns:
        int FLOPs (multiply-adds) for one sample.
    """
    if input_shape is None:
        input_shape = _build_input_shape(layer)
        if not isinstance(input_shape, (list, dict)) and not _known(input_shape):
            input_shape = _called_input_shape(layer) or input_shape
    graph = _graph(layer)
    if (graph is not None and len(graph.inputs) == 1 and input_shape is not None
            and not isinstance(input_shape, (list, dict))):
        return _graph_flops(graph, input_shape)
    subs = _sublayers(layer)
    if subs:
        return sum(layer_flops(sub) for sub in subs)
    if input_shape is None or not layer.weights:
        return 0
    if isinstance(input_shape, (list, dict)):
        return 0
    if not _known(input_shape):
        raise ValueError(f"layer_flops: the input size of layer {layer.name!r} is unknown "
                         f"(input shape {tuple(input_shape)}); give a model built on a fixed "
                         "input size, or pass input_shape.")
    output_shape = layer.compute_output_shape(tuple(input_shape))
    out_positions = math.prod(d for d in output_shape[1:-1])
    in_positions = math.prod(d for d in tuple(input_shape)[1:-1])
    total = 0
    if "Transpose" in type(layer).__name__ and hasattr(layer, "kernel"):
        return _size(layer.kernel) * in_positions
    for attr in ("kernel", "depthwise_kernel", "pointwise_kernel"):
        variable = getattr(layer, attr, None)
        if variable is not None and hasattr(variable, "shape"):
            total += _size(variable) * out_positions
    return int(total)


def count_weights(model):
    """Kernel entries of ``model`` (parameters that are not biases or normalization).

    LeNet-5 has 61,470 weights and 61,706 parameters (the lecture's table counts the
    former and calls it "Parameters").
    """
    return int(sum(_size(v) for v in model.weights if v.name.endswith("kernel")))


def count_flops(model):
    """Multiply-adds of one forward pass of one image (see the module docstring).

    Nested models count with the input size they are called on (a backbone built on
    ``(None, None, 3)`` inside a model on ``(32, 32, 3)`` counts at 32x32).

    Raises:
        ValueError: a layer's input size is unknown (a model on ``(None, None, 3)``).
    """
    if _graph(model) is not None and len(model.inputs) == 1:
        return int(layer_flops(model))
    return int(sum(layer_flops(layer) for layer in _sublayers(model)))


def _rows(layer, prefix, expand):
    subs = _sublayers(layer)
    if expand and subs:
        rows = []
        for sub in subs:
            rows += _rows(sub, f"{prefix}{layer.name}/", expand)
        return rows
    input_shape = _build_input_shape(layer)
    if isinstance(layer, keras.layers.InputLayer) or input_shape is None:
        return []
    try:
        output_shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        output_shape = layer.compute_output_shape(input_shape)
    if isinstance(input_shape, dict):
        input_shape = tuple(input_shape.values())
    if isinstance(input_shape, list):
        in_shape = tuple(tuple(s[1:]) for s in input_shape)
    else:
        in_shape = tuple(input_shape[1:])
    return [Row(layer=prefix + layer.name, kind=type(layer).__name__,
                input_shape=in_shape, output_shape=tuple(output_shape[1:]),
                params=int(layer.count_params()) if layer.built else 0,
                weights=count_weights(layer), flops=layer_flops(layer))]


def summary_table(model, expand_nested=False):
    """Per-layer table of a built model: output shape, parameters and FLOPs.

    Args:
        model: a built ``keras.Model`` (functional or Sequential with a known input).
        expand_nested: one row per sub-layer of blocks instead of one per block.

    Returns:
        :class:`SummaryTable`; iterate for :class:`Row` s, index by position or layer
        name, ``print(table)`` for the text rendering, ``table.render(human=True)`` for
        35K / 101M numbers like the lecture's AlexNet table.

    Raises:
        TypeError: ``model`` is not a Keras model. ValueError: it is not built.

    Example:
        >>> from cnnlib.models import lenet5
        >>> table = summary_table(lenet5())
        >>> table.total_params, table.total_weights
        (61706, 61470)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model. Received: model of type "
                        f"{type(model).__name__}")
    if not model.built:
        raise ValueError(f"model must be built (call it once or give it an Input). "
                         f"Received: unbuilt model {model.name!r}")
    rows = []
    for layer in _sublayers(model):
        rows += _rows(layer, "", expand_nested)
    trainable = int(sum(_size(v) for v in model.trainable_weights))
    return SummaryTable(name=model.name, rows=tuple(rows),
                        total_params=int(model.count_params()), trainable_params=trainable,
                        total_weights=count_weights(model), total_flops=count_flops(model))
