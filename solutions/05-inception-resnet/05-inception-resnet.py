# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 — Inception (GoogLeNet) e ResNet
#
# Depois da AlexNet, da VGG e da NiN (notebook 04), a aula apresenta as duas famílias que
# mudaram o desenho das redes profundas a partir de 2014–2015:
#
# 1. **Inception v1 (GoogLeNet)**: ramos paralelos com *kernels* de tamanhos diferentes e
#    convoluções $1 \times 1$ que **reduzem os canais** antes das convoluções caras;
# 2. **Inception v2**: fatoração de convoluções ($5 \times 5$ → duas $3 \times 3$;
#    $n \times n$ → $1 \times n$ seguida de $n \times 1$);
# 3. **Inception v3**: *batch normalization* e *label smoothing*;
# 4. **ResNet**: o problema da degradação, classes de funções aninhadas, aprendizado
#    residual, blocos básico e *bottleneck*, atalhos com projeção e a tabela
#    18/34/50/101/152 (parâmetros e FLOPs).
#
# **Convenções.** Lotes no formato NHWC `(N, H, W, C)`: $N$ é sempre o tamanho do *batch* e
# $C$ o número de canais. "Multiplicações-somas" (MACs) é o que as tabelas da aula chamam
# de FLOPs: uma multiplicação seguida de uma soma conta 1; *biases*, normalização, ativações
# e *pooling* ficam de fora. A contagem camada a camada (`conv_macs`, `layer_table`) foi
# exercício do notebook 04; aqui usamos a versão da biblioteca, `cnnlib.models.summary_table`
# e `cnnlib.models.count_flops`. Cada célula de teste mostra os pontos que vale; o total é
# **20 pontos**.

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
# Os testes dos blocos em Keras conferem **o que o bloco calcula**: eles atribuem a cada
# peso um valor que depende só do seu papel (`kernel`, `bias`, `gamma`...) e da sua forma,
# fazem o mesmo com o bloco equivalente da `cnnlib.blocks`, e comparam as saídas. Assim a
# ordem em que você cria as camadas (ou usar `Dense` no lugar de uma convolução $1 \times 1$)
# não importa. A célula abaixo define essa atribuição; não a altere.

# %% nbgrader={"grade": false, "grade_id": "test_helpers", "locked": true}
import zlib


def keyed_weights(model, seed=0):
    """Give every weight of ``model`` a value that depends only on its role and shape.

    A 1x1 convolution kernel (1, 1, C, F) and a Dense kernel (C, F) get the same values.
    """
    for variable in model.weights:
        role = variable.name.split("/")[-1]
        shape = tuple(int(d) for d in variable.shape)
        key_shape = shape
        while role == "kernel" and len(key_shape) > 2 and key_shape[0] == 1 and key_shape[1] == 1:
            key_shape = key_shape[2:]
        rng = np.random.default_rng(zlib.crc32(f"{seed}:{role}:{key_shape}".encode()))
        if role == "kernel":
            value = rng.normal(0.0, 1.4 / np.sqrt(np.prod(key_shape[:-1])), size=key_shape)
        elif role in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, size=key_shape)
        else:  # bias, beta, moving_mean
            value = rng.normal(0.0, 0.2, size=key_shape)
        variable.assign(value.reshape(shape).astype(variable.dtype))
    return model


def uses_cnnlib_layers(model):
    """True when any layer of ``model`` (nested ones included) comes from cnnlib."""
    return any(type(layer).__module__.startswith("cnnlib")
               for layer in model._flatten_layers(include_self=True, recursive=True))


# %% [markdown]
# ## 1. Inception v1 (GoogLeNet)
#
# Qual *kernel* usar numa camada: $1 \times 1$, $3 \times 3$ ou $5 \times 5$? A GoogLeNet
# (Szegedy et al., 2014) responde "todos": o **bloco Inception** aplica em paralelo, sobre
# a mesma entrada,
#
# * uma convolução $1 \times 1$,
# * uma convolução $3 \times 3$,
# * uma convolução $5 \times 5$,
# * um *max pooling* $3 \times 3$ com passo 1,
#
# todas com *padding* "same" (a saída tem a mesma altura e largura da entrada) e
# **concatena** os resultados no eixo dos canais. Junta a ideia da VGG (empilhar blocos) com
# a da NiN (convoluções $1 \times 1$).
#
# ### O custo da versão ingênua e a redução $1 \times 1$
#
# Uma convolução $k \times k$ com $C_{in}$ canais de entrada e $F$ filtros, sobre uma saída
# $H \times W$, custa $H \cdot W \cdot F \cdot k^2 \cdot C_{in}$ multiplicações-somas. O
# exemplo clássico: entrada $28 \times 28 \times 192$ e um ramo $5 \times 5$ com 32 filtros:
#
# $$28 \cdot 28 \cdot 32 \cdot (5 \cdot 5 \cdot 192) = 120.422.400 \approx 120\ \text{M}.$$
#
# Com uma convolução $1 \times 1$ que **reduz** primeiro os 192 canais a 16:
#
# $$\underbrace{28 \cdot 28 \cdot 16 \cdot 192}_{1 \times 1:\ 2{,}4\ \text{M}} +
#   \underbrace{28 \cdot 28 \cdot 32 \cdot (5 \cdot 5 \cdot 16)}_{5 \times 5:\ 10{,}0\ \text{M}}
#   = 12.443.648 \approx 12\ \text{M},$$
#
# dez vezes menos. A versão com reduções (figura (b) da aula) põe uma $1 \times 1$ antes da
# $3 \times 3$ e da $5 \times 5$ e **depois** do *max pooling* (a "projeção do pooling", que
# também controla quantos canais o ramo do pooling entrega; na versão ingênua ele entrega os
# $C_{in}$ canais da entrada, e o bloco só engorda).

# %%
print("5x5 direto:  ", 28 * 28 * 32 * 5 * 5 * 192)
print("1x1 -> 5x5:  ", 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16)

# %% [markdown]
# ### Exercício 1 (2 pontos): `inception_macs`
#
# Escreva o custo de um bloco Inception inteiro. O bloco é descrito como na tabela 1 do
# artigo da GoogLeNet, `spec = (c1, r3, c3, r5, c5, pp)`: filtros do ramo $1 \times 1$; da
# redução e da $3 \times 3$; da redução e da $5 \times 5$; e da projeção após o pooling.
# Regras:
#
# * todas as convoluções têm passo 1 e *padding* "same": a saída de cada uma é $H \times W$;
# * o *max pooling* custa 0;
# * **versão ingênua**: quando `r3`, `r5` e `pp` são `None`, não há reduções nem projeção
#   (a $3 \times 3$ e a $5 \times 5$ leem os $C_{in}$ canais da entrada);
# * devolva um inteiro (qualquer tipo inteiro do NumPy serve).
#
# Exemplo: o bloco (3a) da GoogLeNet, `(64, 96, 128, 16, 32, 32)` sobre $28 \times 28
# \times 192$, custa 128.049.152 MACs; a versão ingênua com os mesmos 64/128/32 filtros,
# 303.464.448.

# %% nbgrader={"grade": false, "grade_id": "inception_macs", "solution": true}
def inception_macs(h, w, c_in, spec):
    """Multiply-adds of one Inception block (convolutions only, 'same' padding, stride 1).

    Args:
        h, w: height and width of the input (and of every branch output).
        c_in: input channels.
        spec: (c1, r3, c3, r5, c5, pp); r3, r5 and pp are None for the naive block.

    Returns:
        int, the multiply-adds for one image.
    """
    ### BEGIN SOLUTION
    c1, r3, c3, r5, c5, pp = spec
    per_pixel = c_in * c1
    if r3 is None:  # naive: 3x3 and 5x5 read the input directly, no pool projection
        per_pixel += 3 * 3 * c_in * c3 + 5 * 5 * c_in * c5
    else:
        per_pixel += c_in * r3 + 3 * 3 * r3 * c3
        per_pixel += c_in * r5 + 5 * 5 * r5 * c5
        per_pixel += c_in * pp
    return int(h * w * per_pixel)
    ### END SOLUTION


# %%
spec_3a = (64, 96, 128, 16, 32, 32)
print("(3a) com reduções:", f"{inception_macs(28, 28, 192, spec_3a):,}")
print("(3a) ingênuo:     ", f"{inception_macs(28, 28, 192, (64, None, 128, None, 32, None)):,}")

