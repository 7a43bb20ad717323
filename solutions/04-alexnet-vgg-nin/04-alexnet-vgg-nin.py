# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — ImageNet, AlexNet, VGG e NiN
#
# Depois da LeNet (notebook 03), a aula passa às redes que venceram a ImageNet. Neste
# notebook:
#
# 1. **hardware e dados**: por que as CNNs "voltaram" em 2012 (ImageNet/ILSVRC);
# 2. **AlexNet**: ReLU no lugar de sigmoide/tanh (saturação), *dropout*, e o custo de cada
#    camada — parâmetros e multiplicações-somas — para refazer (e corrigir) a tabela
#    AlexNet × LeNet da aula;
# 3. **VGG**: blocos de convoluções $3 \times 3$, campo receptivo, $27C^2$ contra $49C^2$, e a
#    tabela de parâmetros 133/133/134/138/144 M calculada sem alocar 138 M de pesos;
# 4. **NiN**: a convolução $1 \times 1$ (uma camada densa aplicada em cada pixel), o bloco NiN
#    e o *global average pooling*; um experimento VGG × NiN no Fashion-MNIST.
#
# **Convenções.** Lotes no formato NHWC `(N, H, W, C)`: $N$ é sempre o tamanho do lote,
# $C_{in}$ e $C_{out}$ os canais de entrada e de saída, $K$ o tamanho do *kernel*, $S$ o
# *stride* e $P$ o *padding*. As partes "do zero" usam só NumPy: os testes ocultos reprovam
# chamadas a `tf.nn`, `keras.ops`, `keras.layers` ou à `cnnlib`. As partes em Keras são
# conferidas pelo que calculam (formas, número de parâmetros e saídas com os mesmos pesos
# dos blocos da `cnnlib`) e reprovam quem só chama o bloco pronto da `cnnlib`.
# Cada célula de teste mostra os pontos que vale; o total é **20 pontos**.

# %%
import os

import numpy as np
import tensorflow as tf
import keras
import matplotlib.pyplot as plt

np.set_printoptions(precision=4, suppress=True)
HEAVY = not os.environ.get("NBGRADER_EXECUTION")  # treinos só fora da correção automática
print("TensorFlow", tf.__version__, "| Keras", keras.__version__)

# %% [markdown]
# ## 1. Dados e hardware: da LeNet à ImageNet
#
# A LeNet foi treinada no MNIST (60.000 imagens $28 \times 28$, cinza, 10 classes) num
# computador com ~10 MB de RAM e ~10 MFLOPS. A tabela da aula mostra como dados e hardware
# cresceram por década:
#
# | | 1970 | 1980 | 1990 | 2000 | 2010 | 2020 |
# |---|---|---|---|---|---|---|
# | dados (exemplos) | $10^2$ (iris) | $10^3$ | $10^4$ (OCR) | $10^{7-8}$ (web) | $10^{10}$ (propaganda) | $10^{12}$ (redes sociais) |
# | RAM | 1 kB | 100 kB | 10 MB | 100 MB | 1 GB | 100 GB |
# | CPU | 100 kF (8080) | 1 MF (80186) | 10 MF (80486) | 1 GF (Intel Core) | 100 GF (NVIDIA) | > 1 PF (8×P3 Volta) |
#
# De 1970 a 2020 os dados cresceram $10^{10}$ vezes, a memória $10^8$ e a capacidade de
# cálculo $10^{10}$: foi esse salto (sobretudo as GPUs) que tornou treináveis redes com
# dezenas de milhões de parâmetros. O outro ingrediente foi a **ImageNet** e o seu desafio
# anual, o **ILSVRC** (*ImageNet Large Scale Visual Recognition Challenge*): imagens
# coloridas de objetos naturais, em média $469 \times 387$, **1,28 milhão** de imagens de
# treino (732 a 1.300 por classe), 50.000 de validação e 100.000 de teste, em **1.000
# classes** — contra 60 mil imagens $28 \times 28$ e 10 classes do MNIST. Em 2012 a
# **AlexNet** venceu o ILSVRC com folga e abriu a fila de arquiteturas deste notebook.
#
# ## 2. AlexNet: ReLU, *dropout*, e muito mais parâmetros
#
# As principais novidades da AlexNet, segundo a aula: **ReLU**, **dropout**, 8 camadas
# (5 convolucionais e 3 densas), múltiplas GPUs e aumento de dados (*data augmentation*,
# notebook 08). Comparada à LeNet: entrada maior e colorida, *kernels* maiores no início
# para reduzir a entrada depressa ($11 \times 11$ com *stride* 4), mais canais, *max pooling*
# em vez de média, e 1.000 classes na saída.
#
# ### ReLU contra sigmoide e tanh: saturação
#
# A sigmoide $\sigma(z) = 1/(1 + e^{-z})$ e a tanh **saturam**: para $|z|$ grande a curva fica
# plana e a derivada vai a zero. A derivada da sigmoide é $\sigma(z)(1 - \sigma(z)) \le 0{,}25$;
# na retropropagação o gradiente que atravessa $L$ camadas é multiplicado por $L$ dessas
# derivadas, então encolhe pelo menos $4^L$ vezes com sigmoides. A ReLU, $\max(0, z)$, tem
# derivada exatamente 1 para todo $z > 0$: não satura do lado positivo e é barata de calcular.

# %%
z = np.linspace(-6, 6, 601)
sigmoid = 1 / (1 + np.exp(-z))
activations = {
    "sigmoide": (sigmoid, sigmoid * (1 - sigmoid)),
    "tanh": (np.tanh(z), 1 - np.tanh(z) ** 2),
    "ReLU": (np.maximum(z, 0), (z > 0).astype(float)),
}
fig, axes = plt.subplots(1, 3, figsize=(12, 3))
for name, (f, df) in activations.items():
    axes[0].plot(z, f, label=name)
    axes[1].plot(z, df, label=name)
axes[0].set_title("ativação f(z)")
axes[1].set_title("derivada f'(z)")
axes[0].set_ylim(-1.5, 3)
depth = np.arange(1, 11)
axes[2].semilogy(depth, 0.25 ** depth, "o-", label="sigmoide (máx. 0,25 por camada)")
axes[2].semilogy(depth, np.ones_like(depth, dtype=float), "s-", label="ReLU (z > 0)")
axes[2].set_title("fator do gradiente após L camadas")
axes[2].set_xlabel("L")
for ax in axes:
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# Leitura: as derivadas da sigmoide e da tanh somem fora de $[-3, 3]$, e com 10 sigmoides o
# gradiente encolhe pelo menos $4^{10} \approx 10^6$ vezes; a ReLU passa o gradiente intacto
# sempre que a unidade está ativa.
#
# ### *Dropout*
#
# Durante o treino, o *dropout* zera cada ativação **independentemente, com probabilidade
# `rate`**, a cada passo: a rede não pode depender de nenhuma unidade isolada, o que reduz o
# *overfitting* das grandes camadas densas da AlexNet (ela usa `rate = 0.5` nas duas
# primeiras). Na versão "invertida" (a do Keras e do PyTorch), as ativações que **sobrevivem
# são divididas por $1 - \text{rate}$**, para que a média de cada ativação seja a mesma no
# treino e na inferência; assim, **na inferência** (`training=False`) a camada devolve a
# entrada sem mudança.
#
# Exemplo à mão: `x = [2, 4, 6, 8]`, `rate = 0.5` e a máscara de sobreviventes
# `[1, 0, 0, 1]` dão `[2, 0, 0, 8] / 0,5 = [4, 0, 0, 16]`; a média esperada de cada posição
# continua sendo o próprio $x$ ($0{,}5 \cdot 2x + 0{,}5 \cdot 0 = x$).
#
# ### Exercício 1 (2,5 pontos): `dropout`
#
# Implemente o *dropout* invertido em NumPy, sorteando com o gerador `rng` recebido
# (`rng.random(shape)` dá números uniformes em $[0, 1)$). Regras:
#
# * com `training=True`, cada elemento vira 0 com probabilidade `rate` e os demais são
#   divididos por `1 - rate`; com `training=False`, a saída é igual à entrada;
# * `rate` deve estar em $[0, 1)$: qualquer outro valor levanta `ValueError`;
# * a saída tem a forma da entrada, é de ponto flutuante (uma entrada inteira vira float),
#   e a entrada **não é modificada**.

# %% nbgrader={"grade": false, "grade_id": "dropout", "solution": true}
def dropout(x, rate, training=True, rng=None):
    """Inverted dropout.

    Args:
        x: array of any shape (int or float).
        rate: probability of zeroing each element, in [0, 1).
        training: drop and rescale when True; identity when False.
        rng: a numpy.random.Generator (np.random.default_rng() when None).

    Returns:
        float array shaped like x: x * mask / (1 - rate), mask ~ Bernoulli(1 - rate),
        in training; x (as float) at inference.

    Raises:
        ValueError: rate outside [0, 1).
    """
    ### BEGIN SOLUTION
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1). Received: rate={rate!r}")
    x = np.asarray(x)
    x = x.astype(np.float64) if not np.issubdtype(x.dtype, np.floating) else x
    if not training:
        return x.copy()
    rng = np.random.default_rng() if rng is None else rng
    keep = rng.random(x.shape) >= rate
    return np.where(keep, x / (1 - rate), 0.0).astype(x.dtype)
    ### END SOLUTION


# %% [markdown]
# O que esperar: com `rate=0.5` cerca de metade dos elementos vira 0 e os outros dobram; a
# média fica perto da original. Com `training=False` nada muda.

# %%
_x_demo = np.arange(1.0, 9.0).reshape(2, 4)
print(dropout(_x_demo, 0.5, rng=np.random.default_rng(0)))
print(dropout(_x_demo, 0.5, training=False))

