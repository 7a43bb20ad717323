# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — Convolução
#
# **Redes Convolucionais para classificação de imagens** — notebook avaliado 1 (20 pontos).
#
# Neste notebook você vai:
#
# 1. contar os parâmetros de uma MLP aplicada a imagens e ver por que ela não escala;
# 2. rever a notação da aula (soma, Hadamard, produto matricial, produto escalar);
# 3. implementar **do zero, em NumPy**, a "convolução" das CNNs (que é, na verdade, uma
#    **correlação cruzada**), com *padding*, *stride* e *dilatação*;
# 4. aplicar filtros clássicos (Sobel, Laplaciano, média, *motion blur*) a uma foto real;
# 5. implementar o *forward* de uma camada convolucional com vários canais e filtros e
#    contar seus parâmetros, conferindo tudo com o Keras.
#
# **Regras.** Preencha apenas as células marcadas com `# SEU CÓDIGO AQUI` (apague o
# `raise NotImplementedError()`). As funções se apoiam umas nas outras: `cross_correlation2d`
# usa a sua `pad2d`, e `apply_kernel_bank` e `conv_layer_forward` usam a sua
# `cross_correlation2d`. Nas funções "do zero" use só NumPy básico (laços,
# fatiamento, `np.sum`, `np.zeros`...): testes ocultos reprovam respostas que chamam
# `scipy.signal`, `scipy.ndimage`, `np.convolve`, `tf.nn.conv2d`, camadas do Keras ou
# `cnnlib.reference`. Cada célula de teste vale de 0,5 a 2 pontos; os testes visíveis
# não são os únicos — os ocultos testam entradas não quadradas, *stride* > 1, kernels de
# tamanho par, dilatação, vários canais e tipos (`uint8`).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

# Durante a correção automática (nbgrader) as células de demonstração com fotos e Keras
# são puladas, para a correção levar segundos.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
np.set_printoptions(precision=3, suppress=True)
rng = np.random.default_rng(0)
print("NumPy", np.__version__, "| correção automática:", GRADING)

# %% [markdown]
# ## Parte 1 — MLP com imagens (2 pontos)
#
# Queremos classificar uma imagem RGB de 640×480. São 307.200 pixels, cada um com 3
# intensidades: a entrada achatada tem $n = 640 \cdot 480 \cdot 3 = 921.600$ valores.
#
# Uma camada densa com $n_{in}$ entradas e $n_{out}$ neurônios tem uma matriz de pesos
# $n_{in} \times n_{out}$ **e um bias por neurônio**:
#
# $$\#\text{parâmetros} = n_{in} \cdot n_{out} + n_{out}.$$
#
# Para uma MLP com camadas intermediárias $H = [20, 10, 2]$ as contagens são
# $[20n + 20,\; 10 \cdot 20 + 10,\; 2 \cdot 10 + 2]$.
#
# > **Errata dos slides.** O slide escreve $[20n + n,\; 10 \cdot 20 + 20,\; 2 \cdot 10 + 10]$
# > e conclui que a primeira camada tem 19.353.600 parâmetros. O bias soma **um termo por
# > neurônio da própria camada**, não por entrada: são $20 \cdot 921.600 + 20 = 18.432.020$
# > parâmetros. Pelo mesmo motivo a segunda camada tem $10 \cdot 20 + 10 = 210$ (não
# > $10 \cdot 20 + 20$) e a terceira tem $2 \cdot 10 + 2 = 22$ (não $2 \cdot 10 + 10$).
#
# Mesmo corrigido, o número é enorme: 18 milhões de pesos para apenas 20 neurônios, e o
# *backpropagation* ainda guarda um gradiente para cada um.

# %% nbgrader={"grade": false, "grade_id": "mlp_dense_params", "solution": true}
def mlp_dense_params(n_inputs, layer_sizes):
    """Number of parameters (weights + biases) of each dense layer of an MLP.

    Args:
        n_inputs: int, size of the flattened input vector.
        layer_sizes: list of int, neurons of each layer, in order.

    Returns:
        list of int, one count per layer: ``n_in * n_out + n_out``, where ``n_in`` is the
        size of the previous layer (``n_inputs`` for the first one).
    """
    ### BEGIN SOLUTION
    counts = []
    fan_in = n_inputs
    for units in layer_sizes:
        counts.append(int(fan_in * units + units))
        fan_in = units
    return counts
    ### END SOLUTION


# %%
n_rgb = 640 * 480 * 3
per_layer = mlp_dense_params(n_rgb, [20, 10, 2])
print(f"n = {n_rgb:,}; parâmetros por camada: {per_layer}; total: {sum(per_layer):,}")

# %% nbgrader={"grade": true, "grade_id": "test_mlp_dense_params_lecture", "points": 1}
"""O exemplo da aula (640x480 RGB, H = [20, 10, 2]) com a errata corrigida."""
got = mlp_dense_params(640 * 480 * 3, [20, 10, 2])
assert list(got) == [18_432_020, 210, 22], f"esperado [18432020, 210, 22], obtido {got}"
### BEGIN HIDDEN TESTS
_mnist = mlp_dense_params(28 * 28, [128, 10])
assert list(_mnist) == [100_480, 1_290], f"MLP no MNIST: esperado [100480, 1290], obtido {_mnist}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_mlp_dense_params_general", "points": 1}
"""Uma camada pequena; depois várias camadas encadeadas."""
got = mlp_dense_params(4, [3])
assert list(got) == [15], f"4 entradas, 3 neurônios: esperado [15] (12 pesos + 3 bias), obtido {got}"
### BEGIN HIDDEN TESTS
_chain = mlp_dense_params(3, [2, 2, 1])
assert list(_chain) == [8, 6, 3], f"camadas encadeadas: esperado [8, 6, 3], obtido {_chain}"
assert list(mlp_dense_params(5, [])) == [], "sem camadas: esperado []"
assert all(isinstance(c, (int, np.integer)) for c in _chain), f"esperado inteiros, obtido {_chain}"
### END HIDDEN TESTS

# %% [markdown]
# Além do tamanho, a MLP **perde a estrutura espacial**: ao achatar a imagem, dois pixels
# vizinhos na vertical ficam a uma linha inteira de distância no vetor de entrada.

# %%
height, width, channels = 480, 640, 3
def flat_index(row, col, ch):
    return (row * width + col) * channels + ch
print("pixel (10, 20) R ->", flat_index(10, 20, 0), "| vizinho de baixo (11, 20) R ->",
      flat_index(11, 20, 0), "| distância:", flat_index(11, 20, 0) - flat_index(10, 20, 0))

# %% [markdown]
# As CNNs resolvem as duas coisas: cada camada olha uma **região** pequena (o kernel) e seus
# parâmetros **não dependem do tamanho espacial** da entrada.
#
# ## Parte 2 — Notação
#
# Escalares, vetores e matrizes são tensores de posto 0, 1 e 2; uma imagem é um tensor
# $I: \Omega \to \mathbb{R}^{d_c}$ (para RGB, $d_c = 3$, e cada pixel $p \in \Omega$ tem
# $d_i = 2$ coordenadas), guardado como um array $H \times W \times 3$. As operações da
# aula, em NumPy:
#
# | operação | fórmula | NumPy |
# |---|---|---|
# | soma | $z(i,j) = x(i,j) + y(i,j)$ | `x + y` |
# | soma de redução | $z = \sum_i \sum_j x(i,j)$ | `x.sum()` |
# | produto de Hadamard | $z(i,j) = x(i,j)\, y(i,j)$ | `x * y` |
# | produto matricial | $z(i,j) = \sum_k x(i,k)\, y(k,j)$ | `x @ y` |
# | produto escalar | $z = \sum_i x(i)\, y(i)$ | `u @ v` |
#
# e a "convolução" das CNNs — que é, na verdade, uma **correlação cruzada** (o slide marca
# o nome como impróprio):
#
# $$z(p, q) = \sum_{i} \sum_{j} x(p + i,\, q + j)\, y(i, j).$$