# %% nbgrader={"grade": true, "grade_id": "test_inception_macs_naive", "points": 1}
"""inception_macs: o bloco ingênuo (sem reduções; o ramo de pooling não custa nada)."""
_got = inception_macs(28, 28, 192, (64, None, 128, None, 32, None))
assert _got == 303_464_448, f"bloco ingênuo (3a): esperado 303.464.448, obtido {_got}"
assert isinstance(_got, (int, np.integer)), f"devolva um inteiro (int ou inteiro do NumPy), obtido {type(_got).__name__}"
### BEGIN HIDDEN TESTS
for _h, _w, _c, _spec in [(14, 7, 48, (8, None, 16, None, 4, None)),
                          (5, 9, 3, (1, None, 2, None, 7, None))]:
    _c1, _, _c3, _, _c5, _ = _spec
    _expected = _h * _w * (_c * _c1 + 9 * _c * _c3 + 25 * _c * _c5)
    _got = inception_macs(_h, _w, _c, _spec)
    assert _got == _expected, f"ingênuo {_h}x{_w}x{_c}, spec={_spec}: esperado {_expected}, obtido {_got}"
    assert isinstance(_got, (int, np.integer)), f"devolva um inteiro, obtido {type(_got).__name__}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_inception_macs_reduced", "points": 1}
"""inception_macs: o bloco com reduções 1x1 e projeção do pooling (o 3a da GoogLeNet)."""
_got = inception_macs(28, 28, 192, (64, 96, 128, 16, 32, 32))
assert _got == 128_049_152, f"bloco (3a) com reduções: esperado 128.049.152, obtido {_got}"
### BEGIN HIDDEN TESTS
from cnnlib import blocks as _blocks
from cnnlib.models import count_flops

for _h, _w, _c, _spec in [(7, 7, 832, (384, 192, 384, 48, 128, 128)),
                          (9, 5, 24, (8, 12, 16, 4, 6, 10))]:
    _c1, _r3, _c3, _r5, _c5, _pp = _spec
    _inp = keras.Input((_h, _w, _c))
    _ref = keras.Model(_inp, _blocks.InceptionBlock(_c1, _c3, _c5, _pp, reduce_3x3=_r3, reduce_5x5=_r5)(_inp))
    _expected = count_flops(_ref)
    _got = inception_macs(_h, _w, _c, _spec)
    assert _got == _expected, f"{_h}x{_w}x{_c}, spec={_spec}: esperado {_expected}, obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# Onde está o custo? Por ramo, no bloco (3a): na versão ingênua, a $3 \times 3$ e a
# $5 \times 5$ sobre 192 canais dominam; com as reduções, todos os ramos ficam pequenos.

# %%
def _branch_macs(h, w, c_in, spec):
    """Per-branch multiply-adds (1x1, 3x3, 5x5, pool), for the plot."""
    c1, r3, c3, r5, c5, pp = list(spec)
    if r3 is None:
        return [h * w * c_in * c1, h * w * 9 * c_in * c3, h * w * 25 * c_in * c5, 0]
    return [h * w * c_in * c1, h * w * (c_in * r3 + 9 * r3 * c3),
            h * w * (c_in * r5 + 25 * r5 * c5), h * w * c_in * pp]


_names = ["1x1", "3x3", "5x5", "pool"]
_naive = _branch_macs(28, 28, 192, (64, None, 128, None, 32, None))
_reduced = _branch_macs(28, 28, 192, spec_3a)
_pos = np.arange(4)
plt.figure(figsize=(6, 3))
plt.bar(_pos - 0.2, np.array(_naive) / 1e6, 0.4, label="ingênuo")
plt.bar(_pos + 0.2, np.array(_reduced) / 1e6, 0.4, label="com reduções 1x1")
plt.xticks(_pos, _names)
plt.ylabel("milhões de MACs")
plt.title("bloco (3a) da GoogLeNet, 28x28x192")
plt.legend()
plt.show()

# %% [markdown]
# Leitura: a $5 \times 5$ cai de 120 M para 12 M e a $3 \times 3$ de 173 M para 101 M; o
# ramo do pooling passa a custar 5 M, mas entrega 32 canais em vez de 192.
#
# ### Exercício 2 (3 pontos): `inception_block`
#
# Monte o bloco com reduções em Keras, no estilo funcional: `inception_block(x, spec)`
# recebe um tensor `(N, H, W, C)` e devolve o tensor de saída. Os quatro ramos:
#
# 1. `Conv2D(c1, 1)`;
# 2. `Conv2D(r3, 1)` → `Conv2D(c3, 3)`;
# 3. `Conv2D(r5, 1)` → `Conv2D(c5, 5)`;
# 4. `MaxPooling2D(3, strides=1)` → `Conv2D(pp, 1)`;
#
# todas as convoluções com *padding* "same", *bias* e ReLU; o *pooling* também com
# *padding* "same". Concatene **nesta ordem** (1x1, 3x3, 5x5, pool) no eixo dos canais: a
# saída tem `c1 + c3 + c5 + pp` canais e a mesma altura e largura da entrada (quadrada ou
# não). Use camadas do Keras: a solução não pode chamar `cnnlib.blocks.InceptionBlock`,
# que é o que ela recria (os testes comparam com ele).
#
# Conta à mão dos parâmetros do (3a) sobre 192 canais (pesos + *biases*):
#
# | ramo | camadas | parâmetros |
# |---|---|---|
# | 1x1 | $192 \cdot 64 + 64$ | 12.352 |
# | 3x3 | $(192 \cdot 96 + 96) + (9 \cdot 96 \cdot 128 + 128)$ | 18.528 + 110.720 |
# | 5x5 | $(192 \cdot 16 + 16) + (25 \cdot 16 \cdot 32 + 32)$ | 3.088 + 12.832 |
# | pool | $192 \cdot 32 + 32$ | 6.176 |
#
# Total: **163.696** parâmetros e $64 + 128 + 32 + 32 = 256$ canais de saída.

# %% nbgrader={"grade": false, "grade_id": "inception_block", "solution": true}
def inception_block(x, spec):
    """Inception v1 block with 1x1 reductions.

    Args:
        x: tensor (N, H, W, C).
        spec: (c1, r3, c3, r5, c5, pp).

    Returns:
        tensor (N, H, W, c1 + c3 + c5 + pp), branches concatenated as 1x1, 3x3, 5x5, pool.
    """
    ### BEGIN SOLUTION
    c1, r3, c3, r5, c5, pp = spec

    def conv(t, filters, k):
        return keras.layers.Conv2D(filters, k, padding="same", activation="relu")(t)

    b1 = conv(x, c1, 1)
    b3 = conv(conv(x, r3, 1), c3, 3)
    b5 = conv(conv(x, r5, 1), c5, 5)
    bp = conv(keras.layers.MaxPooling2D(3, strides=1, padding="same")(x), pp, 1)
    return keras.layers.Concatenate(axis=-1)([b1, b3, b5, bp])
    ### END SOLUTION


# %% [markdown]
# O que esperar: o bloco (3a) leva $28 \times 28 \times 192$ a $28 \times 28 \times 256$ com
# 163.696 parâmetros. A tabela do artigo diz 159 K: ela conta só os 163.328 pesos (sem os
# 368 *biases*) e usa K = 1024.

# %%
_inp = keras.Input((28, 28, 192))
block_3a = keras.Model(_inp, inception_block(_inp, spec_3a), name="inception_3a")
print("saída:", block_3a.output.shape, "| parâmetros:", f"{block_3a.count_params():,}")

# %% nbgrader={"grade": true, "grade_id": "test_inception_block_shape_params", "points": 1.5}
"""inception_block: forma da saída e número de parâmetros do (3a) da GoogLeNet."""
_inp = keras.Input((28, 28, 192))
_m = keras.Model(_inp, inception_block(_inp, (64, 96, 128, 16, 32, 32)))
assert tuple(_m.output.shape[1:]) == (28, 28, 256), (
    f"saída esperada (28, 28, 256), obtida {tuple(_m.output.shape[1:])}")
assert _m.count_params() == 163_696, f"esperado 163.696 parâmetros, obtido {_m.count_params()}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

for _shape, _spec in [((9, 5, 24), (8, 12, 16, 4, 6, 10)), ((6, 11, 3), (2, 3, 5, 2, 3, 1))]:
    _inp = keras.Input(_shape)
    with forbid("cnnlib.blocks", "cnnlib.models", "keras.applications"):
        _m = keras.Model(_inp, inception_block(_inp, _spec))
    assert not uses_cnnlib_layers(_m), "use camadas do Keras, não o bloco pronto da cnnlib"
    _c1, _r3, _c3, _r5, _c5, _pp = _spec
    _expected = _shape[:2] + (_c1 + _c3 + _c5 + _pp,)
    assert tuple(_m.output.shape[1:]) == _expected, (
        f"entrada {_shape}, spec={_spec}: saída esperada {_expected}, obtida {tuple(_m.output.shape[1:])}")
    _c = _shape[-1]
    _params = (_c + 1) * (_c1 + _r3 + _r5 + _pp) + (9 * _r3 + 1) * _c3 + (25 * _r5 + 1) * _c5
    assert _m.count_params() == _params, (
        f"entrada {_shape}, spec={_spec}: esperado {_params} parâmetros, obtido {_m.count_params()}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_inception_block_values", "points": 1.5}
"""inception_block: calcula o mesmo que o InceptionBlock da cnnlib (mesmos pesos, mesma entrada)."""
from cnnlib.blocks import InceptionBlock


