"""count_flops / summary_table on models nested in models built on unknown sizes (issue 15)."""

import keras
import pytest

from cnnlib.models import count_flops, layer_flops, summary_table


def _nested():
    """A backbone on (None, None, 3) called inside a model on (32, 32, 3)."""
    inner_in = keras.Input((None, None, 3))
    y = keras.layers.Conv2D(8, 3, padding="same")(inner_in)
    y = keras.layers.Conv2D(4, 1, strides=2)(y)
    backbone = keras.Model(inner_in, y, name="backbone")
    x_in = keras.Input((32, 32, 3))
    z = keras.layers.GlobalAveragePooling2D()(backbone(x_in))
    return keras.Model(x_in, keras.layers.Dense(10)(z)), backbone


EXPECTED = 32 * 32 * 3 * 3 * 3 * 8 + 16 * 16 * 8 * 4 + 4 * 10


def test_count_flops_of_a_backbone_nested_on_unknown_sizes():
    model, backbone = _nested()
    got = count_flops(model)
    assert got == EXPECTED, f"multiplicações-somas: esperado {EXPECTED:,}, veio {got:,}"
    sequential = keras.Sequential([keras.Input((32, 32, 3)), backbone,
                                   keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    assert count_flops(sequential) == EXPECTED, (
        f"Sequential: esperado {EXPECTED:,}, veio {count_flops(sequential):,}")
    table = summary_table(model)
    assert table.total_flops == EXPECTED, f"tabela: esperado {EXPECTED:,}, veio {table.total_flops:,}"


def test_unknown_size_alone_is_a_clear_error():
    inputs = keras.Input((None, None, 3))
    alone = keras.Model(inputs, keras.layers.Conv2D(8, 3)(inputs))
    with pytest.raises(ValueError, match=r"input size of layer 'conv2d.*' is unknown"):
        count_flops(alone)
    _, backbone = _nested()
    assert count_flops(backbone) == EXPECTED - 40, "o backbone conta no tamanho em que foi chamado (32x32)"
    at_64 = layer_flops(backbone, (1, 64, 64, 3))
    assert at_64 == 4 * (EXPECTED - 40), f"em 64x64: esperado {4 * (EXPECTED - 40):,}, veio {at_64:,}"