# %% nbgrader={"grade": true, "grade_id": "test_dropout_zero_fraction", "points": 1}
"""dropout: cada elemento é zerado com probabilidade rate (cerca de uma fração rate deles fica em 0)."""
_x = np.ones((200, 500))
for _rate in (0.5, 0.2):
    _got = dropout(_x, _rate, rng=np.random.default_rng(1))
    assert np.shape(_got) == _x.shape, f"forma esperada {_x.shape}, obtida {np.shape(_got)}"
    _frac = float(np.mean(np.asarray(_got) == 0))
    assert abs(_frac - _rate) < 0.01, (
        f"rate={_rate}: esperada uma fração de zeros perto de {_rate}, obtida {_frac:.3f}")
_a, _b = (np.asarray(dropout(np.ones(200), 0.5, rng=np.random.default_rng(_s))) for _s in (7, 7))
np.testing.assert_array_equal(_a, _b, err_msg="mesma semente do rng, mesma máscara: sorteie com o rng recebido")
try:
    dropout(np.ones(3), 1.0, rng=np.random.default_rng(0))
except ValueError:
    pass
else:
    raise AssertionError("dropout(x, rate=1.0) deve levantar ValueError (rate deve estar em [0, 1))")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_DROP_BUILTINS = ("keras.layers", "keras.random", "keras.ops", "tensorflow.nn",
                  "tensorflow.random", "cnnlib")
for _rate, _shape in [(0.7, (3, 40, 50, 10)), (0.05, (1, 60000)), (0.0, (4, 7))]:
    with forbid(*_DROP_BUILTINS):
        _got = np.asarray(dropout(np.full(_shape, 3.0), _rate, rng=np.random.default_rng(2)))
    assert _got.shape == _shape, f"rate={_rate}: forma esperada {_shape}, obtida {_got.shape}"
    _frac = float(np.mean(_got == 0))
    assert abs(_frac - _rate) < 0.01, f"rate={_rate}, x {_shape}: fração de zeros {_frac:.3f}"
_masks = [np.asarray(dropout(np.ones(1000), 0.5, rng=_r)) == 0
          for _r in (np.random.default_rng(3), np.random.default_rng(4))]
assert not np.array_equal(*_masks), "sorteie a máscara com o rng recebido (sementes diferentes, máscaras diferentes)"
for _bad in (1.0, -0.1, 1.5):
    try:
        dropout(np.ones(3), _bad, rng=np.random.default_rng(0))
        _raised = False
    except ValueError as _err:
        _raised = True
    assert _raised, f"dropout(x, rate={_bad}) deve levantar ValueError (rate fora de [0, 1))"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_dropout_scaling", "points": 1}
"""dropout: os sobreviventes são divididos por 1 - rate; a entrada não é modificada."""
_x = np.arange(1, 4001, dtype=np.int64).reshape(40, 100)
_before = _x.copy()
_got = np.asarray(dropout(_x, 0.25, rng=np.random.default_rng(5)))
assert np.issubdtype(_got.dtype, np.floating), f"a saída deve ser float, obtido {_got.dtype}"
_kept = _got != 0
np.testing.assert_allclose(_got[_kept], _x[_kept] / 0.75, rtol=1e-6,
                           err_msg="os elementos que sobrevivem devem ser divididos por 1 - rate = 0.75")
np.testing.assert_array_equal(_x, _before, err_msg="a entrada não deve ser modificada")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_DROP_BUILTINS = ("keras.layers", "keras.random", "keras.ops", "tensorflow.nn",
                  "tensorflow.random", "cnnlib")
_x = np.random.default_rng(6).normal(size=(2, 30, 20, 8)).astype(np.float32)
_x_copy = np.array(_x)
with forbid(*_DROP_BUILTINS):
    _got = np.asarray(dropout(_x, 0.6, rng=np.random.default_rng(7)))
_survivors = np.nonzero(_got)
np.testing.assert_allclose(_got[_survivors], _x[_survivors] / 0.4, rtol=1e-5,
                           err_msg="float32, rate=0.6: sobreviventes divididos por 0.4")
np.testing.assert_array_equal(_x, _x_copy, err_msg="a entrada float32 não deve ser modificada")
_big = np.asarray(dropout(np.full((400, 500), 2.0), 0.5, rng=np.random.default_rng(8)))
assert abs(_big.mean() - 2.0) < 0.02, f"a média deve ser preservada (2.0), obtida {_big.mean():.4f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_dropout_inference", "points": 0.5}
"""dropout: com training=False a saída é igual à entrada."""
_x = np.arange(12.0).reshape(3, 4)
np.testing.assert_array_equal(dropout(_x, 0.5, training=False, rng=np.random.default_rng(0)), _x,
                              err_msg="na inferência (training=False) a saída é a entrada")
### BEGIN HIDDEN TESTS
_x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
_got = np.asarray(dropout(_x, 0.9, training=False, rng=np.random.default_rng(0)))
np.testing.assert_array_equal(_got, _x, err_msg="entrada int32, rate=0.9, training=False")
assert _got.shape == _x.shape, f"forma esperada {_x.shape}, obtida {_got.shape}"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Quanto custa uma camada: parâmetros e multiplicações-somas
#
# A tabela da aula compara a AlexNet e a LeNet em **parâmetros** e **FLOP**. Os FLOP das
# tabelas de arquitetura (e do artigo da ResNet) contam **multiplicações-somas** (*MACs*,
# *multiply-accumulate*): uma multiplicação seguida de uma soma conta uma vez.
#
# * **Convolução**: cada um dos $H_{out} \cdot W_{out} \cdot C_{out}$ valores de saída é uma
#   soma de $K \cdot K \cdot C_{in}$ produtos, então
#   $\text{MACs} = H_{out} W_{out} C_{out} \cdot K^2 C_{in}$. Parâmetros:
#   $K^2 C_{in} C_{out}$ pesos $+\; C_{out}$ *biases* (notebook 02).
# * **Densa** de $n_{in}$ para $n_{out}$: $n_{in} \cdot n_{out}$ MACs e
#   $n_{in} n_{out} + n_{out}$ parâmetros.
#
# *Biases*, ativações e *pooling* ficam fora da contagem de MACs (são baratos). Exemplo da
# LeNet: a Conv1 ($5 \times 5$, 1 → 6 canais) produz $28 \times 28 \times 6$ valores, cada um
# com $25$ produtos: $28 \cdot 28 \cdot 6 \cdot 25 = 117.600$ MACs; a Conv2 ($5 \times 5$,
# 6 → 16) produz $10 \times 10 \times 16$ valores de $150$ produtos: $240.000$ MACs.
#
# ### Exercício 2 (1,5 ponto): `conv_macs` e `dense_macs`

# %% nbgrader={"grade": false, "grade_id": "conv_macs", "solution": true}
def conv_macs(output_shape, kernel_size, in_channels):
    """Multiply-adds of a convolution with K x K kernels, for one image.

    Args:
        output_shape: (H_out, W_out, C_out) of the layer's output.
        kernel_size: K.
        in_channels: C_in.

    Returns:
        int: H_out * W_out * C_out * K * K * C_in.
    """
    ### BEGIN SOLUTION
    h_out, w_out, c_out = output_shape
    return int(h_out) * int(w_out) * int(c_out) * int(kernel_size) ** 2 * int(in_channels)
    ### END SOLUTION


def dense_macs(n_in, n_out):
    """Multiply-adds of a dense layer n_in -> n_out, for one example (biases not counted)."""
    ### BEGIN SOLUTION
    return int(n_in) * int(n_out)
    ### END SOLUTION


# %%
print("LeNet Conv1:", conv_macs((28, 28, 6), 5, 1), "| Conv2:", conv_macs((10, 10, 16), 5, 6),
      "| Linear1:", dense_macs(400, 120))

# %% nbgrader={"grade": true, "grade_id": "test_conv_macs", "points": 1}
"""conv_macs: conv1 e conv2 da LeNet, e uma saída não quadrada."""
for _args, _expected in [(((28, 28, 6), 5, 1), 117600), (((10, 10, 16), 5, 6), 240000),
                         (((3, 5, 2), 3, 4), 3 * 5 * 2 * 9 * 4)]:
    _got = conv_macs(*_args)
    assert _got == _expected, f"conv_macs{_args}: esperado {_expected}, obtido {_got}"
### BEGIN HIDDEN TESTS
assert conv_macs((54, 54, 96), 11, 3) == 101616768, (
    f"AlexNet conv1: esperado 101.616.768, obtido {conv_macs((54, 54, 96), 11, 3)}")
assert conv_macs((np.int64(7), np.int32(9), np.int16(4)), np.int64(1), np.int32(8)) == 7 * 9 * 4 * 8, (
    "inteiros NumPy: conv 1x1 de 8 para 4 canais em 7x9")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_dense_macs", "points": 0.5}
"""dense_macs: a Linear1 da LeNet (400 -> 120)."""
assert dense_macs(400, 120) == 48000, f"esperado 48.000, obtido {dense_macs(400, 120)}"
### BEGIN HIDDEN TESTS
assert dense_macs(6400, 4096) == 26214400, f"AlexNet Dense1: esperado 26.214.400, obtido {dense_macs(6400, 4096)}"
assert dense_macs(np.int64(84), 10) == 840, f"esperado 840, obtido {dense_macs(np.int64(84), 10)}"
### END HIDDEN TESTS