def _inception_pair(shape, spec):
    inp = keras.Input(shape)
    mine = keyed_weights(keras.Model(inp, inception_block(inp, spec)))
    c1, r3, c3, r5, c5, pp = list(spec)
    ref = keyed_weights(keras.Model(inp, InceptionBlock(c1, c3, c5, pp, reduce_3x3=r3, reduce_5x5=r5)(inp)))
    return mine, ref


def _check_inception(shape, spec, n=2, seed=0):
    mine, ref = _inception_pair(shape, spec)
    x = np.random.default_rng(seed).normal(size=(n,) + shape).astype("float32")
    expected = ref(x).numpy()
    got = np.asarray(mine(x))
    where = f"entrada {(n,) + shape}, spec={spec}"
    assert got.shape == expected.shape, f"{where}: forma esperada {expected.shape}, obtida {got.shape}"
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4,
                               err_msg=f"{where}: saída diferente do bloco de referência (ordem dos ramos? ReLU? padding?)")


_check_inception((6, 7, 8), (4, 3, 5, 2, 3, 6))
### BEGIN HIDDEN TESTS
_check_inception((7, 4, 5), (3, 4, 2, 2, 5, 1), n=1, seed=1)
_check_inception((5, 9, 3), (2, 6, 3, 3, 4, 2), n=3, seed=2)
### END HIDDEN TESTS

# %% [markdown]
# O bloco (3a) é a primeira das nove Inceptions da GoogLeNet (`cnnlib.models.googlenet`).
# A rede inteira tem só 7,0 M de parâmetros, contra 138 M da VGG-16, e termina com
# *global average pooling* como a NiN:

# %%
from cnnlib.models import googlenet, summary_table

if HEAVY:
    _t = summary_table(googlenet())
    print(f"GoogLeNet: {_t.total_params:,} parâmetros, {_t.total_flops / 1e9:.2f} G MACs a 224x224")
    for _row in _t:
        if _row.layer.startswith("inception"):
            print(f"  {_row.layer:14s} {str(_row.output_shape):16s} {_row.params / 1024:7.0f} K parâmetros")
    keras.backend.clear_session()

# %% [markdown]
# A aula lembra que a GoogLeNet original precisou de "artifícios" para treinar: dois
# classificadores auxiliares no meio da rede, com perdas intermediárias. Com *batch
# normalization* (seção 3) eles deixaram de ser necessários; a `cnnlib` não os inclui.
#
# ## 2. Inception v2: fatorar convoluções
#
# **Erratum.** O slide diz que trocar a $5 \times 5$ por $3 \times 3$ dá uma "redução de
# 2,78 na complexidade". O número $25/9 = 2{,}78$ é a razão entre o custo de **uma**
# $5 \times 5$ e o de **uma** $3 \times 3$; mas uma $3 \times 3$ sozinha não vê um campo
# $5 \times 5$. O que a Inception v2 faz é trocar a $5 \times 5$ por **duas** $3 \times 3$
# empilhadas (mesmo campo receptivo $5 \times 5$): $2 \cdot 9 = 18$ pesos por par de canais
# contra 25, uma economia de $1 - 18/25 = 28\%$.
#
# A segunda fatoração, **assimétrica**, troca $n \times n$ por $1 \times n$ seguida de
# $n \times 1$: $2n$ pesos contra $n^2$. Para $n = 3$: $6/9$, economia de 33% (aqui o slide
# está certo); para $n = 7$ (usada na v3): $14/49$, economia de 71%. O artigo observa que a
# fatoração funciona mal nas primeiras camadas e bem nas camadas intermediárias.
#
# ### Exercício 3 (1,5 ponto): `factorization_cost`
#
# Para um *kernel* $k \times k$ e um método de fatoração, devolva o par
# `(original, fatorado)` de pesos **por par de canais** (canal de entrada, filtro), com os
# mesmos canais em todas as camadas:
#
# * `method="stacked"`: uma pilha de convoluções $3 \times 3$ com o mesmo campo receptivo
#   $k \times k$ (cada $3 \times 3$ aumenta o campo em 2, então são $(k - 1)/2$ delas);
#   $k$ precisa ser ímpar e $\ge 3$;
# * `method="asymmetric"`: $1 \times k$ seguida de $k \times 1$; $k \ge 2$;
# * qualquer outro método, ou um $k$ que o método não aceita: `ValueError`.
#
# Exemplos: `factorization_cost(5, "stacked") == (25, 18)`,
# `factorization_cost(3, "asymmetric") == (9, 6)`.

# %% nbgrader={"grade": false, "grade_id": "factorization_cost", "solution": true}
def factorization_cost(k, method):
    """Weights per (input channel, filter) pair of a kxk conv and of its factorization.

    Args:
        k: kernel size of the original k x k convolution.
        method: "stacked" (3x3 convolutions with the same receptive field) or
            "asymmetric" (1xk then kx1).

    Returns:
        (original, factorized), two ints.

    Raises:
        ValueError: unknown method, or k not allowed by the method.
    """
    ### BEGIN SOLUTION
    if method == "stacked":
        if k < 3 or k % 2 == 0:
            raise ValueError(f"stacked 3x3 factorization needs an odd k >= 3. Received: k={k}")
        return k * k, 9 * (k - 1) // 2
    if method == "asymmetric":
        if k < 2:
            raise ValueError(f"asymmetric factorization needs k >= 2. Received: k={k}")
        return k * k, 2 * k
    raise ValueError(f"method must be 'stacked' or 'asymmetric'. Received: method={method!r}")
    ### END SOLUTION


# %%
for _k, _method in [(5, "stacked"), (7, "stacked"), (3, "asymmetric"), (7, "asymmetric")]:
    _orig, _fact = factorization_cost(_k, _method)
    print(f"{_k}x{_k} {_method:10s}: {_orig:3d} -> {_fact:3d} pesos, economia de {1 - _fact / _orig:.0%}")

# %% nbgrader={"grade": true, "grade_id": "test_factorization_cost", "points": 1.5}
"""factorization_cost: 5x5 -> duas 3x3 (28%, não 2,78x), 3x3 -> 1x3 + 3x1 (33%), entrada inválida."""
_got = factorization_cost(5, "stacked")
assert tuple(_got) == (25, 18), f"5x5 -> duas 3x3: esperado (25, 18), obtido {_got}"
_got = factorization_cost(3, "asymmetric")
assert tuple(_got) == (9, 6), f"3x3 -> 1x3 + 3x1: esperado (9, 6), obtido {_got}"
try:
    factorization_cost(4, "stacked")
except ValueError:
    pass
else:
    raise AssertionError("factorization_cost(4, 'stacked') deve levantar ValueError (k par)")
### BEGIN HIDDEN TESTS
for _k, _method, _expected in [(7, "stacked", (49, 27)), (3, "stacked", (9, 9)),
                               (11, "stacked", (121, 45)), (7, "asymmetric", (49, 14)),
                               (2, "asymmetric", (4, 4)), (np.int64(5), "asymmetric", (25, 10))]:
    _got = factorization_cost(_k, _method)
    assert tuple(_got) == _expected, f"factorization_cost({_k}, {_method!r}): esperado {_expected}, obtido {_got}"
for _args in [(1, "stacked"), (1, "asymmetric"), (5, "depthwise"), (5, "Stacked")]:
    try:
        factorization_cost(*_args)
    except ValueError as _err:
        pass
    else:
        raise AssertionError(f"factorization_cost{_args} deve levantar ValueError")
### END HIDDEN TESTS

# %% [markdown]
# A fatoração não muda só o custo: o bloco v2 da `cnnlib` (`InceptionBlock(...,
# variant="v2")`) troca cada $3 \times 3$ por $1 \times 3 + 3 \times 1$ e a $5 \times 5$ por
# duas dessas duplas. Compare os parâmetros com o (3a):

# %%
from cnnlib.blocks import InceptionBlock

for _variant in ("v1", "v2"):
    _inp = keras.Input((28, 28, 192))
    _m = keras.Model(_inp, InceptionBlock(64, 128, 32, 32, reduce_3x3=96, reduce_5x5=16, variant=_variant)(_inp))
    print(f"{_variant}: {_m.count_params():,} parâmetros")