# %%
for label, obj in [("escalar", np.float64(0.98)), ("vetor", np.zeros(5)), ("matriz", np.zeros((4, 3))),
                   ("imagem RGB", np.zeros((480, 640, 3)))]:
    print(f"{label:10s} posto (ndim) = {np.ndim(obj)}, resolução = {np.shape(obj)}")
x_small = np.arange(4.0).reshape(2, 2)
y_small = np.array([[1.0, -1.0], [2.0, 0.5]])
print("soma:\n", x_small + y_small)
print("redução:", x_small.sum(), "| Hadamard:\n", x_small * y_small)
print("matricial:\n", x_small @ y_small)
print("escalar:", x_small.ravel() @ y_small.ravel(),
      "= soma do Hadamard:", (x_small * y_small).sum())

# %% [markdown]
# ## Parte 3 — Convolução e correlação cruzada
#
# A convolução combina duas funções: $(f * g)(x) = \int f(z)\, g(x - z)\, dz$. No caso
# discreto, $(f * g)(i) = \sum_a f(a)\, g(i - a)$, e em 2D
# $(f * g)(i, j) = \sum_a \sum_b f(a, b)\, g(i - a, j - b)$.
#
# O sinal de menos **espelha** o kernel. A correlação cruzada é a mesma soma sem espelhar.
# Logo, convoluir com $g$ é correlacionar com $g$ girado 180°:

# %%
f_1d = np.array([1.0, 2.0, 3.0, 4.0])
g_1d = np.array([1.0, 0.0, -1.0])
print("convolução   np.convolve(f, g)        :", np.convolve(f_1d, g_1d, mode="valid"))
print("correlação   np.correlate(f, g)       :", np.correlate(f_1d, g_1d, mode="valid"))
print("correlação com g espelhado            :", np.correlate(f_1d, g_1d[::-1], mode="valid"))

# %% [markdown]
# Nas CNNs (Keras, TensorFlow, PyTorch) a operação chamada "convolução" **não espelha** o
# kernel: como os pesos são aprendidos, espelhar não muda nada do que a rede consegue
# representar. O exemplo resolvido da aula:
#
# $$\begin{bmatrix}0&1&2\\3&4&5\\6&7&8\end{bmatrix} \star
# \begin{bmatrix}0&1\\2&3\end{bmatrix} =
# \begin{bmatrix}19&25\\37&43\end{bmatrix},\qquad
# 19 = 0\cdot0 + 1\cdot1 + 3\cdot2 + 4\cdot3.$$
#
# ### Os elementos de uma camada convolucional
#
# - **Kernel** $K$: o tamanho da janela (pode ser não quadrado, $K_h \times K_w$).
# - **Padding** $P$: zeros acrescentados nas **quatro** bordas. `"valid"` = sem padding
#   (a saída encolhe); `"same"` = $P = (K - 1)/2$ com *stride* 1, e a saída tem o mesmo
#   tamanho da entrada (para $K$ ímpar).
# - **Stride** $S$: o passo com que a janela anda, **nas duas direções**.
# - **Dilatação** $D$: espaça os elementos do kernel; o kernel efetivo tem
#   $K_{ef} = D\,(K - 1) + 1$ (um 3×3 com $D = 2$ cobre 5×5).
#
# O tamanho espacial da saída é
#
# $$W_{out} = \left\lfloor \frac{W_{in} - K_{ef} + 2P}{S} \right\rfloor + 1.$$
#
# O slide diz que, se a divisão não for exata, o *stride* deve ser ajustado; os frameworks
# simplesmente arredondam para baixo (as últimas colunas ficam de fora), e é o que
# faremos. Exemplo da aula: $256 \times 256$, $K = 3$, $P = 0$, $S = 1$ dá $254$; à mão,
# $\lfloor (256 - 3 + 0)/1 \rfloor + 1 = 254$. Com $W_{in} = 7$, $K = 3$, $S = 2$:
# $\lfloor 4/2 \rfloor + 1 = 3$.
#
# ### Exercício 1 — tamanho da saída (3 pontos)
#
# `conv_output_size` devolve um **inteiro** (use a divisão inteira `//`, não `/`: `7 / 2`
# é o *float* `3.5`).

# %% nbgrader={"grade": false, "grade_id": "conv_output_size", "solution": true}
def conv_output_size(w_in, k, p=0, s=1, d=1):
    """Spatial size of a convolution output along one axis.

    W_out = floor((W_in - K_ef + 2P) / S) + 1, with K_ef = D * (K - 1) + 1.

    Args:
        w_in: int, input size (height or width).
        k: int, kernel size along that axis.
        p: int, zero padding added on *each* side.
        s: int, stride.
        d: int, dilation.

    Returns:
        int, the output size.
    """
    ### BEGIN SOLUTION
    effective = d * (k - 1) + 1
    return (w_in - effective + 2 * p) // s + 1
    ### END SOLUTION


# %%
print("256x256, K=3, P=0, S=1 ->", conv_output_size(256, 3))
print("'same' (P=1)            ->", conv_output_size(256, 3, p=1))
print("K=3, S=2, D=2 em 11     ->", conv_output_size(11, 3, s=2, d=2))

# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size_lecture", "points": 1}
"""O exemplo 256x256 da aula e o padding 'same' P = (K - 1) / 2."""
assert conv_output_size(256, 3, 0, 1) == 254, f"esperado 254, obtido {conv_output_size(256, 3, 0, 1)}"
assert conv_output_size(256, 3, 1, 1) == 256, f"com P=1 esperado 256, obtido {conv_output_size(256, 3, 1, 1)}"
assert isinstance(conv_output_size(256, 3), (int, np.integer)), (
    f"esperado um inteiro (int), obtido {conv_output_size(256, 3)!r} do tipo {type(conv_output_size(256, 3)).__name__}")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid as _forbid
# from scratch: the library formula (cnnlib.reference / cnnlib.geometry) is forbidden
with _forbid("cnnlib.reference", "cnnlib.geometry.output_size"):
    for _args, _want in [((28, 5, 2, 1), 28), ((32, 1, 0, 1), 32), ((10, 4, 0, 1), 7), ((5, 5, 0, 1), 1)]:
        _got = conv_output_size(*_args)
        assert _got == _want, f"conv_output_size{_args}: esperado {_want}, obtido {_got}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size_stride", "points": 1}
"""Stride > 1: divisão inteira, arredondando para baixo."""
assert conv_output_size(7, 3, 0, 2) == 3, f"esperado 3, obtido {conv_output_size(7, 3, 0, 2)}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid as _forbid
# from scratch: the library formula (cnnlib.reference / cnnlib.geometry) is forbidden
with _forbid("cnnlib.reference", "cnnlib.geometry.output_size"):
    for _args, _want in [((227, 11, 0, 4), 55), ((224, 7, 3, 2), 112), ((8, 3, 0, 2), 3),
                         ((6, 2, 0, 2), 3), ((10, 3, 1, 3), 4)]:
        _got = conv_output_size(*_args)
        assert _got == _want, f"conv_output_size{_args}: esperado {_want}, obtido {_got}"
        assert isinstance(_got, (int, np.integer)), f"esperado um inteiro, obtido {_got!r}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size_dilation", "points": 1}