# %% [markdown]
# ### Uma tabela por camada
#
# Com o tamanho de saída do notebook 01, $W_{out} = \lfloor (W_{in} - K + 2P)/S \rfloor + 1$
# (o mesmo vale para $H$, e para o *pooling* com $P = 0$), dá para percorrer uma rede camada
# a camada e montar a tabela da aula sem construir o modelo. A rede é descrita por uma lista
# de tuplas:
#
# | tupla | camada | saída | parâmetros | MACs |
# |---|---|---|---|---|
# | `("conv", C_out, K, S, P)` | convolução + ReLU | $H_{out} \times W_{out} \times C_{out}$ | $K^2 C_{in} C_{out} + C_{out}$ | `conv_macs` |
# | `("pool", K, S)` | *max pooling* | $H_{out} \times W_{out} \times C_{in}$ | 0 | 0 |
# | `("flatten",)` | achatar | $(H W C,)$ | 0 | 0 |
# | `("dense", n_out)` | densa | $(n_{out},)$ | $n_{in} n_{out} + n_{out}$ | `dense_macs` |
#
# Exemplo à mão, a LeNet da aula sobre $32 \times 32 \times 1$: `("conv", 6, 5, 1, 0)` dá
# $28 \times 28 \times 6$, $5 \cdot 5 \cdot 1 \cdot 6 + 6 = 156$ parâmetros e 117.600 MACs;
# `("pool", 2, 2)` dá $14 \times 14 \times 6$; ... `("flatten",)` dá $(400,)$;
# `("dense", 120)` dá $(120,)$, $48.120$ parâmetros e $48.000$ MACs.
#
# ### Exercício 3 (3,5 pontos): `layer_table`
#
# Devolva **uma linha por tupla**, na ordem: `(forma_de_saída, parâmetros, MACs)`, com a
# forma de saída `(H, W, C)` para `conv`/`pool` e `(n,)` para `flatten`/`dense`. Regras:
# a entrada pode ser retangular ($H \ne W$), o tamanho de saída é arredondado **para baixo**
# (como no Keras), os parâmetros **incluem os *biases***, e *pooling* e `flatten` têm 0
# parâmetros e 0 MACs. Você pode usar a fórmula do notebook 01, que está na biblioteca como
# `cnnlib.reference.output_size(w_in, k, p, s)`, e as suas `conv_macs` e `dense_macs`.

# %% nbgrader={"grade": false, "grade_id": "layer_table", "solution": true}
from cnnlib.reference import output_size


def layer_table(spec, input_shape):
    """Output shape, parameters and multiply-adds of each layer of a plain CNN.

    Args:
        spec: list of tuples ("conv", C_out, K, S, P), ("pool", K, S), ("flatten",),
            ("dense", n_out).
        input_shape: (H, W, C) of one image.

    Returns:
        list with one (output_shape, params, macs) tuple per entry of spec.
    """
    ### BEGIN SOLUTION
    shape = tuple(int(d) for d in input_shape)
    rows = []
    for layer in spec:
        kind = layer[0]
        if kind == "conv":
            _, c_out, k, s, p = layer
            h, w, c_in = shape
            shape = (output_size(h, k, p, s), output_size(w, k, p, s), int(c_out))
            params = k * k * c_in * c_out + c_out
            macs = conv_macs(shape, k, c_in)
        elif kind == "pool":
            _, k, s = layer
            h, w, c = shape
            shape = (output_size(h, k, 0, s), output_size(w, k, 0, s), c)
            params = macs = 0
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
            params = macs = 0
        elif kind == "dense":
            n_in, n_out = shape[0], int(layer[1])
            shape = (n_out,)
            params = n_in * n_out + n_out
            macs = dense_macs(n_in, n_out)
        else:
            raise ValueError(f"unknown layer kind {kind!r}. Received: {layer!r}")
        rows.append((shape, int(params), int(macs)))
    return rows
    ### END SOLUTION


# %% [markdown]
# O que esperar: a LeNet da aula, linha a linha (a tabela do notebook 03, agora com MACs).

# %%
LENET_SPEC = [("conv", 6, 5, 1, 0), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
              ("flatten",), ("dense", 120), ("dense", 84), ("dense", 10)]
for _layer, (_shape, _params, _macs) in zip(LENET_SPEC, layer_table(LENET_SPEC, (32, 32, 1))):
    print(f"{str(_layer):22s} saída {str(_shape):14s} parâmetros {_params:>7,d}   MACs {_macs:>9,d}")

# %% nbgrader={"grade": true, "grade_id": "test_layer_table_shapes", "points": 0.5}
"""layer_table: uma linha por camada; formas de saída da LeNet e de uma entrada não quadrada."""
_spec = [("conv", 6, 5, 1, 0), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
         ("flatten",), ("dense", 120), ("dense", 84), ("dense", 10)]
_got = [tuple(r[0]) for r in layer_table(_spec, (32, 32, 1))]
_expected = [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]
assert _got == _expected, f"LeNet: formas esperadas {_expected}, obtidas {_got}"
_spec = [("conv", 4, 3, 1, 0), ("pool", 2, 2), ("conv", 2, 3, 1, 0), ("flatten",)]
_got = [tuple(r[0]) for r in layer_table(_spec, (10, 16, 1))]
_expected = [(8, 14, 4), (4, 7, 4), (2, 5, 2), (20,)]
assert _got == _expected, f"entrada 10x16x1 (H diferente de W): esperado {_expected}, obtido {_got}"
### BEGIN HIDDEN TESTS
_got = [tuple(r[0]) for r in layer_table([("conv", 4, 3, 1, 0), ("conv", 2, 4, 3, 0), ("pool", 2, 1)], (9, 30, 2))]
assert _got == [(7, 28, 4), (2, 9, 2), (1, 8, 2)], f"entrada 9x30x2: esperado [(7, 28, 4), (2, 9, 2), (1, 8, 2)], obtido {_got}"
_got = [tuple(r[0]) for r in layer_table([("dense", 5)], (7,))]
assert _got == [(5,)], f"só uma densa 7 -> 5: esperado [(5,)], obtido {_got}"
_got = [tuple(r[0]) for r in layer_table([("flatten",), ("dense", 3)], np.array([4, 2, 5]))]
assert _got == [(40,), (3,)], f"input_shape como array NumPy (4, 2, 5): esperado [(40,), (3,)], obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_layer_table_padding", "points": 0.5}
"""layer_table: o padding P soma 2P à entrada de uma convolução."""
_spec = [("conv", 8, 3, 1, 1), ("conv", 4, 5, 1, 2), ("conv", 2, 4, 2, 1)]
_got = [tuple(r[0]) for r in layer_table(_spec, (12, 12, 3))]
_expected = [(12, 12, 8), (12, 12, 4), (6, 6, 2)]  # (12 - 4 + 2) / 2 + 1 = 6
assert _got == _expected, f"convs com padding 1, 2 e 1 em 12x12x3: esperado {_expected}, obtido {_got}"
### BEGIN HIDDEN TESTS
_spec = [("conv", 256, 5, 1, 2), ("conv", 384, 3, 1, 1), ("conv", 6, 7, 2, 3)]
_got = [tuple(r[0]) for r in layer_table(_spec, (27, 27, 96))]
assert _got == [(27, 27, 256), (27, 27, 384), (14, 14, 6)], f"27x27x96 com padding: obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_layer_table_rounding", "points": 0.5}
"""layer_table: o tamanho da saída é arredondado para baixo (224 -> 54 na conv1 da AlexNet; 227 -> 55)."""
_got = [tuple(r[0]) for r in layer_table([("conv", 96, 11, 4, 0)], (224, 224, 3))]
assert _got == [(54, 54, 96)], f"AlexNet conv1 em 224x224x3: esperado [(54, 54, 96)] (floor de 54,25), obtido {_got}"
_got = [tuple(r[0]) for r in layer_table([("conv", 96, 11, 4, 0)], (227, 227, 3))]
assert _got == [(55, 55, 96)], f"AlexNet conv1 em 227x227x3: esperado [(55, 55, 96)], obtido {_got}"
### BEGIN HIDDEN TESTS
_got = [tuple(r[0]) for r in layer_table([("conv", 96, 11, 4, 0), ("pool", 3, 2), ("pool", 3, 2)], (224, 224, 3))]
assert _got == [(54, 54, 96), (26, 26, 96), (12, 12, 96)], f"conv1 + dois pools 3/2 em 224: obtido {_got}"
_got = [tuple(r[0]) for r in layer_table([("pool", 2, 2), ("conv", 1, 2, 3, 0)], (7, 7, 1))]
assert _got == [(3, 3, 1), (1, 1, 1)], f"pool 2/2 em 7x7 e conv 2/3 em 3x3: esperado [(3, 3, 1), (1, 1, 1)], obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_layer_table_params", "points": 1}
"""layer_table: parâmetros contando os biases; pooling e flatten não têm nenhum."""
_spec = [("conv", 6, 5, 1, 0), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
         ("flatten",), ("dense", 120), ("dense", 84), ("dense", 10)]