# %% [markdown]
# ## 3. Inception v3: *batch normalization* e *label smoothing*
#
# A v3 mantém a v2 e acrescenta: otimização com RMSprop, *batch normalization* (BN),
# convoluções $7 \times 7$ fatoradas e *label smoothing*.
#
# ### *Batch normalization*
#
# Para cada canal $c$, a BN normaliza a ativação com a média e a variância **do batch**,
# calculadas sobre todos os eixos menos o dos canais (em NHWC, sobre $N$, $H$ e $W$):
#
# $$\mu_c = \operatorname{média}(x_{\cdot,\cdot,\cdot,c}), \qquad
#   \sigma^2_c = \operatorname{média}\big((x_{\cdot,\cdot,\cdot,c} - \mu_c)^2\big), \qquad
#   y = \gamma_c \frac{x - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c .$$
#
# A variância é a **populacional** (divide por $m$, não por $m - 1$), e $\epsilon$ fica
# **dentro** da raiz. No treino a camada também atualiza as **estatísticas móveis**, que
# serão usadas na inferência (quando o *batch* pode ter uma única imagem):
#
# $$\hat\mu \leftarrow \text{momentum} \cdot \hat\mu + (1 - \text{momentum}) \cdot \mu, \qquad
#   \hat\sigma^2 \leftarrow \text{momentum} \cdot \hat\sigma^2 + (1 - \text{momentum}) \cdot \sigma^2 .$$
#
# Na **inferência** a BN usa $\hat\mu, \hat\sigma^2$ no lugar de $\mu, \sigma^2$ e **não**
# altera as estatísticas móveis. É o que faz `keras.layers.BatchNormalization`
# (`momentum=0.99`, `epsilon=1e-3`).
#
# Exemplo à mão: $N = 2$ exemplos, 2 canais, `x = [[1, 2], [3, 6]]`, $\gamma = 1$,
# $\beta = 0$, $\epsilon = 0$. Canal 0: $\mu = 2$, $\sigma^2 = 1$; canal 1: $\mu = 4$,
# $\sigma^2 = 4$. Saída: `[[-1, -1], [1, 1]]`. Com estatísticas móveis $\hat\mu = (0, 0)$,
# $\hat\sigma^2 = (1, 1)$ e momentum 0,9: $\hat\mu = (0{,}2;\ 0{,}4)$ e
# $\hat\sigma^2 = (1{,}0;\ 1{,}3)$.
#
# ### Exercício 4 (3,5 pontos): `batchnorm_forward`
#
# Em NumPy, do zero. `x` tem forma `(N, C)` ou `(N, H, W, C)` (canais no último eixo),
# inteira ou real. Devolva `(y, novo_mu, nova_var)`: `y` em ponto flutuante com a forma de
# `x`; as estatísticas móveis **novas** (atualizadas no treino, iguais às recebidas na
# inferência), sem modificar nenhum dos argumentos recebidos. Os testes ocultos reprovam
# chamadas a `keras`, `tf.nn` e à `cnnlib`.