"""Dilatação: o kernel efetivo tem D * (K - 1) + 1 elementos."""
got = conv_output_size(7, 3, 0, 1, 2)
assert got == 3, f"3x3 com D=2 cobre 5x5: esperado 3, obtido {got}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid as _forbid
# from scratch: the library formula (cnnlib.reference / cnnlib.geometry) is forbidden
with _forbid("cnnlib.reference", "cnnlib.geometry.output_size"):
    for _args, _want in [((10, 3, 2, 1, 2), 10), ((33, 5, 0, 2, 3), 11), ((9, 2, 0, 1, 4), 5)]:
        _got = conv_output_size(*_args)
        assert _got == _want, f"conv_output_size{_args}: esperado {_want}, obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercício 2 — padding com zeros (2 pontos)
#
# `pad2d` acrescenta zeros nas bordas **de cima, de baixo, da esquerda e da direita**,
# nunca no eixo dos canais. `p` pode ser um inteiro (o mesmo nas duas direções) ou um
# par `(p_h, p_w)`. A saída tem o **mesmo dtype** da entrada (uma foto `uint8` continua
# `uint8`). Não use `np.pad`: crie a saída com `np.zeros(forma, dtype=x.dtype)` e copie `x`
# para o meio. Exemplo: `pad2d([[1, 2]], 1)` = `[[0, 0, 0, 0], [0, 1, 2, 0], [0, 0, 0, 0]]`.

# %% nbgrader={"grade": false, "grade_id": "pad2d", "solution": true}
def pad2d(x, p):
    """Zero-pad the two spatial axes of an image.

    Args:
        x: array ``(H, W)`` or ``(H, W, C)``.
        p: int, or a pair ``(p_h, p_w)``: zeros added on each side of the height and
            width axes.

    Returns:
        array ``(H + 2 p_h, W + 2 p_w)`` or ``(H + 2 p_h, W + 2 p_w, C)``, same dtype as
        ``x``, with ``x`` in the middle.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    ph, pw = (p, p) if np.isscalar(p) else p
    out = np.zeros((x.shape[0] + 2 * ph, x.shape[1] + 2 * pw) + x.shape[2:], dtype=x.dtype)
    out[ph:ph + x.shape[0], pw:pw + x.shape[1]] = x
    return out
    ### END SOLUTION


# %%
print(pad2d(np.arange(1, 7).reshape(2, 3), (1, 2)))

# %% nbgrader={"grade": true, "grade_id": "test_pad2d_basic", "points": 1}
"""Padding 1 em uma imagem 2x2: borda de zeros, a imagem no meio."""
got = pad2d(np.ones((2, 2)), 1)
want = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], dtype=float)
assert np.shape(got) == (4, 4), f"esperado formato (4, 4), obtido {np.shape(got)}"
assert np.array_equal(got, want), f"esperado\n{want}\nobtido\n{got}"
got8 = pad2d(np.full((2, 2), 7, dtype=np.uint8), 1)
assert np.asarray(got8).dtype == np.uint8, f"o dtype deve ser mantido: esperado uint8, obtido {np.asarray(got8).dtype}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_img = np.arange(6, dtype=np.int64).reshape(2, 3)
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers", "numpy.pad"):
    _p2 = pad2d(_img, 2)
    _p0 = pad2d(_img, 0)
assert np.array_equal(_p2, np.pad(_img, 2)), f"2x3 com p=2: esperado\n{np.pad(_img, 2)}\nobtido\n{_p2}"
assert np.array_equal(_p0, _img), f"p=0 deve devolver a própria imagem, obtido\n{_p0}"
assert _p2.dtype == _img.dtype, f"o dtype deve ser mantido: esperado int64, obtido {_p2.dtype}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_pad2d_channels_and_pairs", "points": 1}
"""Imagens com canais (H, W, C) e padding diferente em cada eixo (p_h, p_w)."""
got = pad2d(np.ones((3, 3, 2)), 1)
assert np.shape(got) == (5, 5, 2), f"os canais não recebem padding: esperado (5, 5, 2), obtido {np.shape(got)}"
got = pad2d(np.ones((2, 2)), (1, 0))
assert np.shape(got) == (4, 2), f"p=(1, 0) em 2x2: esperado (4, 2), obtido {np.shape(got)}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers", "numpy.pad"):
    _pr = pad2d(_rgb, (1, 2))
    _pg = pad2d(_rgb[..., 0].astype(float), (2, 1))
_want_rgb = np.pad(_rgb, ((1, 1), (2, 2), (0, 0)))
assert np.array_equal(_pr, _want_rgb) and _pr.dtype == np.uint8, f"(2,3,3) com p=(1,2): obtido {_pr.shape} {_pr.dtype}"
assert np.array_equal(_pg, np.pad(_rgb[..., 0].astype(float), ((2, 2), (1, 1)))), f"(2,3) com p=(2,1): obtido\n{_pg}"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercício 3 — correlação cruzada 2D do zero (5 pontos)
#
# Implemente a "convolução" das CNNs para **um canal**:
#
# $$z(p, q) = \sum_{i=0}^{K_h-1} \sum_{j=0}^{K_w-1}
#   \tilde{x}(pS + iD,\; qS + jD)\; k(i, j),$$
#
# onde $\tilde{x}$ é a entrada com padding. Passos:
#
# 1. converta `x` para `float64` (uma imagem `uint8` não guarda valores negativos);
# 2. resolva o padding: um inteiro, `"valid"` (0) ou `"same"`
#    ($P = (K_{ef} - 1)/2$ em cada eixo; exija $K_{ef}$ ímpar);
# 3. aplique `pad2d` e calcule $H_{out}, W_{out}$ pela fórmula;
# 4. percorra as posições de saída: a janela começa em `(p*S, q*S)` e lê
#    `x[p*S + i*D, q*S + j*D]`. **Não espelhe o kernel.**
#
# Dica: dois laços sobre as posições de saída com `np.sum(janela * kernel)` funcionam; a
# solução mais rápida faz o laço sobre as posições **do kernel** e soma fatias inteiras;
# `sliding_window_view` + `np.einsum` também é uma resposta "do zero" válida.
#
# As opções se combinam: `"same"` com dilatação usa o kernel **efetivo** — um 3×3 com
# $D = 2$ tem $K_{ef} = 5$, logo $P = 2$ e uma entrada 6×6 continua 6×6. A função não
# modifica `x` nem `kernel`, e devolve sempre `float64`.

# %% nbgrader={"grade": false, "grade_id": "cross_correlation2d", "solution": true}
def cross_correlation2d(x, kernel, padding=0, stride=1, dilation=1):
    """2D cross-correlation (a CNN's "convolution") of one channel, from scratch.

    z[p, q] = sum_{i, j} xpad[p*S + i*D, q*S + j*D] * kernel[i, j]

    Args:
        x: array ``(H, W)``, any real dtype (computed in float64).
        kernel: array ``(K_h, K_w)``; not flipped.
        padding: int (zeros on each side), ``"valid"`` (0) or ``"same"``
            (``(K_ef - 1) // 2`` on each axis, ``K_ef = D * (K - 1) + 1`` must be odd).
        stride: int, step of the window along both axes.
        dilation: int, spacing between kernel taps.

    Returns:
        float64 array ``(H_out, W_out)``,
        ``H_out = (H - K_ef_h + 2 P_h) // S + 1`` (same for W).
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    eff_h, eff_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
    if padding == "valid":
        pads = (0, 0)
    elif padding == "same":
        if eff_h % 2 == 0 or eff_w % 2 == 0:
            raise ValueError(f"'same' needs an odd effective kernel. Received: {(eff_h, eff_w)}")
        pads = ((eff_h - 1) // 2, (eff_w - 1) // 2)
    else:
        pads = (int(padding), int(padding))
    xp = pad2d(x, pads)
    h_out = (xp.shape[0] - eff_h) // stride + 1
    w_out = (xp.shape[1] - eff_w) // stride + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"kernel larger than the padded input. Received: x {x.shape}, kernel {kernel.shape}")
    z = np.zeros((h_out, w_out))
    # One pass per kernel tap: tap (i, j) meets xp[p*S + i*D, q*S + j*D] for every (p, q).
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dilation, i * dilation + stride * (h_out - 1) + 1, stride)
            cols = slice(j * dilation, j * dilation + stride * (w_out - 1) + 1, stride)
            z += kernel[i, j] * xp[rows, cols]
    return z
    ### END SOLUTION


# %% [markdown]
# Os exemplos dos slides: o resolvido 3×3 ⋆ 2×2, a imagem binária 5×5 com o kernel em "X"
# (o primeiro valor da *convolved feature* é 4) e o exemplo de *padding* "sem padding".

# %%
worked = cross_correlation2d(np.arange(9).reshape(3, 3), np.arange(4).reshape(2, 2))
print("3x3 ⋆ 2x2:\n", worked)
binary = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]])
print("imagem binária ⋆ X:\n", cross_correlation2d(binary, np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])))
slide_x = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]])
slide_k = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]])
print("sem padding:\n", cross_correlation2d(slide_x, slide_k))
print("com padding 1 a saída volta a ser 5x5:", cross_correlation2d(slide_x, slide_k, padding=1).shape)