_got = [r[1] for r in layer_table(_spec, (32, 32, 1))]
_expected = [156, 0, 2416, 0, 0, 48120, 10164, 850]
assert _got == _expected, f"LeNet: parâmetros esperados {_expected} (61.706 no total), obtidos {_got}"
### BEGIN HIDDEN TESTS
_spec = [("conv", 96, 11, 4, 0), ("pool", 3, 2), ("conv", 256, 5, 1, 2), ("pool", 3, 2),
         ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
         ("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000)]
_got = [r[1] for r in layer_table(_spec, (224, 224, 3))]
_expected = [34944, 0, 614656, 0, 885120, 1327488, 884992, 0, 0, 26218496, 16781312, 4097000]
assert _got == _expected, f"AlexNet 224x224x3: parâmetros esperados {_expected}, obtidos {_got}"
_got = [r[1] for r in layer_table([("conv", 5, 3, 2, 1), ("flatten",), ("dense", 3)], (6, 10, 2))]
assert _got == [95, 0, 3 * 75 + 3], f"entrada 6x10x2: esperado [95, 0, 228], obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_layer_table_macs", "points": 1}
"""layer_table: multiplicações-somas por camada (conv e dense; zero para pooling e flatten)."""
_spec = [("conv", 6, 5, 1, 0), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
         ("flatten",), ("dense", 120), ("dense", 84), ("dense", 10)]
_got = [r[2] for r in layer_table(_spec, (32, 32, 1))]
_expected = [117600, 0, 240000, 0, 0, 48000, 10080, 840]
assert _got == _expected, f"LeNet: MACs esperados {_expected}, obtidos {_got}"
### BEGIN HIDDEN TESTS
_spec = [("conv", 96, 11, 4, 0), ("pool", 3, 2), ("conv", 256, 5, 1, 2), ("pool", 3, 2),
         ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
         ("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000)]
_got = [r[2] for r in layer_table(_spec, (224, 224, 3))]
_expected = [101616768, 0, 415334400, 0, 127401984, 191102976, 127401984, 0, 0, 26214400,
             16777216, 4096000]
assert _got == _expected, f"AlexNet 224x224x3: MACs esperados {_expected}, obtidos {_got}"
_got = [r[2] for r in layer_table([("conv", 5, 3, 2, 1), ("pool", 2, 1), ("flatten",), ("dense", 3)],
                                  (6, 10, 2))]
assert _got == [3 * 5 * 5 * 18, 0, 0, 40 * 3], f"entrada 6x10x2: esperado [1350, 0, 0, 120], obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# ### A tabela AlexNet × LeNet, refeita
#
# A AlexNet da aula (a versão de uma GPU, como no curso d2l): conv $11 \times 11$/4 (96) →
# *max pool* 3/2 → conv $5 \times 5$ (256, $P = 2$) → *max pool* 3/2 → três conv
# $3 \times 3$ (384, 384, 256, $P = 1$) → *max pool* 3/2 → densas 4096, 4096 e 1000.
#
# **224 ou 227?** A legenda do artigo fala em entradas $224 \times 224 \times 3$, mas
# $(224 - 11)/4 + 1 = 54{,}25$ não é inteiro: sem *padding*, uma entrada de 224 dá
# $\lfloor 54{,}25 \rfloor = 54$, e não os $55 \times 55$ do artigo. Os 55 saem de uma
# entrada de **227** ($(227 - 11)/4 + 1 = 55$), ou de 224 com 3 pixels de *padding* no
# total. A tabela da aula usa 224 sem *padding* (54, depois 26, 12 e 5: a Dense1 recebe
# $5 \cdot 5 \cdot 256 = 6.400$ valores); com 227 a Dense1 recebe $6 \cdot 6 \cdot 256 = 9.216$.

# %%
ALEXNET_SPEC = [("conv", 96, 11, 4, 0), ("pool", 3, 2), ("conv", 256, 5, 1, 2), ("pool", 3, 2),
                ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1),
                ("pool", 3, 2), ("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000)]


def lecture_groups(rows, conv_ids, dense_ids):
    """Sums rows into the lecture's groups: Conv1, Conv2, Conv3-5, Dense1, Dense2, Output."""
    groups = {"Conv1": [conv_ids[0]], "Conv2": [conv_ids[1]], "Conv3-5": conv_ids[2:],
              "Dense1": [dense_ids[0]], "Dense2": [dense_ids[1]], "Saída": [dense_ids[2]]}
    return {g: (sum(rows[i][1] for i in ids), sum(rows[i][2] for i in ids)) for g, ids in groups.items()}


def human(n):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


alex_rows = layer_table(ALEXNET_SPEC, (224, 224, 3))
lenet_rows = layer_table(LENET_SPEC, (32, 32, 1))
alex = lecture_groups(alex_rows, [0, 2, 4, 5, 6], [9, 10, 11])
lenet = lecture_groups(lenet_rows, [0, 2], [5, 6, 7])
lenet["Conv3-5"] = (0, 0)
print(f"{'':8s} {'parâm. AlexNet':>15s} {'parâm. LeNet':>13s} {'MACs AlexNet':>13s} {'MACs LeNet':>11s}")
for g in alex:
    print(f"{g:8s} {human(alex[g][0]):>15s} {human(lenet[g][0]):>13s} {human(alex[g][1]):>13s} "
          f"{human(lenet[g][1]):>11s}")
alex_total = [sum(v[i] for v in alex.values()) for i in (0, 1)]
lenet_total = [sum(v[i] for v in lenet.values()) for i in (0, 1)]
print(f"{'Total':8s} {human(alex_total[0]):>15s} {human(lenet_total[0]):>13s} {human(alex_total[1]):>13s} "
      f"{human(lenet_total[1]):>11s}")
print(f"AlexNet / LeNet: {alex_total[0] / lenet_total[0]:.0f}x parâmetros, "
      f"{alex_total[1] / lenet_total[1]:.0f}x MACs")
print("Dense1 com entrada 227x227:", f"{layer_table(ALEXNET_SPEC, (227, 227, 3))[9][1]:,d}", "parâmetros")

# %% [markdown]
# Leitura e correções da tabela da aula:
#
# * A coluna **AlexNet** confere (35K, 614K, 3M, 26M, 16M; 101M, 415M, 445M, 26M, 16M), mas
#   o total "46M" **deixa de fora a camada de saída** (4096 → 1000: 4,1M parâmetros):
#   com ela são **50,8M** parâmetros e 1,01G MACs.
# * A coluna **LeNet** está **10 vezes maior** do que devia: Dense1 tem 48.120 parâmetros
#   (não 0,48M), Dense2 10.164 (não 0,1M), e a LeNet inteira **61.706** (não 0,6M); os MACs
#   das convoluções são 117.600 e 240.000 (não 1,2M e 2,4M), e o total é ~0,42M (não 4M).
# * Por isso o "11x" não se sustenta: a AlexNet tem **~820 vezes** mais parâmetros e faz
#   **~2.400 vezes** mais multiplicações-somas que a LeNet (e a 250x da aula também muda).
# * Note onde mora cada custo: as **convoluções** fazem quase todas as contas (95% dos MACs)
#   com 7% dos parâmetros; as **densas** têm 93% dos parâmetros e quase nenhuma conta.
#
# ## 4. VGG: blocos de convoluções $3 \times 3$
#
# A aula descreve as CNNs como **blocos**: um conjunto de convoluções de mesmo tamanho,
# cada uma seguida de uma ativação, e um *pooling* no fim do bloco, que reduz a dimensão
# espacial para o bloco seguinte enquanto a profundidade (canais) aumenta. A VGG leva a
# ideia ao extremo: só convoluções $3 \times 3$ com *stride* 1 e *padding* 1 (`"same"`), e
# *max pooling* $2 \times 2$ com passo 2 depois de cada bloco.
#
# ### Campo receptivo
#
# O **campo receptivo** de uma unidade é a região da entrada que ela "vê". Com duas
# convoluções $3 \times 3$ seguidas, cada saída da segunda vê $3 \times 3$ saídas da
# primeira, que juntas cobrem $5 \times 5$ pixels da entrada; três cobrem $7 \times 7$.
# Em geral, começando com $r_0 = 1$ e um salto $j_0 = 1$ (a distância, em pixels da
# entrada, entre duas unidades vizinhas), cada camada de *kernel* $K_l$ e *stride* $S_l$ faz
#
# $$r_l = r_{l-1} + (K_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, S_l .$$
#
# Exemplos à mão: duas $3 \times 3$, *stride* 1: $r = 1 + 2 + 2 = 5$; três: $7$. A Conv1 da
# AlexNet ($11 \times 11$, *stride* 4) seguida do *pool* $3 \times 3$/2: $r = 1 + 10 \cdot 1
# = 11$, $j = 4$, depois $r = 11 + 2 \cdot 4 = 19$. O *stride* de uma camada só pesa nas
# **camadas seguintes**; o *padding* não muda o tamanho do campo receptivo.
#
# ### Exercício 4 (2 pontos): `receptive_field`
#
# Devolva o lado $r$ do campo receptivo (um `int`) de uma pilha de camadas com *kernels*
# quadrados `kernel_sizes` e *strides* `strides` (todos 1 quando `strides=None`), camadas de
# *pooling* incluídas.

# %% nbgrader={"grade": false, "grade_id": "receptive_field", "solution": true}
def receptive_field(kernel_sizes, strides=None):
    """Side of the receptive field of a stack of square conv / pooling layers.

    Args:
        kernel_sizes: K of each layer, first to last.
        strides: S of each layer (all 1 when None).

    Returns:
        int r: r_l = r_{l-1} + (K_l - 1) * j_{l-1}, j_l = j_{l-1} * S_l, r_0 = j_0 = 1.
    """
    ### BEGIN SOLUTION
    strides = [1] * len(kernel_sizes) if strides is None else strides
    r, jump = 1, 1
    for k, s in zip(kernel_sizes, strides):
        r += (int(k) - 1) * jump
        jump *= int(s)
    return r
    ### END SOLUTION


# %%
print("duas 3x3:", receptive_field([3, 3]), "| três 3x3:", receptive_field([3, 3, 3]),
      "| AlexNet conv1 + pool1:", receptive_field([11, 3], [4, 2]))

# %% nbgrader={"grade": true, "grade_id": "test_receptive_field_stacked", "points": 1}
"""receptive_field: convoluções 3x3 empilhadas com stride 1 (5x5, 7x7)."""
for _ks, _expected in [([3, 3], 5), ([3, 3, 3], 7), ([7], 7), ([3] * 5, 11)]:
    assert receptive_field(_ks) == _expected, f"kernels {_ks}: esperado {_expected}, obtido {receptive_field(_ks)}"
### BEGIN HIDDEN TESTS
assert receptive_field([5, 1, 3]) == 7, f"kernels [5, 1, 3]: esperado 7, obtido {receptive_field([5, 1, 3])}"
assert receptive_field(np.array([3, 3, 3, 3])) == 9, "kernels como array NumPy [3, 3, 3, 3]: esperado 9"
assert receptive_field([1, 1]) == 1, f"duas 1x1: esperado 1, obtido {receptive_field([1, 1])}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_receptive_field_strides", "points": 0.5}
"""receptive_field: um stride amplia o campo das camadas que vêm depois dele."""
_got = receptive_field([11, 3], [4, 2])
assert _got == 19, f"AlexNet conv1 (11, S=4) + pool (3, S=2): esperado 19, obtido {_got}"
_got = receptive_field([3, 3, 2, 3, 3], [1, 1, 2, 1, 1])
assert _got == 14, f"VGG: duas 3x3, pool 2/2, duas 3x3: esperado 14, obtido {_got}"
### BEGIN HIDDEN TESTS
for _ks, _ss, _expected in [([3, 3, 2, 3, 3, 2, 3, 3, 3], [1, 1, 2, 1, 1, 2, 1, 1, 1], 40),
                            ([11, 3, 5, 3, 3, 3, 3, 3], [4, 2, 1, 2, 1, 1, 1, 2], 195),
                            ([2, 2, 2], [2, 2, 2], 8), ([3, 3], [2, 1], 7)]:
    _got = receptive_field(_ks, _ss)
    assert _got == _expected, f"kernels {_ks}, strides {_ss}: esperado {_expected}, obtido {_got}"
_got = receptive_field(np.array([3, 3], dtype=np.int32), np.array([2, 2], dtype=np.int64))
assert _got == 7, f"arrays NumPy int32/int64: esperado 7, obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_receptive_field_stride_only_after", "points": 0.5}
"""receptive_field: o stride de uma camada não muda o campo dela mesma (só o das camadas seguintes)."""
_got = receptive_field([3, 3], [1, 2])
assert _got == 5, f"duas 3x3, a segunda com stride 2: esperado 5, obtido {_got}"
### BEGIN HIDDEN TESTS
for _ks, _ss, _expected in [([5], [3], 5), ([3, 3, 3], [1, 1, 4], 7), ([7, 3], [1, 5], 9)]:
    _got = receptive_field(_ks, _ss)
    assert _got == _expected, f"kernels {_ks}, strides {_ss}: esperado {_expected}, obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# ### Menos parâmetros com *kernels* pequenos
#
# A aula: "se uma convolução tem $C$ canais, 3 filtros $3 \times 3$ têm
# $3(3^2 C^2) = 27C^2$ parâmetros, enquanto 1 filtro $7 \times 7$ tem $7^2 C^2 = 49C^2$" —
# o mesmo campo receptivo $7 \times 7$ com 45% menos pesos e três ReLUs no lugar de uma.
# Com *biases*, cada camada soma mais $C$: $27C^2 + 3C$ contra $49C^2 + C$. Para $C = 64$:
# $110.592$ contra $200.704$ pesos.
#
# ### Exercício 5 (1,5 ponto): `stacked_params`
#
# Parâmetros de uma pilha de $L$ = `num_layers` convoluções $K \times K$, todas de $C$ canais
# para $C$ canais: $L \cdot K^2 C^2$ pesos, mais $L \cdot C$ *biases* quando `use_bias=True`.

# %% nbgrader={"grade": false, "grade_id": "stacked_params", "solution": true}
def stacked_params(channels, kernel_size, num_layers, use_bias=False):
    """Parameters of num_layers stacked K x K convolutions, C -> C channels each.

    Returns:
        int: L * K^2 * C^2 (+ L * C with use_bias).
    """
    ### BEGIN SOLUTION
    c, k, n = int(channels), int(kernel_size), int(num_layers)
    return n * k * k * c * c + (n * c if use_bias else 0)
    ### END SOLUTION


# %%
for _c in (64, 256, 512):
    print(f"C = {_c:3d}: três 3x3 {stacked_params(_c, 3, 3):>10,d} | uma 7x7 {stacked_params(_c, 7, 1):>10,d}")

# %% nbgrader={"grade": true, "grade_id": "test_stacked_params_weights", "points": 0.5}
"""stacked_params: 27C^2 para três 3x3 e 49C^2 para uma 7x7."""
for _c in (1, 64):
    assert stacked_params(_c, 3, 3) == 27 * _c ** 2, f"C={_c}, três 3x3: esperado {27 * _c ** 2}, obtido {stacked_params(_c, 3, 3)}"
    assert stacked_params(_c, 7, 1) == 49 * _c ** 2, f"C={_c}, uma 7x7: esperado {49 * _c ** 2}, obtido {stacked_params(_c, 7, 1)}"
### BEGIN HIDDEN TESTS
assert stacked_params(np.int64(5), np.int32(3), np.int16(2)) == 450, "inteiros NumPy: C=5, duas 3x3: esperado 450"
assert stacked_params(10, 1, 4) == 400, f"quatro 1x1, C=10: esperado 400, obtido {stacked_params(10, 1, 4)}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_stacked_params_bias", "points": 1}
"""stacked_params: um bias por canal de saída em cada camada."""
_got = stacked_params(64, 3, 3, use_bias=True)
assert _got == 27 * 64 ** 2 + 3 * 64, f"C=64, três 3x3 com bias: esperado {27 * 64 ** 2 + 3 * 64}, obtido {_got}"
### BEGIN HIDDEN TESTS
for _c, _k, _n in [(3, 5, 2), (16, 7, 1), (8, 1, 5)]:
    _model = keras.Sequential([keras.Input((9, 9, _c))] + [keras.layers.Conv2D(_c, _k, padding="same")
                                                          for _ in range(_n)])
    _got = stacked_params(_c, _k, _n, use_bias=True)
    assert _got == _model.count_params(), f"C={_c}, K={_k}, L={_n} com bias: esperado {_model.count_params()}, obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# ### O bloco VGG em Keras
#
# Um bloco VGG com `num_convs` convoluções e `filters` filtros: `num_convs` vezes
# (`Conv2D(filters, 3, padding="same")` + ReLU), depois `MaxPooling2D(2, 2)`. Ele mantém
# $H \times W$ nas convoluções e o divide por 2 no *pooling*: de
# $(N, H, W, C_{in})$ para $(N, \lfloor H/2 \rfloor, \lfloor W/2 \rfloor, \text{filters})$.
# Exemplo: `vgg_block(2, 64)` sobre $224 \times 224 \times 3$ dá $112 \times 112 \times 64$
# com $(9 \cdot 3 \cdot 64 + 64) + (9 \cdot 64 \cdot 64 + 64) = 1.792 + 36.928 = 38.720$
# parâmetros.
#
# ### Exercício 6 (2 pontos): `vgg_block`
#
# Monte o bloco com camadas do Keras (`keras.Sequential`, `keras.layers.Conv2D`,
# `keras.layers.MaxPooling2D`), sem fixar a forma da entrada (o bloco deve servir para
# qualquer $H$, $W$ e $C_{in}$). Os testes conferem o que o bloco calcula: forma de saída,
# número de parâmetros e a saída com os mesmos pesos do `cnnlib.blocks.VGGBlock` — que você
# não pode chamar aqui.

# %% nbgrader={"grade": false, "grade_id": "vgg_block", "solution": true}
def vgg_block(num_convs, filters):
    """VGG block: num_convs x (3x3 'same' conv + ReLU), then 2x2 max pooling with stride 2.

    Returns:
        a Keras layer (e.g. keras.Sequential) mapping (N, H, W, C_in) to
        (N, H // 2, W // 2, filters).
    """
    ### BEGIN SOLUTION
    layers = [keras.layers.Conv2D(filters, 3, padding="same", activation="relu")
              for _ in range(num_convs)]
    return keras.Sequential(layers + [keras.layers.MaxPooling2D(2, strides=2)])
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "keras_helpers", "locked": true, "solution": false}
# Read-only helpers for the tests of the Keras exercises (do not edit).
def _weights_copied_outputs(student, reference, x, seed=0):
    """Runs both layers on x with the same (random) weights; returns both outputs."""
    x = np.asarray(x, dtype="float32")
    student(x)
    reference(x)
    sw, rw = student.get_weights(), reference.get_weights()
    assert [w.shape for w in sw] == [w.shape for w in rw], (
        f"pesos (na ordem) esperados {[w.shape for w in rw]}, obtidos {[w.shape for w in sw]}")
    rng = np.random.default_rng(seed)
    new = [rng.normal(scale=0.3, size=w.shape).astype("float32") for w in sw]
    student.set_weights(new)
    reference.set_weights(new)
    return np.asarray(student(x)), np.asarray(reference(x))