# %% nbgrader={"grade": false, "grade_id": "batchnorm_forward", "solution": true}
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training,
                      momentum=0.99, epsilon=1e-3):
    """Batch normalization over all axes but the last (channels).

    Args:
        x: (N, C) or (N, H, W, C), int or float.
        gamma, beta: (C,) scale and shift.
        running_mean, running_var: (C,) moving statistics.
        training: True: batch statistics, moving statistics updated; False: moving
            statistics used and returned unchanged.
        momentum, epsilon: as keras.layers.BatchNormalization.

    Returns:
        (y, new_running_mean, new_running_var); y float with the shape of x.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    running_mean = np.asarray(running_mean, dtype=np.float64)
    running_var = np.asarray(running_var, dtype=np.float64)
    if training:
        axes = tuple(range(x.ndim - 1))
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        new_mean = momentum * running_mean + (1 - momentum) * mean
        new_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    y = np.asarray(gamma) * (x - mean) / np.sqrt(var + epsilon) + np.asarray(beta)
    return y, new_mean, new_var
    ### END SOLUTION


# %%
_y, _m, _v = batchnorm_forward(np.array([[1.0, 2.0], [3.0, 6.0]]), np.ones(2), np.zeros(2),
                               np.zeros(2), np.ones(2), training=True, momentum=0.9, epsilon=0.0)
print(_y, _m, _v)

# %% nbgrader={"grade": true, "grade_id": "test_batchnorm_training", "points": 2}
"""batchnorm_forward (treino): estatísticas do batch por canal, estatísticas móveis atualizadas, como no Keras."""
def _keras_bn(x, gamma, beta, mean, var, training, momentum=0.99, epsilon=1e-3):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build(x.shape)
    layer.set_weights([np.asarray(gamma, "float32"), np.asarray(beta, "float32"),
                       np.asarray(mean, "float32"), np.asarray(var, "float32")])
    y = layer(x.astype("float32"), training=training).numpy()
    return y, layer.moving_mean.numpy(), layer.moving_variance.numpy()


def _compare_bn(got, expected, where):
    """got, expected: (y, moving mean, moving variance)."""
    assert len(got) == 3, f"{where}: devolva (y, nova média móvel, nova variância móvel), obtido {len(got)} itens"
    for name, a, b in zip(["y", "média móvel", "variância móvel"], got, expected):
        assert np.shape(a) == b.shape, f"{where}: {name}: forma esperada {b.shape}, obtida {np.shape(a)}"
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4,
                                   err_msg=f"{where}: {name} diferente de keras.layers.BatchNormalization")


_y, _m, _v = batchnorm_forward(np.array([[1, 2], [3, 6]]), np.ones(2), np.zeros(2),
                               np.zeros(2), np.ones(2), training=True, momentum=0.9, epsilon=0.0)
np.testing.assert_allclose(_y, [[-1, -1], [1, 1]], atol=1e-6, err_msg="exemplo à mão (x inteiro): saída")
assert np.issubdtype(np.asarray(_y).dtype, np.floating), f"y deve ser de ponto flutuante, obtido {np.asarray(_y).dtype}"
np.testing.assert_allclose(_m, [0.2, 0.4], atol=1e-6, err_msg="exemplo à mão: média móvel")
np.testing.assert_allclose(_v, [1.0, 1.3], atol=1e-6, err_msg="exemplo à mão: variância móvel")

_rng = np.random.default_rng(0)
_x = _rng.normal(2.0, 3.0, size=(2, 3, 4, 5))
_params = (_rng.uniform(0.5, 2, 5), _rng.normal(size=5), _rng.normal(size=5), _rng.uniform(0.5, 2, 5))
_before = [_x.copy()] + [_p.copy() for _p in _params]
_compare_bn(batchnorm_forward(_x, *_params, training=True), _keras_bn(_x, *_params, training=True),
            "treino, x (2, 3, 4, 5)")
for _p, _p0 in zip([_x] + list(_params), _before):
    np.testing.assert_array_equal(_p, _p0, err_msg="x, gamma, beta e as estatísticas móveis recebidas não devem ser modificados")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_BN_FORBIDDEN = ("keras.ops", "keras.layers", "tensorflow.nn", "cnnlib")
for _shape, _dtype, _mom, _eps in [((1, 5, 3, 2), np.float32, 0.9, 1e-5), ((7, 4), np.int64, 0.5, 1e-3),
                                   ((3, 2, 6, 4), np.float64, 0.99, 0.1)]:
    _x = (_rng.normal(0, 4, size=_shape) + np.arange(_shape[-1]) * 10).astype(_dtype)
    _c = _shape[-1]
    _params = (_rng.uniform(0.5, 2, _c), _rng.normal(size=_c), _rng.normal(size=_c), _rng.uniform(0.5, 2, _c))
    _before = [_x.copy()] + [p.copy() for p in _params]
    with forbid(*_BN_FORBIDDEN):
        _got = batchnorm_forward(_x, *_params, training=True, momentum=_mom, epsilon=_eps)
    _expected = _keras_bn(_x.astype("float64"), *_params, training=True, momentum=_mom, epsilon=_eps)
    _compare_bn(_got, _expected, f"treino, x{_shape} {np.dtype(_dtype).name}, momentum={_mom}, epsilon={_eps}")
    assert np.issubdtype(np.asarray(_got[0]).dtype, np.floating), "y deve ser de ponto flutuante"
    for _a, _b in zip([_x] + list(_params), _before):
        np.testing.assert_array_equal(_a, _b, err_msg="os argumentos não devem ser modificados")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_batchnorm_inference", "points": 1.5}
"""batchnorm_forward (inferência): usa as estatísticas móveis, sem atualizá-las."""
_rng = np.random.default_rng(4)
_x = _rng.normal(5.0, 2.0, size=(1, 3, 2, 4))
_params = (_rng.uniform(0.5, 2, 4), _rng.normal(size=4), _rng.normal(size=4), _rng.uniform(0.5, 2, 4))
_got = batchnorm_forward(_x, *_params, training=False)
_expected = _keras_bn(_x, *_params, training=False)
np.testing.assert_allclose(_got[0], _expected[0], rtol=1e-4, atol=1e-4,
                           err_msg="inferência: normalize com as estatísticas móveis")
np.testing.assert_allclose(_got[1], _params[2], err_msg="inferência: a média móvel não muda")
np.testing.assert_allclose(_got[2], _params[3], err_msg="inferência: a variância móvel não muda")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

for _shape, _dtype in [((6, 3), np.int32), ((2, 4, 3, 5), np.float32)]:
    _x = (_rng.normal(-3, 5, size=_shape)).astype(_dtype)
    _c = _shape[-1]
    _params = (_rng.uniform(0.5, 2, _c), _rng.normal(size=_c), _rng.normal(size=_c), _rng.uniform(0.5, 2, _c))
    _before = [_x.copy()] + [p.copy() for p in _params]
    with forbid("keras.ops", "keras.layers", "tensorflow.nn", "cnnlib"):
        _got = batchnorm_forward(_x, *_params, training=False, momentum=0.8, epsilon=0.01)
    _expected = _keras_bn(_x.astype("float64"), *_params, training=False, momentum=0.8, epsilon=0.01)
    _compare_bn(_got, _expected, f"inferência, x{_shape} {np.dtype(_dtype).name}")
    for _a, _b in zip([_x] + list(_params), _before):
        np.testing.assert_array_equal(_a, _b, err_msg="os argumentos não devem ser modificados")
### END HIDDEN TESTS

# %% [markdown]
# Treino × inferência num lote de ativações deslocadas e esticadas: no treino a saída é
# centrada e de variância 1 em cada canal; na inferência, com estatísticas móveis que mal
# saíram do valor inicial (média 0, variância 1), a mesma entrada passa quase intacta.

# %%
_acts = np.random.default_rng(3).normal(4.0, 3.0, size=(256, 1))
_train, _mu, _var = batchnorm_forward(_acts, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1), training=True)
_infer, _, _ = batchnorm_forward(_acts, np.ones(1), np.zeros(1), _mu, _var, training=False)
plt.figure(figsize=(6, 3))
plt.hist(_acts[:, 0], bins=30, alpha=0.5, label="entrada")
plt.hist(_train[:, 0], bins=30, alpha=0.5, label="BN, treino")
plt.hist(_infer[:, 0], bins=30, alpha=0.5, label="BN, inferência (1 passo)")
plt.legend()
plt.title(f"média móvel após um passo: {_mu[0]:.3f}")
plt.show()

# %% [markdown]
# Leitura: só depois de muitos passos de treino as estatísticas móveis se aproximam das do
# conjunto de dados; é por isso que uma rede com BN avaliada cedo demais (ou com
# `training=True` na hora errada) dá resultados estranhos.
#
# ### *Label smoothing*
#
# Com alvos *one-hot*, a entropia cruzada só é mínima quando a rede dá probabilidade 1 à
# classe certa: os *logits* crescem sem limite e a rede fica confiante demais. O *label
# smoothing* troca o alvo por
#
# $$q' = (1 - \epsilon)\, q + \frac{\epsilon}{K},$$
#
# isto é, $1 - \epsilon + \epsilon/K$ na classe certa e $\epsilon/K$ em cada uma das $K$
# classes (inclusive a certa); cada linha continua somando 1.
#
# **Erratum.** O slide diz que o *label smoothing* regulariza o classificador "estimando o
# efeito do *dropout*". O artigo da v3 (Szegedy et al., 2016, seção 7) diz que ele estima o
# efeito marginalizado do ***label dropout***: é como se, com probabilidade $\epsilon$, o
# rótulo verdadeiro fosse trocado por um sorteado uniformemente entre as $K$ classes. Não
# tem relação com desligar neurônios.
#
# Exemplo: $K = 4$, $\epsilon = 0{,}1$, rótulo 2: `[0.025, 0.025, 0.925, 0.025]`.
#
# ### Exercício 5 (2 pontos): `smooth_labels`
#
# Devolva a matriz `(N, K)` de alvos suavizados, do zero (sem `keras`), para rótulos
# inteiros de forma `(N,)`. Cada linha soma 1, a classe certa recebe
# $1 - \epsilon + \epsilon/K$ e as demais $\epsilon/K$ — exatamente o alvo que o Keras usa em
# `CategoricalCrossentropy(label_smoothing=epsilon)`. $\epsilon$ fora de $[0, 1]$:
# `ValueError`.

# %% nbgrader={"grade": false, "grade_id": "smooth_labels", "solution": true}
def smooth_labels(labels, num_classes, epsilon=0.1):
    """Label-smoothed one-hot targets.

    Args:
        labels: ints, shape (N,), each in [0, num_classes).
        num_classes: K.
        epsilon: smoothing in [0, 1].

    Returns:
        float array (N, K): (1 - epsilon) * one_hot + epsilon / K.

    Raises:
        ValueError: epsilon outside [0, 1].
    """
    ### BEGIN SOLUTION
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1]. Received: epsilon={epsilon}")
    one_hot = np.eye(num_classes)[np.asarray(labels)]
    return (1.0 - epsilon) * one_hot + epsilon / num_classes
    ### END SOLUTION


# %%
print(smooth_labels([2, 0], 4, 0.1))

# %% nbgrader={"grade": true, "grade_id": "test_smooth_labels_rows", "points": 1}
"""smooth_labels: as linhas somam 1, a classe verdadeira fica com o maior valor, epsilon verificado."""
_got = np.asarray(smooth_labels([2, 0, 3], 4, 0.1))
assert _got.shape == (3, 4), f"forma esperada (3, 4), obtida {_got.shape}"
np.testing.assert_allclose(_got.sum(axis=1), [1, 1, 1], atol=1e-6, err_msg="cada linha deve somar 1")
np.testing.assert_array_equal(_got.argmax(axis=1), [2, 0, 3], err_msg="a classe certa tem o maior valor")
try:
    smooth_labels([0], 3, 1.5)
except ValueError:
    pass
else:
    raise AssertionError("smooth_labels([0], 3, 1.5) deve levantar ValueError (epsilon fora de [0, 1])")
### BEGIN HIDDEN TESTS
_labels = np.array([9, 0, 4, 4, 1])
for _eps in (0.0, 0.3, 1.0):
    _got = np.asarray(smooth_labels(_labels, 10, _eps))
    np.testing.assert_allclose(_got.sum(axis=1), np.ones(5), atol=1e-6, err_msg=f"epsilon={_eps}: cada linha soma 1")
    assert _got.shape == (5, 10), f"forma esperada (5, 10), obtida {_got.shape}"
try:
    smooth_labels([0], 3, -0.1)
except ValueError as _err:
    pass
else:
    raise AssertionError("smooth_labels([0], 3, -0.1) deve levantar ValueError")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_smooth_labels_values", "points": 1}
"""smooth_labels: os valores da aula, e a mesma perda que o label_smoothing do Keras."""
np.testing.assert_allclose(np.asarray(smooth_labels([2], 4, 0.1))[0], [0.025, 0.025, 0.925, 0.025],
                           atol=1e-6, err_msg="K = 4, epsilon = 0.1, rótulo 2")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(5)
for _k, _eps, _labels in [(5, 0.2, np.array([0, 4, 2, 2])), (3, 0.05, np.array([1])),
                          (10, 0.1, np.arange(10, dtype=np.int32))]:
    _probs = _rng.dirichlet(np.ones(_k), size=len(_labels)).astype("float32")
    with forbid("keras.losses", "keras.utils", "keras.ops", "tensorflow.one_hot", "cnnlib"):
        _targets = np.asarray(smooth_labels(_labels, _k, _eps))
    _mine = keras.losses.CategoricalCrossentropy(reduction=None)(_targets.astype("float32"), _probs).numpy()
    _ref = keras.losses.CategoricalCrossentropy(label_smoothing=_eps, reduction=None)(
        np.eye(_k, dtype="float32")[_labels], _probs).numpy()
    np.testing.assert_allclose(_mine, _ref, rtol=1e-5,
                               err_msg=f"K = {_k}, epsilon = {_eps}: perda diferente da do Keras com label_smoothing")
    _expected = (1 - _eps) * np.eye(_k)[_labels] + _eps / _k
    np.testing.assert_allclose(_targets, _expected, atol=1e-6, err_msg=f"K = {_k}, epsilon = {_eps}")
### END HIDDEN TESTS

# %% [markdown]
# O efeito na confiança: o menor valor possível da entropia cruzada com alvos suavizados é
# atingido quando a rede prevê exatamente $q'$, ou seja, probabilidade $1 - \epsilon +
# \epsilon/K$ na classe certa. Abaixo, a perda em função da probabilidade $p$ dada à classe
# certa (o resto dividido igualmente), com e sem suavização, para $K = 10$:

# %%
_p = np.linspace(0.05, 0.999, 300)
_K = 10
_probs = np.stack([_p] + [(1 - _p) / (_K - 1)] * (_K - 1), axis=1)
plt.figure(figsize=(6, 3))
for _eps in (0.0, 0.1, 0.3):
    _q = smooth_labels([0], _K, _eps)[0]
    _loss = -(np.log(_probs) * _q).sum(axis=1)
    plt.plot(_p, _loss, label=f"epsilon = {_eps} (mínimo em p = {_p[_loss.argmin()]:.2f})")
plt.xlabel("probabilidade da classe certa")
plt.ylabel("entropia cruzada")
plt.legend()
plt.show()

# %% [markdown]
# Leitura: sem suavização a perda só diminui até $p = 1$; com $\epsilon = 0{,}1$ o mínimo
# fica em $p = 0{,}91$ e a rede não ganha nada ficando mais confiante do que isso.
#
# ## 4. ResNet
#
# ### O problema da degradação e as classes de funções aninhadas
#
# Seja $\mathcal F$ o conjunto das funções que uma arquitetura consegue representar; o
# treino procura a melhor $f \in \mathcal F$. Uma arquitetura maior $\mathcal F'$ só garante
# uma solução pelo menos tão boa se $\mathcal F \subseteq \mathcal F'$.
#
# **Erratum.** O slide escreve $\mathcal F_n \subseteq \dots \subseteq \mathcal F_2
# \subseteq \mathcal F_1$; o certo é o contrário: **classes aninhadas crescentes**
# $\mathcal F_1 \subseteq \mathcal F_2 \subseteq \dots \subseteq \mathcal F_n$, cada
# arquitetura contém a anterior. É o que acontece quando a camada nova pode aprender a
# **identidade**: a rede maior consegue, no mínimo, imitar a menor.
#
# Na prática redes "planas" mais profundas às vezes **treinam pior** (erro de treino maior,
# não só de teste): é o **problema da degradação**.
#
# **Erratum.** O slide atribui a degradação a gradientes que desaparecem/explodem. He et
# al. (2015) argumentam o contrário: as redes planas deles usam *batch normalization*, os
# gradientes não desaparecem, e ainda assim a rede mais profunda treina pior. A degradação
# é uma dificuldade de **otimização** ("nem todos os sistemas são igualmente fáceis de
# otimizar"), e é isso que o aprendizado residual ataca.
#
# ### Aprendizado residual
#
# Se $H(x)$ é o mapeamento que queremos, o bloco residual faz as camadas aprenderem o
# **resíduo** e soma a entrada de volta por um atalho (*shortcut*):
#
# $$F(x) = H(x) - x, \qquad \text{saída} = \operatorname{ReLU}\big(F(x) + x\big).$$
#
# **Erratum.** O slide chama o mapeamento desejado de $F(x)$ e o resíduo de "$F(x) - x$";
# com a notação do artigo, o desejado é $H(x)$ e o bloco aprende $F(x) = H(x) - x$. Se a
# identidade é ótima, basta levar $F$ a zero (pesos a zero), o que é mais fácil do que fazer
# uma pilha de camadas não lineares imitar a identidade.
#
# ### Atalho com projeção
#
# $F(x) + x$ exige que $F(x)$ e $x$ tenham a mesma forma. Quando o bloco muda o número de
# canais ou reduz a resolução (passo 2), o atalho vira uma **projeção**: uma convolução
# $1 \times 1$ com o mesmo passo, seguida de BN. Quando as formas já batem, o atalho é a
# identidade — sem parâmetros.
#
# ### Exercício 6 (1 ponto): `needs_projection`
#
# Dado o número de canais da entrada, os `filters` do bloco, o passo e o tipo do bloco,
# diga se o atalho precisa de projeção. A saída do bloco tem `filters` canais no bloco
# **básico** e `4 * filters` no **bottleneck** (seção seguinte). Precisa de projeção se o
# passo for diferente de 1 **ou** se os canais de entrada forem diferentes dos de saída.
# Exemplos: `needs_projection(64, 64, 1, False)` é `False`; `needs_projection(64, 128, 2,
# False)`, `True`; `needs_projection(256, 64, 1, True)`, `False`; e também
# `needs_projection(128, 64, 1, False)` é `True` (canais diferentes, mesmo que diminuam).

# %% nbgrader={"grade": false, "grade_id": "needs_projection", "solution": true}
def needs_projection(in_channels, filters, strides=1, bottleneck=False):
    """Whether a residual block needs a 1x1 projection shortcut.

    Args:
        in_channels: channels of the block's input.
        filters: the block's filters (output: filters, or 4 * filters if bottleneck).
        strides: the block's stride.
        bottleneck: bottleneck (True) or basic (False) block.

    Returns:
        bool.
    """
    ### BEGIN SOLUTION
    out_channels = 4 * filters if bottleneck else filters
    return bool(strides != 1 or in_channels != out_channels)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_needs_projection", "points": 1}
"""needs_projection: um stride ou uma mudança no número de canais pede projeção; senão, identidade."""
for _args, _expected in [((64, 64, 1, False), False), ((64, 128, 2, False), True),
                         ((256, 64, 1, True), False), ((64, 64, 1, True), True),
                         ((64, 64, 2, False), True), ((128, 64, 1, False), True)]:
    _got = needs_projection(*_args)
    assert _got == _expected, f"needs_projection{_args}: esperado {_expected}, obtido {_got}"
### BEGIN HIDDEN TESTS
for _args, _expected in [((256, 128, 2, True), True), ((512, 128, 1, True), False),
                         ((3, 3, 1, False), False), ((12, 3, 1, True), False),
                         ((12, 3, 3, True), True), ((8, 16, 1, False), True),
                         ((16, 16, np.int64(1), False), False), ((1024, 64, 1, True), True),
                         ((24, 4, 1, False), True)]:
    _answer = needs_projection(*_args)
    assert _answer == _expected, f"needs_projection{_args} = {_answer}, mas o esperado é {_expected}"
### END HIDDEN TESTS

# %% [markdown]
# ### Blocos básico e *bottleneck*
#
# * **básico** (ResNet-18/34): $3 \times 3$ (passo $s$) → BN → ReLU → $3 \times 3$ → BN;
# * **bottleneck** (ResNet-50/101/152): $1 \times 1$ (passo $s$, reduz a `filters`
#   canais) → BN → ReLU → $3 \times 3$ → BN → ReLU → $1 \times 1$ (expande a
#   `4 * filters`) → BN. A $3 \times 3$ cara trabalha com 4× menos canais. (O passo fica na
#   primeira $1 \times 1$, como no artigo e em `keras.applications`; a variante "v1.5" do
#   torchvision o põe na $3 \times 3$.)
#
# Nos dois, a saída é $\operatorname{ReLU}(F(x) + \text{atalho}(x))$, com o atalho
# identidade ou projeção ($1 \times 1$ com passo $s$ → BN). As convoluções usam *padding*
# "same" e **não têm bias** (a BN logo depois já soma o seu $\beta$); a BN é a padrão do
# Keras (`keras.layers.BatchNormalization()`).
#
# Conta à mão, bloco básico com 64 canais e atalho identidade: duas convoluções
# $3 \times 3 \times 64 \times 64$ = $2 \cdot 36.864 = 73.728$ pesos, mais duas BN com 4
# vetores de 64 (γ, β, média e variância móveis: o `count_params` do Keras conta as
# estatísticas móveis) = 512: **74.240** parâmetros.
#
# ### Exercício 7 (4 pontos): `residual_block`
#
# Em Keras, estilo funcional: `residual_block(x, filters, strides=1, bottleneck=False)`
# recebe um tensor `(N, H, W, C)` e devolve a saída do bloco, com projeção só quando
# necessária (use `needs_projection`). A saída tem $\lceil H/s \rceil \times \lceil W/s
# \rceil$ e `filters` (ou `4 * filters`) canais. Não use `cnnlib.blocks.ResidualBlock`, que
# é o que você está recriando (os testes comparam com ele).

# %% nbgrader={"grade": false, "grade_id": "residual_block", "solution": true}
def residual_block(x, filters, strides=1, bottleneck=False):
    """Residual block (ResNet v1): relu(F(x) + shortcut(x)).

    Args:
        x: tensor (N, H, W, C).
        filters: channels of the 3x3 convolution(s).
        strides: stride of the block (on the first convolution and on the projection).
        bottleneck: 1x1-3x3-1x1 block with 4 * filters output channels.

    Returns:
        tensor (N, ceil(H / strides), ceil(W / strides), filters or 4 * filters).
    """
    ### BEGIN SOLUTION
    def conv_bn(t, f, k, s=1, relu=True):
        t = keras.layers.Conv2D(f, k, strides=s, padding="same", use_bias=False)(t)
        t = keras.layers.BatchNormalization()(t)
        return keras.layers.ReLU()(t) if relu else t

    out_channels = 4 * filters if bottleneck else filters
    if bottleneck:
        f = conv_bn(x, filters, 1, strides)
        f = conv_bn(f, filters, 3)
        f = conv_bn(f, out_channels, 1, relu=False)
    else:
        f = conv_bn(x, filters, 3, strides)
        f = conv_bn(f, filters, 3, relu=False)
    shortcut = x
    if needs_projection(x.shape[-1], filters, strides, bottleneck):
        shortcut = conv_bn(x, out_channels, 1, strides, relu=False)
    return keras.layers.ReLU()(keras.layers.Add()([f, shortcut]))
    ### END SOLUTION


# %%
_inp = keras.Input((56, 56, 64))
_basic = keras.Model(_inp, residual_block(_inp, 64))
print("básico, 56x56x64:", _basic.output.shape, f"{_basic.count_params():,} parâmetros")
_inp = keras.Input((56, 56, 64))
_bott = keras.Model(_inp, residual_block(_inp, 64, bottleneck=True))
print("bottleneck, 56x56x64:", _bott.output.shape, f"{_bott.count_params():,} parâmetros")

# %% nbgrader={"grade": true, "grade_id": "test_residual_block_basic", "points": 1}
"""residual_block (básico): forma, 74.240 parâmetros e os valores do ResidualBlock da cnnlib."""
from cnnlib.blocks import ResidualBlock


def _residual_pair(shape, filters, strides=1, bottleneck=False):
    inp = keras.Input(shape)
    mine = keyed_weights(keras.Model(inp, residual_block(inp, filters, strides, bottleneck)))
    ref = keyed_weights(keras.Model(inp, ResidualBlock(filters, strides=strides, bottleneck=bottleneck,
                                                       use_bias=False, epsilon=1e-3)(inp)))
    return mine, ref


def _check_residual(shape, filters, strides=1, bottleneck=False, n=2, seed=0):
    mine, ref = _residual_pair(shape, filters, strides, bottleneck)
    where = f"entrada {shape}, filters={filters}, strides={strides}, bottleneck={bottleneck}"
    assert tuple(mine.output.shape) == tuple(ref.output.shape), (
        f"{where}: saída esperada {tuple(ref.output.shape)}, obtida {tuple(mine.output.shape)}")
    assert mine.count_params() == ref.count_params(), (
        f"{where}: esperado {ref.count_params()} parâmetros, obtido {mine.count_params()}")
    x = np.random.default_rng(seed).normal(size=(n,) + shape).astype("float32")
    np.testing.assert_allclose(np.asarray(mine(x, training=False)), ref(x, training=False).numpy(),
                               rtol=1e-4, atol=1e-4, err_msg=f"{where}: saída diferente (inferência)")
    return mine


_check_residual((8, 8, 16), 16)
_inp = keras.Input((56, 56, 64))
_got = keras.Model(_inp, residual_block(_inp, 64)).count_params()
assert _got == 74_240, f"bloco básico 56x56x64: esperado 74.240 parâmetros, obtido {_got}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_inp = keras.Input((6, 9, 8))
with forbid("cnnlib.blocks", "cnnlib.models", "keras.applications"):
    _m = keras.Model(_inp, residual_block(_inp, 8))
assert not uses_cnnlib_layers(_m), "use camadas do Keras, não o bloco pronto da cnnlib"
_check_residual((6, 9, 8), 8, n=1)
_check_residual((7, 5, 8), 8, n=3, seed=1)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_residual_block_projection", "points": 1.5}
"""residual_block: atalho com projeção (stride 2 ou novo número de canais), e só nesses casos."""
_check_residual((8, 8, 8), 16, strides=2)
### BEGIN HIDDEN TESTS
_check_residual((7, 10, 8), 8, strides=2, n=1)
_check_residual((9, 6, 4), 12, strides=1, n=3)
_check_residual((5, 5, 6), 6, strides=3)
_check_residual((8, 8, 12), 12, strides=1)
_check_residual((6, 6, 16), 8, strides=1)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_residual_block_bottleneck", "points": 1.5}
"""residual_block (bottleneck): 1x1-3x3-1x1 com expansão 4x; um ramo zerado dá a identidade."""
_check_residual((6, 6, 32), 8, bottleneck=True)
_check_residual((6, 6, 16), 8, bottleneck=True)
### BEGIN HIDDEN TESTS
_check_residual((7, 4, 16), 8, strides=2, bottleneck=True, n=1)
_check_residual((5, 8, 8), 8, bottleneck=True, n=3)
# F(x) = 0 (all weights zero, BN the identity): the block must give relu(x).
for _shape, _f, _b in [((5, 7, 12), 3, True), ((6, 4, 5), 5, False)]:
    _inp = keras.Input(_shape)
    _m = keras.Model(_inp, residual_block(_inp, _f, 1, _b))
    for _v in _m.weights:
        _v.assign(np.ones(_v.shape) if _v.name in ("gamma", "moving_variance") else np.zeros(_v.shape))
    _x = np.random.default_rng(2).normal(size=(2,) + _shape).astype("float32")
    np.testing.assert_allclose(np.asarray(_m(_x, training=False)), np.maximum(_x, 0), atol=1e-3,
                               err_msg=f"com o ramo residual zerado, o bloco deve dar ReLU(x) (entrada {_shape})")
### END HIDDEN TESTS

# %% [markdown]
# ### Vendo a degradação (experimento, não avaliado)
#
# Duas redes estreitas (16 canais) e profundas sobre os dígitos $8 \times 8$ do
# scikit-learn (`cnnlib.data.load_digits`: 1.797 imagens reais; 1.400 para treino), com a
# mesma pilha de pares conv-BN-ReLU: uma **plana** e uma **residual** (o seu
# `residual_block`). Comparamos também com uma versão rasa de cada. O que interessa é a
# **perda de treino**: se a rede profunda plana treina pior que a rasa, é degradação.
# Semente fixa, 12 épocas (cerca de 260 passos), de segundos a meio minuto por rede.
#
# Uma nota que volta à seção 3: com o `momentum=0.99` padrão do Keras, 260 passos não
# bastam para as estatísticas móveis da BN alcançarem as dos *batches* (que mudam enquanto
# a rede aprende), e a acurácia de teste, medida em modo de inferência, fica perto do acaso
# (cerca de 17% num teste nosso) mesmo com a perda de treino baixa. Por isso trocamos o
# momentum das BN para 0,9 aqui.

# %%
from cnnlib import data as course_data


def plain_block(x, filters):
    """The residual block without its shortcut: relu(F(x))."""
    for relu in (True, False):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        if relu:
            x = keras.layers.ReLU()(x)
    return keras.layers.ReLU()(x)


def narrow_net(num_blocks, residual, width=16, bn_momentum=0.9):
    inp = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(inp)
    for _ in range(num_blocks):
        x = residual_block(x, width) if residual else plain_block(x, width)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, keras.layers.Dense(10)(x))
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum  # see the note above
    return model


degradation = {}
if HEAVY:
    _images, _labels = course_data.load_digits()
    _images = (_images / 16.0).astype("float32")[..., None]
    _order = np.random.default_rng(0).permutation(len(_images))
    _images, _labels = _images[_order], _labels[_order]
    _xtr, _ytr, _xte, _yte = _images[:1400], _labels[:1400], _images[1400:], _labels[1400:]
    for _blocks in (2, 15):
        for _residual in (False, True):
            keras.utils.set_random_seed(0)
            _net = narrow_net(_blocks, _residual)
            _net.compile(keras.optimizers.Adam(1e-3),
                         keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
            _hist = _net.fit(_xtr, _ytr, epochs=12, batch_size=64, verbose=0, validation_data=(_xte, _yte))
            _name = f"{'residual' if _residual else 'plana'}, {2 * _blocks + 2} camadas"
            degradation[_name] = _hist.history
            print(f"{_name:22s} perda de treino final {_hist.history['loss'][-1]:.3f} | "
                  f"acurácia de teste {_hist.history['val_accuracy'][-1]:.3f}")

# %%
if HEAVY:
    plt.figure(figsize=(6, 3.5))
    for _name, _h in degradation.items():
        plt.plot(_h["loss"], label=_name, linestyle="-" if "residual" in _name else "--")
    plt.yscale("log")
    plt.xlabel("época")
    plt.ylabel("perda de treino")
    plt.legend()
    plt.title("dígitos 8x8: redes planas x residuais")
    plt.show()

# %% [markdown]
# Leitura: compare as duas curvas tracejadas (planas). Na nossa execução a plana de 32
# camadas termina com perda de treino 0,62, pior que a de 6 camadas (0,32): a rede mais
# profunda treina pior — degradação, mesmo com BN. A residual de 32 camadas chega a 0,002
# (e 98,5% de acurácia de teste, contra 77% da plana de 32): na pior hipótese seus blocos
# aprendem $F = 0$ e ela se comporta como a rasa.
#
# ## 5. A tabela da ResNet: 18/34/50/101/152
#
# A tabela da aula (tabela 1 de He et al.): um *stem* com convolução $7 \times 7$, 64
# filtros, passo 2 (*padding* 3: $224 \to 112$) e *max pooling* $3 \times 3$ com passo 2
# (*padding* 1: $112 \to 56$); quatro estágios com 64, 128, 256 e 512 `filters`, com
# 2/2/2/2 (18), 3/4/6/3 (34, 50), 3/4/23/3 (101) e 3/8/36/3 (152) blocos; o primeiro bloco
# dos estágios 2, 3 e 4 tem passo 2 ($56 \to 28 \to 14 \to 7$); *global average pooling* e
# uma densa de 1000 saídas. FLOPs da aula: 1,8 / 3,6 / 3,8 / 7,6 / 11,3 $\times 10^9$.
#
# ### Exercício 8 (3 pontos): `resnet_macs`
#
# Conte as multiplicações-somas de uma ResNet para uma imagem `input_size × input_size × 3`:
#
# * *stem*: conv $7 \times 7$, 3 → 64 canais, passo 2, *padding* 3: saída
#   $S_1 = \lfloor (S + 6 - 7)/2 \rfloor + 1$; *max pooling* 3, passo 2, *padding* 1:
#   $S_2 = \lfloor (S_1 + 2 - 3)/2 \rfloor + 1$ (custo 0);
# * cada bloco como no Exercício 7: convoluções "same", passo só na primeira convolução do
#   bloco (e na projeção), saída $\lceil S/s \rceil$; **conte a projeção** quando
#   `needs_projection` diz que ela existe;
# * a densa final: (canais de saída do último estágio) × `num_classes`;
# * BN, ReLU, somas do atalho e *pooling* custam 0. Devolva um inteiro.
#
# Conta à mão de alguns termos da ResNet-18: o *stem* custa $112^2 \cdot 7^2 \cdot 3 \cdot 64
# = 118.013.952$; cada bloco básico de conv2_x, $2 \cdot 56^2 \cdot 9 \cdot 64 \cdot 64 =
# 231.211.008$; o primeiro bloco de conv3_x (passo 2, $56 	o 28$) custa $28^2 \cdot 9
# \cdot (64 \cdot 128 + 128 \cdot 128)$ mais a projeção $28^2 \cdot 64 \cdot 128$; a densa,
# $512 \cdot 1000$. Somando tudo, a ResNet-18 custa 1.814.073.344 e a ResNet-50,
# 3.857.973.248: os 1,8 G e 3,8 G da tabela (o artigo arredonda).

# %% nbgrader={"grade": false, "grade_id": "resnet_macs", "solution": true}
def resnet_macs(depths, bottleneck, input_size=224, num_classes=1000):
    """Multiply-adds of a ResNet (convolutions and the final dense layer).

    Args:
        depths: blocks per stage, e.g. (3, 4, 6, 3); stage i has 64 * 2**i filters.
        bottleneck: bottleneck (True) or basic (False) blocks.
        input_size: S of the S x S x 3 input.
        num_classes: outputs of the final dense layer.

    Returns:
        int.
    """
    ### BEGIN SOLUTION
    size = (input_size + 6 - 7) // 2 + 1
    macs = size * size * 7 * 7 * 3 * 64
    size = (size + 2 - 3) // 2 + 1
    channels = 64
    for stage, blocks in enumerate(depths):
        filters = 64 * 2 ** stage
        out_channels = 4 * filters if bottleneck else filters
        for i in range(blocks):
            strides = 2 if stage > 0 and i == 0 else 1
            out = -(-size // strides)
            if bottleneck:
                per_pixel = channels * filters + 9 * filters * filters + filters * out_channels
            else:
                per_pixel = 9 * channels * filters + 9 * filters * filters
            if needs_projection(channels, filters, strides, bottleneck):
                per_pixel += channels * out_channels
            macs += out * out * per_pixel
            channels, size = out_channels, out
    return int(macs + channels * num_classes)
    ### END SOLUTION


# %%
LECTURE_GFLOPS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}
RESNET_DEPTHS = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False), 50: ((3, 4, 6, 3), True),
                 101: ((3, 4, 23, 3), True), 152: ((3, 8, 36, 3), True)}
for _depth, (_stages, _bott) in RESNET_DEPTHS.items():
    _g = resnet_macs(_stages, _bott) / 1e9
    print(f"ResNet-{_depth:<3d} {_g:6.2f} G (aula: {LECTURE_GFLOPS[_depth]} G, diferença "
          f"{_g / LECTURE_GFLOPS[_depth] - 1:+.1%})")

# %% nbgrader={"grade": true, "grade_id": "test_resnet_macs_lecture", "points": 1.5}
"""resnet_macs: ResNet-18 e -50 exatas, e os cinco GFLOPs da aula com até 5% de diferença."""
_got = resnet_macs((2, 2, 2, 2), False)
assert _got == 1_814_073_344, f"ResNet-18: esperado 1.814.073.344, obtido {_got}"
_got = resnet_macs((3, 4, 6, 3), True)
assert _got == 3_857_973_248, f"ResNet-50: esperado 3.857.973.248, obtido {_got}"
for _depth, _stages, _bott, _gflops in [(18, (2, 2, 2, 2), False, 1.8), (34, (3, 4, 6, 3), False, 3.6),
                                        (50, (3, 4, 6, 3), True, 3.8), (101, (3, 4, 23, 3), True, 7.6),
                                        (152, (3, 8, 36, 3), True, 11.3)]:
    _got = resnet_macs(_stages, _bott) / 1e9
    assert abs(_got / _gflops - 1) < 0.05, f"ResNet-{_depth}: esperado {_gflops} G (±5%), obtido {_got:.3f} G"
### BEGIN HIDDEN TESTS
for _stages, _bott, _expected in [((3, 4, 6, 3), False, 3_663_761_408), ((3, 4, 23, 3), True, 7_570_194_432),
                                  ((3, 8, 36, 3), True, 11_282_415_616)]:
    _got = resnet_macs(_stages, _bott)
    assert _got == _expected, f"depths={_stages}, bottleneck={_bott}: esperado {_expected}, obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_resnet_macs_general", "points": 1.5}
"""resnet_macs: outras profundidades, tamanhos de entrada (ímpares também) e números de classes, contados como a cnnlib conta."""
# Expected values: cnnlib.models.count_flops(cnnlib.models.resnet(depths, bottleneck, ...)).
_got = resnet_macs((1, 2, 1, 1), False, input_size=97, num_classes=7)
assert _got == 260_954_816, f"depths=(1, 2, 1, 1), básico, 97x97, 7 classes: esperado 260.954.816, obtido {_got}"
### BEGIN HIDDEN TESTS
for _stages, _bott, _size, _classes, _expected in [((1, 1, 1, 1), True, 64, 10, 100_880_384),
                                                   ((2, 1, 1, 2), True, 50, 3, 114_639_040),
                                                   ((1, 1, 1), False, 33, 5, 22_684_096)]:
    _got = resnet_macs(_stages, _bott, input_size=_size, num_classes=_classes)
    assert _got == _expected, (f"depths={_stages}, bottleneck={_bott}, {_size}x{_size}, {_classes} classes: "
                               f"esperado {_expected}, obtido {_got}")
### END HIDDEN TESTS

# %% [markdown]
# Os parâmetros da mesma tabela, pelos modelos da `cnnlib` (construir a ResNet-152 leva
# alguns segundos; os parâmetros treináveis sem *bias*, como no artigo e no torchvision),
# ao lado dos nossos GFLOPs:

# %%
from cnnlib.models import resnet

_rows = []
if HEAVY:
    for _depth, (_stages, _bott) in RESNET_DEPTHS.items():
        _m = resnet(_stages, _bott, use_bias=False)
        _trainable = sum(int(np.prod(v.shape)) for v in _m.trainable_weights)
        _rows.append((_depth, _trainable / 1e6, resnet_macs(_stages, _bott) / 1e9))
        del _m
        keras.backend.clear_session()
    for _depth, _params, _g in _rows:
        print(f"ResNet-{_depth:<3d} {_params:6.1f} M parâmetros  {_g:5.2f} G MACs")
    plt.figure(figsize=(6, 3))
    plt.scatter([r[1] for r in _rows], [r[2] for r in _rows], label="nossa contagem")
    plt.scatter([r[1] for r in _rows], [LECTURE_GFLOPS[r[0]] for r in _rows], marker="x", label="tabela da aula")
    for _depth, _params, _g in _rows:
        plt.annotate(str(_depth), (_params, _g), textcoords="offset points", xytext=(5, -10))
    plt.xlabel("milhões de parâmetros")
    plt.ylabel("G multiplicações-somas")
    plt.legend()
    plt.show()

# %% [markdown]
# Leitura: a ResNet-50 tem quase o custo da 34 (3,9 G contra 3,7 G) com 17% mais
# parâmetros (25,6 M contra 21,8 M) e 16 camadas a mais: é o que o *bottleneck* compra. Da 50 para a 152 o custo
# triplica.
#
# ## Resumo
#
# * Inception: ramos paralelos com *kernels* diferentes; convoluções $1 \times 1$ reduzem os
#   canais antes das convoluções caras (120 M → 12 M no exemplo $5 \times 5$).
# * v2: duas $3 \times 3$ no lugar de uma $5 \times 5$ economizam 28% (não "2,78"); $1
#   \times n + n \times 1$ no lugar de $n \times n$, $1 - 2/n$.
# * v3: *batch normalization* (estatísticas do *batch* no treino, móveis na inferência) e
#   *label smoothing* (efeito marginalizado do *label dropout*).
# * ResNet: classes aninhadas $\mathcal F_1 \subseteq \mathcal F_2 \subseteq \dots$; o bloco
#   aprende $F(x) = H(x) - x$; projeção $1 \times 1$ só quando as formas mudam; o
#   *bottleneck* permite 50–152 camadas a custo moderado.