# %% nbgrader={"grade": true, "grade_id": "test_cross_correlation2d_worked_example", "points": 1}
"""O exemplo resolvido da aula: [[19, 25], [37, 43]] (sem espelhar o kernel)."""
got = cross_correlation2d(np.arange(9).reshape(3, 3), np.arange(4).reshape(2, 2))
want = np.array([[19.0, 25.0], [37.0, 43.0]])
assert np.shape(got) == (2, 2), f"esperado formato (2, 2), obtido {np.shape(got)}"
assert np.allclose(got, want), f"esperado\n{want}\nobtido\n{got}\n(espelhar o kernel dá [[5, 11], [23, 29]])"
assert np.asarray(got).dtype == np.float64, f"esperado float64, obtido {np.asarray(got).dtype}"
x_in, k_in = np.arange(16.0).reshape(4, 4), np.array([[1.0, -1.0], [2.0, 0.5]])
cross_correlation2d(x_in, k_in, padding=1)
assert np.array_equal(x_in, np.arange(16.0).reshape(4, 4)) and np.array_equal(k_in, [[1.0, -1.0], [2.0, 0.5]]), (
    f"as entradas foram modificadas: x ficou\n{x_in}\nkernel ficou\n{k_in}")
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, assert_not_calling as _static, assert_no_tampering as _tamper, DEFAULT_CONV_TARGETS as _BANNED

_static(cross_correlation2d, ("correlate2d", "convolve2d", "fftconvolve", "conv2d"))
_tamper(cross_correlation2d)
for _dt in (np.float64, np.float32, np.int64, np.uint8):
    _xi = (np.arange(20) % 7).reshape(4, 5).astype(_dt)
    _ki = np.array([[1, 2], [0, 1]], dtype=_dt)
    _xc, _kc = _xi.copy(), _ki.copy()
    with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
        _gi = cross_correlation2d(_xi, _ki, padding=1, stride=2)
    assert np.array_equal(_xi, _xc) and np.array_equal(_ki, _kc), f"entrada {np.dtype(_dt).name} modificada"
    assert np.asarray(_gi).dtype == np.float64, f"entrada {np.dtype(_dt).name}: esperado float64, obtido {np.asarray(_gi).dtype}"
    _wi = _sps.correlate2d(np.pad(_xc.astype(float), 1), _kc.astype(float), mode="valid")[::2, ::2]
    assert np.allclose(_gi, _wi), f"entrada {np.dtype(_dt).name}, P=1, S=2: esperado\n{_wi}\nobtido\n{_gi}"
_xa = np.array([[1.0, 2, 0, -1], [3, 1, 4, 1], [5, 9, 2, 6]])
_ka = np.array([[1.0, -2], [0, 3]])
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _ga = cross_correlation2d(_xa, _ka)
_wa = _sps.correlate2d(_xa, _ka, mode="valid")
assert np.allclose(_ga, _wa), f"3x4 com kernel assimétrico: esperado\n{_wa}\nobtido\n{_ga}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cross_correlation2d_random", "points": 1}
"""Entradas e kernels não quadrados; o kernel identidade devolve o miolo da imagem."""
xt = np.arange(35.0).reshape(5, 7)
got = cross_correlation2d(xt, np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]))
assert np.allclose(got, xt[1:-1, 1:-1]), f"kernel identidade: esperado\n{xt[1:-1, 1:-1]}\nobtido\n{got}"
got = cross_correlation2d(xt, np.ones((3, 2)))
assert np.shape(got) == (3, 6), f"5x7 com kernel 3x2: esperado formato (3, 6), obtido {np.shape(got)}"
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_r = np.random.default_rng(11)
_xr = _r.normal(size=(6, 9))
_kr = _r.normal(size=(2, 4))
_img8 = _r.integers(0, 256, size=(6, 7)).astype(np.uint8)
_lap = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _gr = cross_correlation2d(_xr, _kr)
    _g8 = cross_correlation2d(_img8, _lap)
_wr = _sps.correlate2d(_xr, _kr, mode="valid")
assert np.allclose(_gr, _wr), f"6x9 com kernel par 2x4: esperado\n{_wr}\nobtido\n{_gr}"
_w8 = _sps.correlate2d(_img8.astype(float), _lap, mode="valid")
assert np.allclose(_g8, _w8), f"imagem uint8 (converta para float!): esperado\n{_w8}\nobtido\n{_g8}"
assert np.asarray(_g8).dtype.kind == "f", f"esperado resultado float, obtido {np.asarray(_g8).dtype}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cross_correlation2d_padding", "points": 1}
"""Padding inteiro e 'same' (a saída tem o tamanho da entrada)."""
got = cross_correlation2d(np.ones((5, 5)), np.ones((3, 3)), padding="same")
assert np.shape(got) == (5, 5), f"'same': esperado formato (5, 5), obtido {np.shape(got)}"
assert got[0, 0] == 4 and got[2, 2] == 9, f"canto esperado 4 e centro 9, obtido {got[0, 0]} e {got[2, 2]}"
got = cross_correlation2d(np.ones((4, 4)), np.ones((3, 3)), padding=1)
assert np.shape(got) == (4, 4) and got[0, 3] == 4, f"padding=1: esperado (4, 4) com canto 4, obtido\n{got}"
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_r = np.random.default_rng(12)
_xp = _r.normal(size=(5, 8))
_kp = _r.normal(size=(3, 2))
_ks = _r.normal(size=(5, 3))
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _g2 = cross_correlation2d(_xp, _kp, padding=2)
    _gs = cross_correlation2d(_xp, _ks, padding="same")
    _gv = cross_correlation2d(_xp, _kp, padding="valid")