# %% [markdown]
# O que esperar: o exemplo acima, com a forma de saída e os parâmetros.

# %%
_block = vgg_block(2, 64)
print("saída:", tuple(_block(np.zeros((1, 224, 224, 3), "float32")).shape), "| parâmetros:",
      _block.count_params())

# %% nbgrader={"grade": true, "grade_id": "test_vgg_block_shape_params", "points": 1}
"""vgg_block: forma da saída (H/2, W/2, filters) e parâmetros, entrada não quadrada, batch 2."""
_block = vgg_block(2, 64)
_y = _block(np.zeros((2, 224, 224, 3), "float32"))
assert tuple(_y.shape) == (2, 112, 112, 64), f"forma esperada (2, 112, 112, 64), obtida {tuple(_y.shape)}"
assert _block.count_params() == 38720, f"parâmetros esperados 38.720, obtidos {_block.count_params()}"
_block = vgg_block(3, 8)
_y = _block(np.zeros((1, 10, 7, 5), "float32"))
assert tuple(_y.shape) == (1, 5, 3, 8), f"entrada 10x7x5, vgg_block(3, 8): forma esperada (1, 5, 3, 8), obtida {tuple(_y.shape)}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

for _n, _f, _shape in [(1, 4, (3, 9, 6, 2)), (4, 3, (1, 8, 8, 1))]:
    with forbid("cnnlib.blocks", "cnnlib.models", "keras.applications"):
        _block = vgg_block(_n, _f)
        _y = _block(np.zeros(_shape, "float32"))
    _expected = (_shape[0], _shape[1] // 2, _shape[2] // 2, _f)
    assert tuple(_y.shape) == _expected, f"vgg_block({_n}, {_f}) em {_shape}: forma esperada {_expected}, obtida {tuple(_y.shape)}"
    _p = 9 * _shape[3] * _f + _f + (_n - 1) * (9 * _f * _f + _f)
    assert _block.count_params() == _p, f"vgg_block({_n}, {_f}) com C_in={_shape[3]}: esperado {_p}, obtido {_block.count_params()}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_vgg_block_outputs", "points": 1}
"""vgg_block: calcula o mesmo que cnnlib.blocks.VGGBlock, com os mesmos pesos."""
from cnnlib.blocks import VGGBlock