_w2 = _sps.correlate2d(np.pad(_xp, 2), _kp, mode="valid")
assert np.allclose(_g2, _w2), f"padding=2, kernel 3x2: esperado\n{_w2}\nobtido\n{_g2}"
_ws = _sps.correlate2d(np.pad(_xp, ((2, 2), (1, 1))), _ks, mode="valid")
assert np.allclose(_gs, _ws), f"'same' com kernel 5x3 (P = (2, 1)): esperado\n{_ws}\nobtido\n{_gs}"
assert np.allclose(_gv, _sps.correlate2d(_xp, _kp, mode="valid")), f"'valid' é padding 0, obtido\n{_gv}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cross_correlation2d_stride", "points": 1}
"""Stride 2: a janela anda de 2 em 2 nas duas direções."""
xt = np.arange(25.0).reshape(5, 5)
got = cross_correlation2d(xt, np.ones((3, 3)), stride=2)
want = np.array([[54.0, 72.0], [144.0, 162.0]])
assert np.shape(got) == (2, 2), f"5x5, K=3, S=2: esperado formato (2, 2), obtido {np.shape(got)}"
assert np.allclose(got, want), f"esperado\n{want}\nobtido\n{got}"
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_r = np.random.default_rng(13)
_xs = _r.normal(size=(7, 10))
_kt = _r.normal(size=(2, 3))
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _g3 = cross_correlation2d(_xs, _kt, stride=3)
    _g2p = cross_correlation2d(_xs, _kt, padding=1, stride=2)
_w3 = _sps.correlate2d(_xs, _kt, mode="valid")[::3, ::3]
assert np.allclose(_g3, _w3), f"7x10, kernel 2x3, S=3: esperado\n{_w3}\nobtido\n{_g3}"
_w2p = _sps.correlate2d(np.pad(_xs, 1), _kt, mode="valid")[::2, ::2]
assert np.allclose(_g2p, _w2p), f"P=1, S=2: esperado\n{_w2p}\nobtido\n{_g2p}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cross_correlation2d_dilation", "points": 1}
"""Dilatação 2: um kernel 2x2 lê x[0,0], x[0,2], x[2,0], x[2,2]."""
xt = np.arange(25.0).reshape(5, 5)
got = cross_correlation2d(xt, np.ones((2, 2)), dilation=2)
assert np.shape(got) == (3, 3), f"5x5, K=2, D=2 (K_ef=3): esperado formato (3, 3), obtido {np.shape(got)}"
assert got[0, 0] == 24, f"esperado 0 + 2 + 10 + 12 = 24, obtido {got[0, 0]}"
got = cross_correlation2d(np.ones((6, 6)), np.ones((3, 3)), padding="same", dilation=2)
assert np.shape(got) == (6, 6), f"'same' com D=2 (K_ef=5, P=2): esperado formato (6, 6), obtido {np.shape(got)}"
assert got[0, 0] == 4 and got[2, 2] == 9, f"'same' com D=2: esperado canto 4 e centro 9, obtido {got[0, 0]} e {got[2, 2]}"
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

def _dilate(w, d):
    out = np.zeros(((w.shape[0] - 1) * d + 1, (w.shape[1] - 1) * d + 1))
    out[::d, ::d] = w
    return out

_r = np.random.default_rng(14)
_xd = _r.normal(size=(9, 8))
_kd = _r.normal(size=(3, 3))
_ke = _r.normal(size=(2, 3))
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _gd = cross_correlation2d(_xd, _kd, dilation=2)
    _gm = cross_correlation2d(_xd, _ke, padding=1, stride=2, dilation=3)
_wd = _sps.correlate2d(_xd, _dilate(_kd, 2), mode="valid")
assert np.allclose(_gd, _wd), f"9x8, 3x3 com D=2: esperado\n{_wd}\nobtido\n{_gd}"
_wm = _sps.correlate2d(np.pad(_xd, 1), _dilate(_ke, 3), mode="valid")[::2, ::2]
assert np.allclose(_gm, _wm), f"kernel 2x3, P=1, S=2, D=3: esperado\n{_wm}\nobtido\n{_gm}"
_k35 = _r.normal(size=(3, 5))
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _gsd = cross_correlation2d(_xd, _k35, padding="same", dilation=2)
    _gsd2 = cross_correlation2d(_xd, _kd, padding="same", stride=2, dilation=3)
_wsd = _sps.correlate2d(np.pad(_xd, ((2, 2), (4, 4))), _dilate(_k35, 2), mode="valid")
assert np.allclose(_gsd, _wsd), f"'same' com kernel 3x5 e D=2 (P = (2, 4)): esperado\n{_wsd}\nobtido\n{_gsd}"
_wsd2 = _sps.correlate2d(np.pad(_xd, 3), _dilate(_kd, 3), mode="valid")[::2, ::2]
assert np.allclose(_gsd2, _wsd2), f"'same' com S=2 e D=3 (P=3): esperado\n{_wsd2}\nobtido\n{_gsd2}"
### END HIDDEN TESTS

# %% [markdown]
# ### Filtros clássicos em uma foto real
#
# A convolução pode ser vista como um **filtro**: o kernel decide que informação extrair.
# Alguns kernels clássicos (os da aula):
#
# - **Laplaciano** $\begin{bmatrix}-1&-1&-1\\-1&8&-1\\-1&-1&-1\end{bmatrix}$: realça bordas
#   em todas as direções (soma zero: regiões constantes viram 0);
# - **Sobel** horizontal/vertical: derivada em uma direção com suavização na outra;
# - **média** $\frac{1}{25}\mathbf{1}_{5\times5}$: borra (passa-baixa);
# - **motion blur**: média ao longo de uma diagonal, como uma câmera em movimento.

# %%
CLASSIC_KERNELS = {
    "Laplaciano": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float),
    "Sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "Sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    "Média 5x5": np.full((5, 5), 1 / 25),
    "Motion blur 9x9": np.eye(9) / 9,
}
for kernel_name, kernel_values in CLASSIC_KERNELS.items():
    print(f"{kernel_name:16s} {kernel_values.shape}  soma = {kernel_values.sum():+.2f}")

# %% [markdown]
# ### Exercício 4 — banco de kernels (2 pontos)
#
# `apply_kernel_bank` aplica cada kernel de um dicionário à mesma imagem em tons de cinza,
# com padding `"same"` (a saída tem o tamanho da imagem), e devolve um dicionário com as
# mesmas chaves, na mesma ordem. Use a sua `cross_correlation2d`. Atenção às fotos
# `uint8`: o Laplaciano produz valores negativos, por isso cada mapa é um array `float64`
# (qualquer que seja o dtype da imagem).

# %% nbgrader={"grade": false, "grade_id": "apply_kernel_bank", "solution": true}
def apply_kernel_bank(image, kernels):
    """Filter one grayscale image with each kernel of a bank ("same" padding).

    Args:
        image: array ``(H, W)``, any real dtype (e.g. a uint8 photo).
        kernels: dict ``name -> (K_h, K_w)`` array, each with odd sizes.

    Returns:
        dict ``name -> float64 (H, W)`` feature map, same keys in the same order.
    """
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    return {name: cross_correlation2d(image, k, padding="same") for name, k in kernels.items()}
    ### END SOLUTION