_x = np.random.default_rng(0).normal(size=(2, 6, 8, 3))
_got, _expected = _weights_copied_outputs(vgg_block(2, 4), VGGBlock(2, 4), _x)
np.testing.assert_allclose(_got, _expected, rtol=1e-4, atol=1e-5,
                           err_msg="vgg_block(2, 4) em (2, 6, 8, 3): saída com os pesos copiados do VGGBlock")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

for _n, _f, _shape, _seed in [(1, 5, (1, 7, 9, 2), 1), (3, 3, (3, 8, 4, 1), 2)]:
    _x = np.random.default_rng(_seed).normal(size=_shape)
    with forbid("cnnlib.blocks", "cnnlib.models"):
        _student = vgg_block(_n, _f)
    _got, _expected = _weights_copied_outputs(_student, VGGBlock(_n, _f), _x, seed=_seed)
    np.testing.assert_allclose(_got, _expected, atol=1e-5, rtol=1e-4,
                               err_msg=f"vgg_block({_n}, {_f}) em {_shape}: saída com os pesos copiados")
### END HIDDEN TESTS

# %% [markdown]
# ### A tabela de parâmetros da VGG
#
# As configurações do artigo (a aula mostra a tabela): cinco blocos com 64, 128, 256, 512 e
# 512 filtros, cada bloco terminando em *max pooling*; depois as densas 4096, 4096 e 1000
# sobre a entrada $224 \times 224 \times 3$. "conv3-256" é uma convolução $3 \times 3$ com
# 256 filtros; a configuração C usa também convoluções $1 \times 1$ ("conv1-256").
# Descrevemos uma VGG por uma lista de blocos `(filtros, [K de cada convolução])`, por
# exemplo a VGG-11 (A): `[(64, [3]), (128, [3]), (256, [3, 3]), (512, [3, 3]), (512, [3, 3])]`.
#
# Os parâmetros saem sem construir o modelo:
#
# * cada convolução: $K^2 C_{in} C_{out} + C_{out}$, com $C_{in}$ = filtros da convolução
#   anterior (3 na primeira, a imagem RGB); as convoluções usam *padding* `"same"`;
# * após os 5 *poolings* $2 \times 2$, $224 \times 224$ vira $7 \times 7$
#   ($\lfloor H / 2^5 \rfloor \times \lfloor W / 2^5 \rfloor$ em geral), e a primeira densa
#   recebe $7 \cdot 7 \cdot 512 = 25.088$ valores;
# * as três densas, **incluindo a de saída**: $25.088 \cdot 4096 + 4096$,
#   $4096 \cdot 4096 + 4096$ e $4096 \cdot 1000 + 1000$.
#
# Exemplo à mão, VGG-11: convoluções $1.792 + 73.856 + 295.168 + 590.080 + 1.180.160 +
# 2.359.808 \cdot 3 = 9.220.480$; densas $102.764.544 + 16.781.312 + 4.097.000 =
# 123.642.856$; total **132.863.336** ≈ 133 M, o número da tabela.
#
# ### Exercício 7 (3 pontos): `vgg_params`
#
# Devolva o total de parâmetros (um `int`) de `arch` sobre `input_shape` $(H, W, C)$ — que
# pode ser retangular e ter qualquer número de canais — com as duas densas ocultas de
# `fc_units` unidades e a saída de `num_classes`, **sem alocar os pesos** (nada de montar o
# modelo Keras).

# %% nbgrader={"grade": false, "grade_id": "vgg_params", "solution": true}
def vgg_params(arch, input_shape=(224, 224, 3), num_classes=1000, fc_units=4096):
    """Parameters of a VGG: conv blocks (each ending in 2x2 max pooling) + 3 dense layers.

    Args:
        arch: list of blocks (filters, [K of each conv]).
        input_shape: (H, W, C) of one image.
        num_classes: units of the output layer.
        fc_units: units of the two hidden dense layers.

    Returns:
        int: total parameters, biases included.
    """
    ### BEGIN SOLUTION
    h, w, c_in = (int(d) for d in input_shape)
    total = 0
    for filters, kernels in arch:
        for k in kernels:
            total += int(k) ** 2 * c_in * int(filters) + int(filters)
            c_in = int(filters)
        h, w = h // 2, w // 2
    n_in = h * w * c_in
    for n_out in (fc_units, fc_units, num_classes):
        total += n_in * int(n_out) + int(n_out)
        n_in = int(n_out)
    return total
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "vgg_configs", "locked": true, "solution": false}
# The configurations of the VGG paper (table 1), read-only: the tests use them.
VGG_ARCHS = {
    "A": [(64, [3]), (128, [3]), (256, [3, 3]), (512, [3, 3]), (512, [3, 3])],
    "B": [(64, [3, 3]), (128, [3, 3]), (256, [3, 3]), (512, [3, 3]), (512, [3, 3])],
    "C": [(64, [3, 3]), (128, [3, 3]), (256, [3, 3, 1]), (512, [3, 3, 1]), (512, [3, 3, 1])],
    "D": [(64, [3, 3]), (128, [3, 3]), (256, [3, 3, 3]), (512, [3, 3, 3]), (512, [3, 3, 3])],
    "E": [(64, [3, 3]), (128, [3, 3]), (256, [3] * 4), (512, [3] * 4), (512, [3] * 4)],
}

# %%
for _name, _arch in VGG_ARCHS.items():
    print(f"VGG {_name}: {vgg_params(_arch):>12,d} parâmetros ({vgg_params(_arch) / 1e6:.0f} M)")

# %% nbgrader={"grade": true, "grade_id": "test_vgg_params_table", "points": 1}
"""vgg_params: a tabela do artigo (133, 133, 134, 138, 144 M), exata para A, D e E."""
_expected = {"A": 132863336, "B": 133047848, "C": 133638952, "D": 138357544, "E": 143667240}
for _name, _arch in VGG_ARCHS.items():
    _got = vgg_params(_arch)
    assert _got == _expected[_name], f"VGG {_name}: esperado {_expected[_name]:,d}, obtido {_got}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

with forbid("keras.layers", "keras.Sequential", "keras.Model", "keras.applications", "cnnlib.models",
            "cnnlib.blocks"):
    _got = vgg_params(VGG_ARCHS["E"], num_classes=1000)
assert _got == 143667240, f"VGG E: esperado 143.667.240, obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_vgg_params_input_shape", "points": 1}
"""vgg_params: uma entrada não quadrada (a primeira camada densa recebe (H // 32) x (W // 32) x C valores)."""
_got = vgg_params(VGG_ARCHS["A"], input_shape=(224, 160, 3))
_expected = 9220480 + (7 * 5 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
assert _got == _expected, f"VGG A em 224x160x3: esperado {_expected:,d}, obtido {_got}"
### BEGIN HIDDEN TESTS
def _keras_vgg_count(arch, shape, k, fc):
    m = [keras.Input(shape)]
    for f, ks in arch:
        m += [keras.layers.Conv2D(f, kk, padding="same") for kk in ks] + [keras.layers.MaxPooling2D(2)]
    m += [keras.layers.Flatten(), keras.layers.Dense(fc), keras.layers.Dense(fc), keras.layers.Dense(k)]
    return keras.Sequential(m).count_params()


for _arch, _shape in [([(_f // 8, _ks) for _f, _ks in VGG_ARCHS["D"]], (64, 96, 3)),
                      ([(4, [5]), (6, [3, 3]), (2, [1])], (30, 17, 3))]:
    _expected = _keras_vgg_count(_arch, _shape, 1000, 4096)
    _got = vgg_params(_arch, input_shape=_shape)
    assert _got == _expected, f"arch de {len(_arch)} blocos, entrada {_shape}: esperado {_expected}, obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_vgg_params_options", "points": 1}
"""vgg_params: canais de entrada, num_classes e fc_units são lidos dos argumentos."""
_arch = [(8, [3]), (16, [3, 1])]
_got = vgg_params(_arch, input_shape=(28, 28, 1), num_classes=10, fc_units=32)
_expected = (9 * 8 + 8) + (9 * 8 * 16 + 16) + (16 * 16 + 16) + (7 * 7 * 16 * 32 + 32) + (32 * 32 + 32) + (32 * 10 + 10)
assert _got == _expected, f"entrada 28x28x1, 10 classes, fc_units=32: esperado {_expected}, obtido {_got}"
### BEGIN HIDDEN TESTS
def _keras_vgg_count2(arch, shape, k, fc):
    layers = [keras.Input(shape)]
    for f, ks in arch:
        layers += [keras.layers.Conv2D(f, kk, padding="same") for kk in ks] + [keras.layers.MaxPooling2D(2)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(fc), keras.layers.Dense(fc), keras.layers.Dense(k)]
    return keras.Sequential(layers).count_params()


for _arch, _shape, _k, _fc in [([(_f // 8, _ks) for _f, _ks in VGG_ARCHS["E"]], (64, 64, 5), 7, 100),
                               ([(3, [3, 3, 3])], (9, 9, 2), 4, 6)]:
    _expected = _keras_vgg_count2(_arch, _shape, _k, _fc)
    _got = vgg_params(_arch, input_shape=_shape, num_classes=_k, fc_units=_fc)
    assert _got == _expected, f"entrada {_shape}, {_k} classes, fc_units={_fc}: esperado {_expected}, obtido {_got}"
_got = vgg_params(VGG_ARCHS["A"], num_classes=np.int64(1))
assert _got == 132863336 - 999 * 4097, f"VGG A com 1 classe (np.int64): esperado {132863336 - 999 * 4097}, obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# Leitura: as convoluções da VGG-16 têm só 14,7 M parâmetros; as três densas, 123,6 M
# (89%). A primeira densa sozinha (25.088 × 4096) tem 102,8 M. É esse peso morto que a NiN
# elimina.
#
# ## 5. NiN (*Network in Network*)
#
# LeNet, AlexNet e VGG seguem o mesmo desenho: convoluções e *pooling* extraem as
# características, e camadas **densas** no fim classificam. As densas têm a maioria dos
# parâmetros e não podem ir para o meio da rede sem destruir a estrutura espacial. A NiN
# propõe: (1) blocos com **convoluções $1 \times 1$**, que acrescentam não linearidade entre
# os canais em cada pixel, e (2) **global average pooling** no lugar das densas.
#
# ### A convolução $1 \times 1$ é uma camada densa em cada pixel
#
# Uma convolução $1 \times 1$ de $C_{in}$ para $C_{out}$ canais olha **um pixel** de cada
# vez (todos os seus canais) e não vê os vizinhos: em NHWC,
#
# $$y[n, h, w, d] = \sum_{c} x[n, h, w, c]\, W[c, d] + b[d],$$
#
# ou seja, a mesma camada densa $W$ ($C_{in} \times C_{out}$) aplicada em cada uma das
# $N \cdot H \cdot W$ posições: muda o número de canais e mantém $H \times W$ (a aula escreve
# em NCHW: $(N, C_{in}, H, W) * (C_{out}, C_{in}, 1, 1) \to (N, C_{out}, H, W)$). Em NumPy:
# `np.einsum("nhwc,cd->nhwd", x, W)`, ou `x @ W` (o `@` age no último eixo).
#
# Exemplo à mão: um pixel com canais $(1, 2)$ e
# $W = \begin{pmatrix} 1 & 0 & 2 \\ 0 & 1 & -1 \end{pmatrix}$ vira
# $(1 \cdot 1 + 2 \cdot 0,\; 1 \cdot 0 + 2 \cdot 1,\; 1 \cdot 2 - 2 \cdot 1) = (1, 2, 0)$.
#
# ### Exercício 8 (2 pontos): `conv1x1_as_dense`
#
# Calcule a convolução $1 \times 1$ com NumPy (o `einsum` é bem-vindo), para qualquer $N$,
# $H$, $W$ (inclusive $H \ne W$), com o *bias* `b` somado quando for dado. A saída tem forma
# $(N, H, W, C_{out})$ e a entrada não é modificada.

# %% nbgrader={"grade": false, "grade_id": "conv1x1_as_dense", "solution": true}
def conv1x1_as_dense(x, w, b=None):
    """1x1 convolution as a dense layer applied at every pixel.

    Args:
        x: (N, H, W, C_in).
        w: (C_in, C_out), the dense weights (= the 1x1 kernel without its two unit axes).
        b: (C_out,) or None.

    Returns:
        (N, H, W, C_out): y[n, h, w, :] = x[n, h, w, :] @ w + b.
    """
    ### BEGIN SOLUTION
    y = np.einsum("nhwc,cd->nhwd", np.asarray(x), np.asarray(w))
    return y if b is None else y + np.asarray(b)
    ### END SOLUTION


# %%
print(conv1x1_as_dense(np.array([1.0, 2.0]).reshape(1, 1, 1, 2), np.array([[1.0, 0, 2], [0, 1, -1]]))[0, 0, 0])

# %% nbgrader={"grade": true, "grade_id": "test_conv1x1_as_dense_values", "points": 1.5}
"""conv1x1_as_dense: o pixel do exemplo resolvido, e tf.nn.conv2d com kernel 1x1 em um batch não quadrado."""
_got = conv1x1_as_dense(np.array([1.0, 2.0]).reshape(1, 1, 1, 2), np.array([[1.0, 0, 2], [0, 1, -1]]))
np.testing.assert_allclose(np.asarray(_got).reshape(-1), [1, 2, 0], err_msg="o pixel (1, 2) do exemplo")
_rng = np.random.default_rng(0)
_x, _w = _rng.normal(size=(2, 3, 5, 4)), _rng.normal(size=(4, 6))
_before = _x.copy()
_expected = tf.nn.conv2d(_x, _w[None, None], 1, "VALID").numpy()
_got = conv1x1_as_dense(_x, _w)
assert np.shape(_got) == (2, 3, 5, 6), f"forma esperada (2, 3, 5, 6), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, _expected, rtol=1e-6, atol=1e-8, err_msg="x (2, 3, 5, 4), w (4, 6)")
np.testing.assert_array_equal(_x, _before, err_msg="a entrada não deve ser modificada")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_FROM_SCRATCH = ("tensorflow.nn.conv2d", "tensorflow.linalg", "tensorflow.einsum", "tensorflow.tensordot",
                 "tensorflow.matmul", "keras.ops", "keras.layers", "cnnlib.layers", "cnnlib.reference")
for _shape, _cout in [((1, 7, 2, 3), 3), ((4, 1, 1, 5), 2), ((3, 6, 6, 1), 4), ((2, 4, 9, 3), 1)]:
    _x = _rng.normal(size=_shape)
    _w = _rng.normal(size=(_shape[3], _cout))
    _expected = tf.nn.conv2d(_x, _w[None, None], strides=1, padding="VALID").numpy()
    with forbid(*_FROM_SCRATCH):
        _got = conv1x1_as_dense(x=_x, w=_w)
    assert np.shape(_got) == _expected.shape, f"x {_shape}, C_out={_cout}: forma esperada {_expected.shape}, obtida {np.shape(_got)}"
    np.testing.assert_allclose(_got, _expected, rtol=1e-6, atol=1e-8, err_msg=f"x {_shape}, w ({_shape[3]}, {_cout})")
_x = _rng.normal(size=(2, 3, 4, 3)).astype(np.float32)
_w = _rng.normal(size=(3, 3)).astype(np.float32)
_layer = keras.layers.Dense(3, use_bias=False)
_layer.build((None, 3))
_layer.set_weights([_w])
np.testing.assert_allclose(conv1x1_as_dense(_x, _w), _layer(_x).numpy(), rtol=1e-5, atol=1e-5,
                           err_msg="C_in = C_out = 3: igual a uma Dense aplicada em cada pixel")
_xi = np.arange(2 * 2 * 3 * 2).reshape(2, 2, 3, 2)
_wi = np.array([[1, 2], [3, -1]])
_before = _xi.copy()
np.testing.assert_array_equal(conv1x1_as_dense(_xi, _wi), _xi @ _wi, err_msg="entrada e pesos inteiros")
np.testing.assert_array_equal(_xi, _before, err_msg="a entrada inteira não deve ser modificada")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_conv1x1_as_dense_bias", "points": 0.5}
"""conv1x1_as_dense: o bias é somado a todo pixel, um valor por canal de saída."""
_x, _w, _b = np.ones((1, 2, 3, 2)), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.array([10.0, 20.0, 30.0])
_got = np.asarray(conv1x1_as_dense(_x, _w, _b))
np.testing.assert_allclose(_got, np.broadcast_to([11.0, 21.0, 30.0], (1, 2, 3, 3)),
                           err_msg="cada pixel: x @ w + b = (11, 21, 30)")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(11)
_FROM_SCRATCH = ("tensorflow.nn.conv2d", "tensorflow.linalg", "tensorflow.einsum", "tensorflow.tensordot",
                 "tensorflow.matmul", "keras.ops", "keras.layers", "cnnlib.layers", "cnnlib.reference")
_x = _rng.normal(size=(3, 5, 5, 4))
_w, _b = _rng.normal(size=(4, 2)), _rng.normal(size=2)
_expected = tf.nn.conv2d(_x, _w[None, None], 1, "VALID").numpy() + _b
with forbid(*_FROM_SCRATCH):
    _got = conv1x1_as_dense(_x, _w, _b)
np.testing.assert_allclose(_got, _expected, rtol=1e-6, atol=1e-8, err_msg="x (3, 2, 5, 4), w (4, 2), b (2,)")
### END HIDDEN TESTS

# %% [markdown]
# ### O bloco NiN
#
# Um bloco NiN é uma convolução "comum" $K \times K$ (com *stride* e *padding* dados) seguida
# de **duas convoluções $1 \times 1$**, as três com `filters` filtros e **cada uma seguida de
# ReLU**: uma pequena MLP aplicada em cada pixel (daí "rede dentro da rede"). Só a primeira
# convolução usa o *stride* e o *padding*; as $1 \times 1$ têm *stride* 1. Exemplo: o
# primeiro bloco da NiN, `nin_block(96, 11, strides=4)` sobre $224 \times 224 \times 3$, dá
# $54 \times 54 \times 96$ com $(121 \cdot 3 \cdot 96 + 96) + 2\,(96 \cdot 96 + 96) = 34.944
# + 18.624 = 53.568$ parâmetros.
#
# ### Exercício 9 (2 pontos): `nin_block`
#
# Monte o bloco em Keras, sem fixar a forma da entrada. Como na VGG, os testes comparam com
# `cnnlib.blocks.NiNBlock` usando os mesmos pesos, e você não pode chamá-lo.

# %% nbgrader={"grade": false, "grade_id": "nin_block", "solution": true}
def nin_block(filters, kernel_size, strides=1, padding="valid"):
    """NiN block: KxK conv (strides, padding) + ReLU, then two 1x1 convs + ReLU.

    Returns:
        a Keras layer mapping (N, H, W, C_in) to (N, H', W', filters), H' from the
        first convolution.
    """
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation="relu"),
        keras.layers.Conv2D(filters, 1, activation="relu"),
        keras.layers.Conv2D(filters, 1, activation="relu"),
    ])
    ### END SOLUTION


# %%
_block = nin_block(96, 11, strides=4)
print("saída:", tuple(_block(np.zeros((1, 224, 224, 3), "float32")).shape), "| parâmetros:",
      _block.count_params())

# %% nbgrader={"grade": true, "grade_id": "test_nin_block_shape_params", "points": 1}
"""nin_block: forma da saída e parâmetros (primeiro bloco da NiN; padding 'same', entrada não quadrada)."""
_block = nin_block(96, 11, strides=4)
_y = _block(np.zeros((1, 224, 224, 3), "float32"))
assert tuple(_y.shape) == (1, 54, 54, 96), f"forma esperada (1, 54, 54, 96), obtida {tuple(_y.shape)}"
assert _block.count_params() == 53568, f"parâmetros esperados 53.568, obtidos {_block.count_params()}"
_block = nin_block(6, 3, padding="same")
_y = _block(np.zeros((2, 7, 5, 4), "float32"))
assert tuple(_y.shape) == (2, 7, 5, 6), f"entrada 7x5x4, 'same': forma esperada (2, 7, 5, 6), obtida {tuple(_y.shape)}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

for _args, _kw, _shape, _expected in [((5, 3), dict(strides=2), (3, 11, 8, 2), (3, 5, 3, 5)),
                                      ((4, 5), dict(strides=2, padding="same"), (1, 9, 6, 3), (1, 5, 3, 4)),
                                      ((10, 1), {}, (2, 3, 4, 7), (2, 3, 4, 10))]:
    with forbid("cnnlib.blocks", "cnnlib.models"):
        _block = nin_block(*_args, **_kw)
        _y = _block(np.zeros(_shape, "float32"))
    assert tuple(_y.shape) == _expected, f"nin_block{_args} {_kw} em {_shape}: forma esperada {_expected}, obtida {tuple(_y.shape)}"
    _f, _k = _args
    _p = _k * _k * _shape[3] * _f + _f + 2 * (_f * _f + _f)
    assert _block.count_params() == _p, f"nin_block{_args} com C_in={_shape[3]}: esperado {_p}, obtido {_block.count_params()}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_nin_block_outputs", "points": 1}
"""nin_block: calcula o mesmo que cnnlib.blocks.NiNBlock, com os mesmos pesos."""
from cnnlib.blocks import NiNBlock

_x = np.random.default_rng(3).normal(size=(2, 9, 7, 3))
_got, _expected = _weights_copied_outputs(nin_block(4, 3, strides=2), NiNBlock(4, 3, strides=2), _x)
np.testing.assert_allclose(_got, _expected, rtol=1e-4, atol=1e-5,
                           err_msg="nin_block(4, 3, strides=2) em (2, 9, 7, 3): saída com os pesos copiados do NiNBlock")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

for _args, _kw, _shape, _seed in [((3, 5), dict(padding="same"), (1, 6, 10, 2), 4),
                                  ((6, 3), dict(strides=3), (3, 10, 8, 1), 5)]:
    _x = np.random.default_rng(_seed).normal(size=_shape)
    with forbid("cnnlib.blocks", "cnnlib.models"):
        _student = nin_block(*_args, **_kw)
    _got, _expected = _weights_copied_outputs(_student, NiNBlock(*_args, **_kw), _x, seed=_seed)
    np.testing.assert_allclose(_got, _expected, atol=1e-5, rtol=1e-4,
                               err_msg=f"nin_block{_args} {_kw} em {_shape}: saída com os pesos copiados")
### END HIDDEN TESTS

# %% [markdown]
# ### *Global average pooling* e a rede NiN
#
# O *global average pooling* (GAP) tira a média de cada canal sobre toda a extensão
# espacial: a redução é realizada até que cada dimensão espacial tenha tamanho 1 (o slide
# escreve "a redução é realizar"), e um volume $10 \times 10 \times 64$ vira
# $1 \times 1 \times 64$ (ou o vetor $(64,)$). Na NiN, o último bloco tem **um canal por classe**, e o GAP transforma cada canal
# na nota da sua classe: nenhuma camada densa. Vantagens apontadas na aula: (1) o GAP **não
# tem parâmetros** para otimizar, o que reduz o *overfitting*; (2) ele soma a informação
# espacial, e fica robusto a translações da entrada.
#
# A aula mostra as formas de saída camada a camada da VGG e da NiN (como no curso d2l, com
# entrada $224 \times 224 \times 1$ e 10 classes), mas **com os títulos trocados**: a lista
# que termina em `dense0 ... dense2` (64×112×112, ..., 512×7×7, 4096, 10) é a da **VGG-11**,
# e a que termina em `pool3 (10, 1, 1)` (96×54×54, ..., 10×5×5) é a da **NiN**. Refazemos as
# duas com as funções deste notebook (formas em NHWC):

# %%
vgg11_d2l = [("conv", 64, 3, 1, 1), ("pool", 2, 2), ("conv", 128, 3, 1, 1), ("pool", 2, 2)]
for _f in (256, 512, 512):
    vgg11_d2l += [("conv", _f, 3, 1, 1), ("conv", _f, 3, 1, 1), ("pool", 2, 2)]
vgg11_d2l += [("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 10)]
_rows = layer_table(vgg11_d2l, (224, 224, 1))
print("VGG-11: blocos", [r[0] for r, l in zip(_rows, vgg11_d2l) if l[0] == "pool"],
      "densas", [r[0] for r, l in zip(_rows, vgg11_d2l) if l[0] == "dense"])

_inputs = keras.Input((224, 224, 1))
_shapes, _h = [], _inputs
for _layer in [nin_block(96, 11, strides=4), keras.layers.MaxPooling2D(3, 2),
               nin_block(256, 5, padding="same"), keras.layers.MaxPooling2D(3, 2),
               nin_block(384, 3, padding="same"), keras.layers.MaxPooling2D(3, 2),
               nin_block(10, 3, padding="same"), keras.layers.GlobalAveragePooling2D()]:
    _h = _layer(_h)
    _shapes.append(tuple(_h.shape[1:]))
nin_d2l = keras.Model(_inputs, _h)
print("NiN:", _shapes)
print(f"parâmetros: VGG-11 {sum(r[1] for r in _rows):,d} | NiN {nin_d2l.count_params():,d}")

# %% [markdown]
# Leitura: a VGG-11 de 10 classes tem ~129 M parâmetros, quase todos nas densas; a NiN, com
# as mesmas 10 classes, ~2 M — o GAP substitui 120 M de pesos densos.
#
# ### Experimento: VGG × NiN no Fashion-MNIST (não avaliado)
#
# Uma VGG e uma NiN estreitas, montadas com os **seus** blocos, no Fashion-MNIST
# (`cnnlib.data`, nada é baixado): a VGG termina com `Flatten` + densas, a NiN com um bloco
# de 10 canais + GAP. Para caber em poucos minutos numa CPU, treinamos com 12.000 imagens de
# treino por 3 épocas e avaliamos nas 10.000 de teste. Compare parâmetros e acurácia.

# %%
def small_vgg():
    model = keras.Sequential([
        keras.Input((28, 28, 1)), vgg_block(1, 16), vgg_block(2, 32), keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.5),
        keras.layers.Dense(10)], name="vgg_pequena")
    return model


def small_nin():
    model = keras.Sequential([
        keras.Input((28, 28, 1)), nin_block(16, 3, padding="same"), keras.layers.MaxPooling2D(2),
        nin_block(32, 3, padding="same"), keras.layers.MaxPooling2D(2), keras.layers.Dropout(0.3),
        nin_block(10, 3, padding="same"), keras.layers.GlobalAveragePooling2D()], name="nin_pequena")
    return model


experiments = {}
if HEAVY:
    from cnnlib import data as course_data

    (_xtr, _ytr), (_xte, _yte) = course_data.load_fashion_mnist()
    _xtr = (_xtr[:12000, :, :, None] / 255.0).astype("float32")
    _ytr = _ytr[:12000]
    _xte = (_xte[:, :, :, None] / 255.0).astype("float32")
    for _build in (small_vgg, small_nin):
        keras.utils.set_random_seed(0)
        _model = _build()
        _model.compile(optimizer=keras.optimizers.Adam(2e-3),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["accuracy"])
        _hist = _model.fit(_xtr, _ytr, epochs=3, batch_size=128, validation_split=0.1, verbose=0)
        _acc = _model.evaluate(_xte, _yte, batch_size=1000, verbose=0)[1]
        experiments[_model.name] = dict(history=_hist, acc=_acc, params=_model.count_params())
        print(f"{_model.name:12s} parâmetros {_model.count_params():>8,d} | acurácia de teste {_acc:.4f}")

# %%
if HEAVY:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    for _name, _r in experiments.items():
        _h = _r["history"].history
        _epochs = np.arange(1, len(_h["loss"]) + 1)
        axes[0].plot(_epochs, _h["loss"], "o-", label=f"{_name} treino")
        axes[0].plot(_epochs, _h["val_loss"], "s--", label=f"{_name} validação")
        axes[1].plot(_epochs, _h["val_accuracy"], "s--", label=f"{_name} ({_r['params']:,d} parâm.)")
    axes[0].set_title("perda")
    axes[1].set_title("acurácia de validação")
    for ax in axes:
        ax.set_xlabel("época")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    plt.show()

# %% [markdown]
# Leitura: a NiN usa 20 vezes menos parâmetros que a VGG pequena (10.566 contra 216.170; a
# densa de 1.568 × 128 sozinha tem 200 mil). Em 3 épocas ela aprende mais devagar (na
# máquina de referência: acurácia de teste ≈ 0,70 contra ≈ 0,85 da VGG), porque o GAP de
# ReLUs começa com notas quase iguais para todas as classes; o preço das densas da VGG é
# memória, não acurácia nesta escala.
#
# ## Resumo
#
# * ReLU não satura do lado positivo; *dropout* zera unidades com probabilidade `rate` no
#   treino e não faz nada na inferência (versão invertida).
# * Custo de uma camada: convolução $H_{out} W_{out} C_{out} K^2 C_{in}$ MACs, densa
#   $n_{in} n_{out}$; as convoluções fazem as contas, as densas guardam os parâmetros. A
#   tabela da aula, corrigida: LeNet com 61.706 parâmetros, AlexNet com 50,8 M (saída
#   incluída), ~820 vezes mais.
# * VGG: pilhas de $3 \times 3$ — duas veem $5 \times 5$, três veem $7 \times 7$ — com
#   $27C^2$ em vez de $49C^2$ pesos; 133 a 144 M parâmetros, 89% nas densas.
# * NiN: a convolução $1 \times 1$ é uma densa em cada pixel; blocos NiN + GAP dispensam as
#   densas.