# %%
if not GRADING:
    from cnnlib.data import load_photo

    camera = load_photo("camera")[::2, ::2]  # 256x256, uint8 em tons de cinza
    maps = apply_kernel_bank(camera, CLASSIC_KERNELS)
    sobel_magnitude = np.hypot(maps["Sobel x"], maps["Sobel y"])
    panels = {"Original": camera, **maps, "|Sobel|": sobel_magnitude}
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2))
    for ax, (title, img) in zip(axes, panels.items()):
        ax.imshow(img, cmap="gray")
        ax.set_title(title)
        ax.axis("off")
    plt.tight_layout()
    plt.show()
    print({name: fmap.shape for name, fmap in maps.items()})

# %% [markdown]
# Leitura: o Laplaciano e os Sobel acendem nas bordas (o Sobel x nas verticais, o Sobel y
# nas horizontais), a média e o *motion blur* borram, e |Sobel| junta as duas direções num
# mapa de contornos.

# %% nbgrader={"grade": true, "grade_id": "test_apply_kernel_bank_values", "points": 1}
"""Kernel identidade e média 3x3; as chaves e os formatos são preservados."""
image_t = np.arange(30.0).reshape(5, 6)
bank = {"identidade": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), "média": np.full((3, 3), 1 / 9)}
got = apply_kernel_bank(image_t, bank)
assert list(got) == ["identidade", "média"], f"esperado as chaves ['identidade', 'média'], obtido {list(got)}"
assert np.allclose(got["identidade"], image_t), f"identidade com 'same': esperado a imagem, obtido\n{got['identidade']}"
assert np.isclose(got["média"][2, 2], image_t[1:4, 1:4].mean()), f"média no centro: obtido {got['média'][2, 2]}"
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_r = np.random.default_rng(15)
_im = _r.normal(size=(7, 9))
_bank = {"sy": np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]]), "mb": np.eye(5)[::-1] / 5, "c": _r.normal(size=(3, 5))}
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _out = apply_kernel_bank(_im, _bank)
assert list(_out) == ["sy", "mb", "c"], f"ordem das chaves: esperado ['sy', 'mb', 'c'], obtido {list(_out)}"
for _name, _k in _bank.items():
    _ph, _pw = _k.shape[0] // 2, _k.shape[1] // 2
    _want = _sps.correlate2d(np.pad(_im, ((_ph, _ph), (_pw, _pw))), _k, mode="valid")
    assert np.allclose(_out[_name], _want), f"kernel {_name!r} {_k.shape} em 7x9: esperado\n{_want}\nobtido\n{_out[_name]}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_apply_kernel_bank_uint8", "points": 1}
"""Fotos uint8: o Laplaciano de um ponto claro tem valores negativos."""
dot = np.zeros((5, 5), dtype=np.uint8)
dot[2, 2] = 200
got = apply_kernel_bank(dot, {"lap": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])})["lap"]
assert got[2, 2] == 1600 and got[1, 1] == -200, f"esperado 1600 no centro e -200 ao lado, obtido\n{got}"
assert np.asarray(got).dtype == np.float64, f"esperado float64, obtido {np.asarray(got).dtype}"
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_r = np.random.default_rng(16)
_photo = _r.integers(0, 256, size=(6, 8)).astype(np.uint8)
_sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _o8 = apply_kernel_bank(_photo, {"sx": _sx})["sx"]
_want8 = _sps.correlate2d(np.pad(_photo.astype(float), 1), _sx, mode="valid")
assert np.allclose(_o8, _want8), f"Sobel x em uint8: esperado\n{_want8}\nobtido\n{_o8}"
assert np.asarray(_o8).dtype == np.float64, f"esperado float64, obtido {np.asarray(_o8).dtype}"
### END HIDDEN TESTS

# %% [markdown]
# ### A visão de Fourier
#
# Pelo teorema da convolução, convoluir no espaço é **multiplicar no domínio da
# frequência**: $\mathcal{F}\{f * g\} = \mathcal{F}\{f\} \cdot \mathcal{F}\{g\}$. A média
# deixa passar as frequências baixas (borra); o Laplaciano deixa passar as altas (bordas).
# Abaixo, a convolução "completa" (kernel girado 180°, padding $K - 1$) feita pela nossa
# função coincide com a feita pela FFT.

# %%
if not GRADING:
    blur = CLASSIC_KERNELS["Média 5x5"]
    img_f = camera.astype(float)
    full_shape = (img_f.shape[0] + blur.shape[0] - 1, img_f.shape[1] + blur.shape[1] - 1)
    spatial = cross_correlation2d(img_f, blur[::-1, ::-1], padding=blur.shape[0] - 1)
    spectral = np.real(np.fft.ifft2(np.fft.fft2(img_f, full_shape) * np.fft.fft2(blur, full_shape)))
    print("maior diferença espaço x Fourier:", np.abs(spatial - spectral).max())
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    for ax, name in zip(axes, ["Média 5x5", "Laplaciano"]):
        spectrum = np.abs(np.fft.fftshift(np.fft.fft2(CLASSIC_KERNELS[name], (64, 64))))
        ax.imshow(spectrum, cmap="magma")
        ax.set_title(f"|FFT| {name}")
        ax.axis("off")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# Leitura: a diferença espaço × Fourier fica na casa de $10^{-12}$ (arredondamento); o
# espectro da média concentra a energia no centro (frequências baixas), o do Laplaciano
# nas bordas (frequências altas).
#
# ### Correlação como busca de padrões (*template matching*)
#
# A aula mostra a correlação cruzada feita por Fourier (imagem e kernel com zeros, kernel
# girado 180°): o ponto mais claro da saída marca **onde a imagem mais se parece com o
# kernel**. É a mesma ideia de um filtro de CNN: um kernel é um pequeno padrão, e o mapa de
# ativação diz onde ele aparece. Recortamos um pedaço $24 \times 24$ da foto e o procuramos
# na foto inteira; tirando a média de ambos, o máximo da correlação cai exatamente na
# posição do recorte.

# %%
if not GRADING:
    template_top, template_left = 60, 120
    template = camera[template_top:template_top + 24, template_left:template_left + 24].astype(float)
    image_zero_mean = camera.astype(float) - camera.mean()
    kernel_zero_mean = template - template.mean()
    score = cross_correlation2d(image_zero_mean, kernel_zero_mean)  # "valid": canto superior esquerdo
    # a mesma correlação por Fourier: multiplica pelo conjugado do espectro do kernel
    spectral_score = np.real(np.fft.ifft2(np.fft.fft2(image_zero_mean) * np.conj(np.fft.fft2(kernel_zero_mean, image_zero_mean.shape))))
    spectral_score = spectral_score[:score.shape[0], :score.shape[1]]
    found = np.unravel_index(np.argmax(score), score.shape)
    print("recorte em", (template_top, template_left), "| máximo da correlação em", tuple(int(v) for v in found),
          "| espaço x Fourier, maior diferença relativa:", float(np.abs(score - spectral_score).max() / np.abs(score).max()))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    axes[0].imshow(camera, cmap="gray")
    axes[0].add_patch(plt.Rectangle((template_left, template_top), 24, 24, fill=False, color="red"))
    axes[0].set_title("foto e o recorte")
    axes[1].imshow(template, cmap="gray")
    axes[1].set_title("kernel = recorte 24x24")
    axes[2].imshow(score, cmap="magma")
    axes[2].plot(found[1], found[0], "c+", markersize=14)
    axes[2].set_title("correlação (máximo = +)")
    for ax in axes:
        ax.axis("off")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# Leitura: o mapa de correlação tem um pico nítido na posição do recorte; outras regiões
# parecidas (mesma textura) aparecem como picos menores.
#
# ## Parte 4 — A camada convolucional
#
# Uma camada convolucional com $N$ filtros recebe um volume $H_{in} \times W_{in} \times C$.
# Cada filtro tem tamanho $K_h \times K_w \times C$ — **atravessa toda a profundidade** — e
# produz **um** mapa de ativação: a soma, sobre os canais, das correlações de cada canal
# com a fatia correspondente do filtro, mais um bias:
#
# $$y_n = \sum_{c=1}^{C} x(:,:,c) \star k(:,:,c,n) + b_n.$$
#
# A saída tem formato $H_{out} \times W_{out} \times N$. Os pesos seguem o layout do Keras:
# `kernels` tem formato `(K_h, K_w, C, N)` e `bias` tem formato `(N,)`.
#
# ### Exercício 5 — forward de uma camada convolucional (4 pontos)

# %% nbgrader={"grade": false, "grade_id": "conv_layer_forward", "solution": true}
def conv_layer_forward(x, kernels, bias, stride=1, padding=0):
    """Forward pass of a conv layer with N filters over a C-channel image, from scratch.

    y[:, :, n] = sum_c cross_correlation2d(x[:, :, c], kernels[:, :, c, n]) + bias[n]

    Args:
        x: array ``(H, W, C)``.
        kernels: array ``(K_h, K_w, C, N)`` (Keras layout).
        bias: array ``(N,)``, one bias per filter.
        stride: int. padding: int, ``"valid"`` or ``"same"`` (as in cross_correlation2d).

    Returns:
        float64 array ``(H_out, W_out, N)``.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    kernels = np.asarray(kernels, dtype=np.float64)
    n_channels, n_filters = kernels.shape[2], kernels.shape[3]
    maps = []
    for n in range(n_filters):
        acc = sum(cross_correlation2d(x[:, :, c], kernels[:, :, c, n], padding, stride)
                  for c in range(n_channels))
        maps.append(acc + bias[n])
    return np.stack(maps, axis=-1)
    ### END SOLUTION


# %%
volume = rng.normal(size=(8, 8, 3))
filters = rng.normal(size=(3, 3, 3, 10))
print("entrada", volume.shape, "-> saída", conv_layer_forward(volume, filters, np.zeros(10)).shape)

# %% nbgrader={"grade": true, "grade_id": "test_conv_layer_forward_shape", "points": 1}
"""3 canais, 10 filtros 3x3: a saída tem um canal por filtro."""
got = conv_layer_forward(np.ones((8, 8, 3)), np.ones((3, 3, 3, 10)), np.zeros(10))
assert np.shape(got) == (6, 6, 10), f"esperado formato (6, 6, 10), obtido {np.shape(got)}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _sh = np.shape(conv_layer_forward(np.ones((9, 7, 2)), np.ones((3, 2, 2, 5)), np.zeros(5), stride=2, padding=1))
assert _sh == (5, 4, 5), f"(9,7,2), kernel 3x2, 5 filtros, S=2, P=1: esperado (5, 4, 5), obtido {_sh}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_conv_layer_forward_values", "points": 2}
"""Cada filtro soma as correlações de todos os canais."""
kt = np.zeros((3, 3, 2, 2))
kt[:, :, :, 0] = 1.0                          # filtro 0: soma tudo
kt[:, :, 0, 1], kt[:, :, 1, 1] = 1.0, -1.0    # filtro 1: canal 0 menos canal 1
xt = np.stack([np.ones((4, 4)), 2 * np.ones((4, 4))], axis=-1)
got = conv_layer_forward(xt, kt, np.zeros(2))
assert np.allclose(got[..., 0], 27) and np.allclose(got[..., 1], -9), (
    f"esperado 27 (9*1 + 9*2) no filtro 0 e -9 no filtro 1, obtido\n{got[..., 0]}\n{got[..., 1]}")
### BEGIN HIDDEN TESTS
import scipy.signal as _sps
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_r = np.random.default_rng(17)
_xv = _r.normal(size=(7, 6, 3))
_kv = _r.normal(size=(3, 2, 3, 4))
_bv = _r.normal(size=4)
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _gv = conv_layer_forward(_xv, _kv, _bv, stride=2, padding=1)
_wv = np.stack([
    sum(_sps.correlate2d(np.pad(_xv[:, :, _c], 1), _kv[:, :, _c, _n], mode="valid") for _c in range(3))[::2, ::2] + _bv[_n]
    for _n in range(4)], axis=-1)
assert np.shape(_gv) == _wv.shape, f"(7,6,3), kernel (3,2,3,4), S=2, P=1: esperado {_wv.shape}, obtido {np.shape(_gv)}"
assert np.allclose(_gv, _wv), f"valores diferentes da referência; maior erro {np.abs(_gv - _wv).max():.3g}"
### END HIDDEN TESTS

# %% [markdown]
# O bias é **um por filtro** (somado uma vez ao mapa daquele filtro), não um por canal de
# entrada. A entrada pode ser inteira (uma foto `uint8`) e a saída é sempre `float64`: um
# bias de 0,5 não pode ser arredondado.

# %% nbgrader={"grade": true, "grade_id": "test_conv_layer_forward_bias", "points": 1}
"""Com entrada nula, cada mapa de saída é igual ao bias do seu filtro."""
got = conv_layer_forward(np.zeros((4, 5, 3), dtype=np.uint8), np.ones((2, 2, 3, 3)), np.array([1.5, -2.0, 0.25]))
assert np.asarray(got).dtype == np.float64, f"entrada uint8: esperado saída float64, obtido {np.asarray(got).dtype}"
for n, b in enumerate([1.5, -2.0, 0.25]):
    assert np.allclose(got[..., n], b), f"filtro {n}: esperado tudo {b}, obtido\n{got[..., n]}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED

_r = np.random.default_rng(18)
_xb = _r.normal(size=(5, 4, 2))
_kb = _r.normal(size=(3, 3, 2, 2))
_xbc, _kbc = _xb.copy(), _kb.copy()
with _forbid(*_BANNED, "cnnlib.geometry.output_size", "cnnlib.layers"):
    _with_b = conv_layer_forward(_xb, _kb, np.array([5.0, -5.0]))
    _no_b = conv_layer_forward(_xb, _kb, np.zeros(2))
    _gi8 = conv_layer_forward(np.arange(24, dtype=np.int32).reshape(4, 3, 2), np.full((2, 2, 2, 1), 0.5), np.array([0.25]))
assert np.array_equal(_xb, _xbc) and np.array_equal(_kb, _kbc), "a entrada ou os kernels foram modificados"
_wi8 = 0.5 * sum(np.lib.stride_tricks.sliding_window_view(np.arange(24).reshape(4, 3, 2)[..., _c], (2, 2)).sum(axis=(-2, -1))
                 for _c in range(2)) + 0.25
assert np.allclose(np.asarray(_gi8)[..., 0], _wi8), f"entrada int32 com pesos 0.5: esperado\n{_wi8}\nobtido\n{np.asarray(_gi8)[..., 0]}"
_diff = np.asarray(_with_b) - np.asarray(_no_b)
assert np.allclose(_diff[..., 0], 5.0) and np.allclose(_diff[..., 1], -5.0), (
    f"o bias deve somar exatamente b[n] ao mapa n; diferença obtida:\n{_diff[..., 0]}\n{_diff[..., 1]}")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercício 6 — parâmetros de uma camada convolucional (2 pontos)
#
# Cada um dos $N$ filtros tem $K_h \cdot K_w \cdot C$ pesos e **um** bias:
#
# $$\#\text{parâmetros} = N\,(K_h K_w C + 1).$$
#
# No exemplo da aula (256×256 RGB, 10 filtros 3×3): $10 \cdot 3 \cdot 3 \cdot 3 = 270$
# pesos $+ 10$ bias $= 280$ parâmetros — e esse número **não depende** de 256×256. Compare
# com os 18 milhões da MLP. `kernel_size` é um inteiro ou um par `(K_h, K_w)`.

# %% nbgrader={"grade": false, "grade_id": "conv_layer_params", "solution": true}
def conv_layer_params(kernel_size, in_channels, filters, use_bias=True):
    """Trainable parameters of a conv layer: filters * (K_h * K_w * C + 1).

    Args:
        kernel_size: int or pair ``(K_h, K_w)``.
        in_channels: int, channels C of the input volume.
        filters: int, number of filters N.
        use_bias: bool, whether each filter has a bias.

    Returns:
        int.
    """
    ### BEGIN SOLUTION
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    return int(filters * (kh * kw * in_channels + (1 if use_bias else 0)))
    ### END SOLUTION


# %%
print("256x256x3 -> 10 filtros 3x3:",
      f"saída {conv_output_size(256, 3)}x{conv_output_size(256, 3)}x10,",
      f"{conv_layer_params(3, 3, 10)} parâmetros")

# %% nbgrader={"grade": true, "grade_id": "test_conv_layer_params_lecture", "points": 1}
"""O exemplo da aula: 10 filtros 3x3 sobre RGB = 280 parâmetros."""
got = conv_layer_params(3, 3, 10)
assert got == 280, f"esperado 280 (270 pesos + 10 bias), obtido {got}"
### BEGIN HIDDEN TESTS
assert conv_layer_params(3, 3, 10, use_bias=False) == 270, "sem bias: esperado 270"
assert conv_layer_params(5, 1, 6) == 156, f"C1 da LeNet-5: esperado 156, obtido {conv_layer_params(5, 1, 6)}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_conv_layer_params_general", "points": 1}
"""Convolução 1x1 e kernels não quadrados."""
got = conv_layer_params(1, 64, 32)
assert got == 2080, f"1x1, 64 -> 32 canais: esperado 2080, obtido {got}"
### BEGIN HIDDEN TESTS
for _args, _kw, _want in [(((5, 3), 4, 8), {}, 488), (((1, 7), 16, 16), {"use_bias": False}, 1792),
                          ((3, 256, 256), {}, 590_080)]:
    _got = conv_layer_params(*_args, **_kw)
    assert _got == _want, f"conv_layer_params{_args} {_kw}: esperado {_want}, obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# ### Conferindo com o Keras
#
# A camada `keras.layers.Conv2D` calcula exatamente a mesma coisa (correlação cruzada,
# soma sobre os canais, um bias por filtro). Conferimos o formato e os parâmetros do
# exemplo da aula e os valores do nosso `conv_layer_forward` com os pesos da camada.

# %%
if not GRADING:
    import keras

    lecture_layer = keras.layers.Conv2D(10, 3)
    lecture_out = lecture_layer(np.zeros((1, 256, 256, 3), dtype="float32"))
    print("Keras: saída", tuple(lecture_out.shape), "| parâmetros", lecture_layer.count_params())
    assert lecture_layer.count_params() == conv_layer_params(3, 3, 10)

    keras.utils.set_random_seed(0)
    probe = keras.layers.Conv2D(4, (3, 2), strides=2, bias_initializer="random_normal")
    probe_x = rng.normal(size=(9, 11, 3)).astype("float32")
    keras_y = np.asarray(probe(probe_x[None]))[0]
    probe_w, probe_b = probe.get_weights()
    ours = conv_layer_forward(probe_x, probe_w, probe_b, stride=2)
    print("nosso forward x Keras: formato", ours.shape, "| maior diferença", np.abs(ours - keras_y).max())
    assert np.allclose(ours, keras_y, atol=1e-4)

# %% [markdown]
# ### Ativação
#
# Como nas MLPs, a saída da convolução passa por uma função de ativação não linear, e o
# resultado é o **mapa de ativação** da camada. Em imagens a mais usada é a ReLU,
# $\max(0, z)$: só as respostas positivas do filtro sobrevivem. Abaixo, uma camada com 3
# filtros 3×3×3 feitos à mão aplicada à foto colorida `astronaut`: bordas verticais e
# horizontais na luminância e um "detector de vermelho".

# %%
if not GRADING:
    astronaut = load_photo("astronaut")[::2, ::2] / 255.0  # (256, 256, 3) em [0, 1]
    luminance = np.array([0.299, 0.587, 0.114])
    sobel_x = CLASSIC_KERNELS["Sobel x"]
    bank_rgb = np.zeros((3, 3, 3, 3))
    bank_rgb[:, :, :, 0] = sobel_x[:, :, None] * luminance
    bank_rgb[:, :, :, 1] = sobel_x.T[:, :, None] * luminance
    bank_rgb[1, 1, :, 2] = [1.0, -0.5, -0.5]
    activations = np.maximum(conv_layer_forward(astronaut, bank_rgb, np.array([0.0, 0.0, -0.1]), padding="same"), 0)
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    axes[0].imshow(astronaut)
    axes[0].set_title("Entrada 256x256x3")
    for n, title in enumerate(["ReLU(bordas verticais)", "ReLU(bordas horizontais)", "ReLU(vermelho)"]):
        axes[n + 1].imshow(activations[..., n], cmap="gray")
        axes[n + 1].set_title(title)
    for ax in axes:
        ax.axis("off")
    plt.tight_layout()
    plt.show()
    print("mapa de ativação:", activations.shape, "| fração de zeros após a ReLU:",
          round(float((activations == 0).mean()), 3))

# %% [markdown]
# Leitura: cada filtro acende onde o seu padrão aparece (bordas verticais, horizontais, o
# vermelho do traje); a ReLU zera o resto — a maior parte do mapa.
#
# ### Blocos de convolução
#
# Uma CNN é uma pilha de **blocos**. Na aula, um bloco básico é um conjunto de camadas
# convolucionais de mesmo tamanho de kernel, cada uma seguida de uma ativação, e termina
# numa operação de *pooling* que reduz a dimensão espacial para o bloco seguinte (o pooling
# é o assunto do notebook 03). Depois dos blocos convolucionais vêm os blocos lineares
# (camadas densas) que dão a resposta. A VGG, por exemplo, empilha blocos de convoluções
# $3 \times 3$ com 64, 128, 256, 512 e 512 filtros (notebook 04). A camada que você
# escreveu é a peça básica de todos eles.
#
# ## Resumo
#
# - Uma MLP sobre 640×480 RGB já tem 18.432.020 parâmetros na primeira camada de 20
#   neurônios (e não 19.353.600, como diz o slide); uma camada convolucional com 10
#   filtros 3×3 tem 280, qualquer que seja o tamanho da imagem.
# - A "convolução" das CNNs é uma correlação cruzada: o kernel não é espelhado.
# - $W_{out} = \lfloor (W_{in} - K_{ef} + 2P)/S \rfloor + 1$, com $K_{ef} = D(K-1) + 1$.
# - Cada filtro atravessa todos os canais da entrada e gera um mapa; $N$ filtros geram $N$
#   canais de saída, cada um com um bias.
#
# No próximo notebook: o *backpropagation* da camada convolucional, escrito à mão.
