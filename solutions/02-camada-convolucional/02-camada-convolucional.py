# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 — A camada convolucional e a sua retropropagação
#
# O notebook 01 terminou no *forward* de uma camada convolucional. Aqui a camada
# **aprende**:
#
# 1. recapitulação do *forward* (da biblioteca do curso; o seu foi avaliado no 01) e
#    **descida do gradiente** à mão, aprendendo um kernel $3 \times 3$ a partir de pares
#    entrada/saída;
# 2. o *backward* calculado à mão: o exemplo $3\times3$ / $2\times2$ da aula com todas as
#    derivadas parciais, $\partial L/\partial F = \mathrm{Conv}(X, \partial L/\partial O)$ e
#    $\partial L/\partial X = \mathrm{FullConv}(\mathrm{rot180}(F), \partial L/\partial O)$, depois
#    com *stride* e *padding* gerais;
# 3. a verificação numérica do gradiente (*gradient check*);
# 4. por fim, o **seu** gradiente dentro de um `tf.custom_gradient`, treinando uma rede Keras
#    com `fit` e comparado ao gradiente de `keras.layers.Conv2D`.
#
# **Convenções.** Tensores no formato NHWC: um lote `x` tem forma `(N, H, W, C)`; os filtros
# `w` têm forma `(KH, KW, C, M)` (altura, largura, canais de entrada, número $M$ de filtros), como
# no Keras. "Convolução", como nas CNNs, é a **correlação cruzada** (o kernel não é girado).
#
# **Regras.** Preencha apenas as células marcadas (`# SEU CÓDIGO AQUI`). As partes "do zero" devem
# usar só NumPy: os testes ocultos reprovam chamadas a `tf.nn.conv2d`, `scipy.signal`,
# diferenciação automática (`tf.GradientTape`) ou a `cnnlib`. Cada célula de teste mostra os
# pontos que vale; o total é **20 pontos**.

# %%
import os

import numpy as np
import tensorflow as tf
import keras

np.set_printoptions(precision=4, suppress=True)
HEAVY = not os.environ.get("NBGRADER_EXECUTION")  # treinos só fora da correção automática
print("TensorFlow", tf.__version__, "| Keras", keras.__version__)

# %% [markdown]
# ## 1. Onde paramos: o *forward* da camada
#
# No notebook 01 você escreveu o *forward* de uma camada convolucional
# (`conv_layer_forward`) e contou os seus parâmetros. Uma camada tem $M$ filtros; cada um
# tem o tamanho espacial $K \times K$ e **a mesma profundidade $C$ do volume de entrada**, e
# produz **um** mapa de ativação:
#
# $$O(p, q, m) = b_m + \sum_{i=0}^{K-1}\sum_{j=0}^{K-1}\sum_{c=0}^{C-1}
#   X(pS + i,\; qS + j,\; c)\; F(i, j, c, m),$$
#
# onde $S$ é o *stride* e $X$ já recebeu o *zero padding* $P$ nas quatro bordas; a saída tem
# $H' \times W' \times M$, com $W' = \lfloor (W - K + 2P)/S \rfloor + 1$, e a camada tem
# $M\,(K \cdot K \cdot C + 1)$ parâmetros — 280 no exemplo da aula (10 filtros $3 \times 3$
# sobre RGB), qualquer que seja o tamanho da imagem.
#
# Aqui o *forward* não é avaliado de novo: usamos a versão em lote (NHWC) da biblioteca do
# curso, `cnnlib.reference.conv2d_forward`, que faz a mesma conta que a sua. Este notebook
# começa onde o 01 terminou: **como a camada aprende**.

# %% nbgrader={"grade": false, "grade_id": "conv_forward_from_library", "locked": true, "solution": false}
from cnnlib.reference import conv2d_forward as _library_conv2d_forward


def conv_forward(x, w, b, stride=1, padding=0):
    """Forward of a conv layer (cross-correlation + bias), NHWC, from the course library.

    x (N, H, W, C), w (KH, KW, C, M), b (M,) -> (N, H', W', M), in float64.
    """
    out, _ = _library_conv2d_forward(np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64),
                                     np.asarray(b, dtype=np.float64), stride=stride, padding=padding)
    return out


# %% [markdown]
# O exemplo da aula: entrada $3 \times 3$ com valores $0..8$ e o filtro `[[0, 1], [2, 3]]` dão
# `[[19, 25], [37, 43]]`; com um *bias* de 1, cada valor sobe 1.

# %%
x_demo = np.arange(9.0).reshape(1, 3, 3, 1)
w_demo = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(2, 2, 1, 1)
print(conv_forward(x_demo, w_demo, np.array([1.0]))[0, :, :, 0])
print("parâmetros de 10 filtros 3x3 sobre RGB:", 10 * (3 * 3 * 3 + 1))

# %% [markdown]
# Depois da convolução vem a ativação, que introduz a não linearidade; nas CNNs quase
# sempre uma ReLU, $\max(0, z)$. Um mapa de ativação antes e depois da ReLU com um filtro de
# borda vertical (Sobel) numa imagem de dígito:

# %%
import matplotlib.pyplot as plt

_digit = np.zeros((1, 12, 12, 1))
_digit[0, 2:10, 4:8, 0] = 1.0  # um "1" grosso
_sobel = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]).reshape(3, 3, 1, 1)
_z = conv_forward(_digit, _sobel, np.zeros(1), padding=1)[0, :, :, 0]
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
for ax, img, title in zip(axes, [_digit[0, :, :, 0], _z, np.maximum(_z, 0)],
                          ["entrada", "conv (Sobel x)", "ReLU(conv)"]):
    ax.imshow(img, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
plt.show()

# %% [markdown]
# Leitura: o Sobel responde positivo numa borda do "1" e negativo na outra; a ReLU guarda só
# a borda da esquerda (as respostas positivas).
#
# ## 2. Custo e descida do gradiente
#
# Treinar é escolher os pesos $\theta$ (os filtros) que minimizam o **custo** — a perda média
# no conjunto de treino, $\mathcal{C}(\theta) = \frac{1}{|S|}\sum_{(x, y) \in S}
# \mathcal{L}(y, f_\theta(x))$. A **descida do gradiente** anda contra o gradiente, com um
# passo de tamanho $\eta$ (a taxa de aprendizado):
#
# $$\theta_{t+1} = \theta_t - \eta\, \nabla \mathcal{C}(\theta_t).$$
#
# Exemplo à mão: $\mathcal{C}(\theta) = (\theta - 3)^2$, $\nabla\mathcal{C} = 2(\theta - 3)$,
# $\theta_0 = 0$, $\eta = 0{,}25$: $\theta_1 = 0 - 0{,}25 \cdot (-6) = 1{,}5$;
# $\theta_2 = 1{,}5 - 0{,}25 \cdot (-3) = 2{,}25$; $\theta_3 = 2{,}625$ — cada passo corta
# pela metade a distância até o mínimo 3. Com $\eta = 1$ o passo é grande demais e $\theta$
# oscila entre 0 e 6 para sempre.
#
# ### Exercício 1 (3 pontos): `gradient_descent`
#
# `gradient_descent(grad, theta0, lr, steps)` aplica `steps` passos e devolve a
# **trajetória**: um array `float64` de formato `(steps + 1,) + formato de theta0`, com
# $\theta_0, \theta_1, \ldots$ (a primeira linha é o próprio $\theta_0$). `theta0` pode ser um
# escalar, um vetor ou uma matriz, inteiro ou *float*, e **não pode ser modificado**
# (cuidado com `theta -= ...` no array do usuário).

# %% nbgrader={"grade": false, "grade_id": "gradient_descent", "solution": true}
def gradient_descent(grad, theta0, lr, steps):
    """Plain gradient descent, returning the whole trajectory.

    Args:
        grad: callable, grad(theta) -> array shaped like theta (the cost's gradient).
        theta0: initial point (scalar or array, int or float); not modified.
        lr: learning rate eta.
        steps: number of updates theta <- theta - lr * grad(theta).

    Returns:
        float64 array of shape (steps + 1,) + np.shape(theta0): theta_0, ..., theta_steps.
    """
    ### BEGIN SOLUTION
    theta = np.array(theta0, dtype=np.float64)
    path = [theta.copy()]
    for _ in range(steps):
        theta = theta - lr * np.asarray(grad(theta), dtype=np.float64)
        path.append(theta.copy())
    return np.stack(path)
    ### END SOLUTION


# %%
print(gradient_descent(lambda t: 2 * (t - 3), 0.0, 0.25, 3))
print("eta = 1:", gradient_descent(lambda t: 2 * (t - 3), 0.0, 1.0, 4))

# %% nbgrader={"grade": true, "grade_id": "test_gradient_descent_worked_example", "points": 1}
"""gradient_descent: o exemplo à mão (theta - 3)^2, com eta = 0,25 e eta = 1."""
_path = gradient_descent(lambda t: 2 * (t - 3), 0.0, 0.25, 3)
assert np.shape(_path) == (4,), f"3 passos a partir de um escalar: formato esperado (4,), obtido {np.shape(_path)}"
np.testing.assert_allclose(_path, [0.0, 1.5, 2.25, 2.625], err_msg="theta_0..theta_3 com eta = 0,25")
np.testing.assert_allclose(gradient_descent(lambda t: 2 * (t - 3), 0.0, 1.0, 4), [0, 6, 0, 6, 0],
                           err_msg="com eta = 1 theta oscila entre 0 e 6")
### BEGIN HIDDEN TESTS
np.testing.assert_allclose(gradient_descent(lambda t: 2 * (t + 1), 5.0, 0.1, 2), [5.0, 3.8, 2.84],
                           err_msg="(theta + 1)^2 a partir de 5, eta = 0,1")
np.testing.assert_allclose(gradient_descent(lambda t: 2 * (t - 3), 1.0, 0.25, 0), [1.0],
                           err_msg="0 passos: só theta_0")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_gradient_descent_arrays", "points": 1}
"""gradient_descent: theta0 vetor ou matriz; a trajetória empilha os pontos e theta0 não é modificado."""
_A = np.array([[2.0, 0.0], [0.0, 4.0]])
_theta0 = np.array([1.0, -1.0])
_path = gradient_descent(lambda t: _A @ t, _theta0, 0.1, 2)
assert np.shape(_path) == (3, 2), f"vetor de 2, 2 passos: formato esperado (3, 2), obtido {np.shape(_path)}"
np.testing.assert_allclose(_path, [[1.0, -1.0], [0.8, -0.6], [0.64, -0.36]], err_msg="C = x^2 + 2 y^2")
np.testing.assert_array_equal(_theta0, [1.0, -1.0], err_msg="theta0 foi modificado")
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(11)
_B = _rng.normal(size=(3, 3))
_Q = _B @ _B.T + np.eye(3)
_c = _rng.normal(size=(3, 2))
_t0 = _rng.normal(size=(3, 2))
_t0_copy = _t0.copy()
_path = gradient_descent(lambda t: _Q @ (t - _c), _t0, 0.05, 4)
_want = [_t0_copy]
for _ in range(4):
    _want.append(_want[-1] - 0.05 * _Q @ (_want[-1] - _c))
assert np.shape(_path) == (5, 3, 2), f"matriz 3x2, 4 passos: formato esperado (5, 3, 2), obtido {np.shape(_path)}"
np.testing.assert_allclose(_path, np.stack(_want), rtol=1e-12, err_msg="matriz 3x2, quadrática com Q")
np.testing.assert_array_equal(_t0, _t0_copy, err_msg="theta0 (matriz) foi modificado")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_gradient_descent_integer_start", "points": 1}
"""gradient_descent: theta0 inteiro é aceito e a trajetória é float64."""
_path = gradient_descent(lambda t: 2 * (t - 3), np.array([0, 10]), 0.25, 2)
assert np.asarray(_path).dtype == np.float64, f"esperado float64, obtido {np.asarray(_path).dtype}"
np.testing.assert_allclose(_path, [[0, 10], [1.5, 6.5], [2.25, 4.75]], err_msg="theta0 = [0, 10] (inteiros)")
### BEGIN HIDDEN TESTS
_path = gradient_descent(lambda t: t - 0.5, np.int32(3), 0.5, 3)
assert np.asarray(_path).dtype == np.float64, f"theta0 int32: esperado float64, obtido {np.asarray(_path).dtype}"
np.testing.assert_allclose(_path, [3.0, 1.75, 1.125, 0.8125], err_msg="theta0 = int32(3), eta = 0,5")
### END HIDDEN TESTS

# %% [markdown]
# ### Aprendendo um kernel $3 \times 3$ por descida do gradiente
#
# Um filtro também é um $\theta$. Geramos pares (entrada, saída) com um filtro "secreto" (o
# Sobel vertical) e deixamos a descida do gradiente encontrá-lo, a partir de zeros, com o
# custo $\mathcal{C}(F) = \frac{1}{|O|}\sum (\mathrm{Conv}(X, F) - Y)^2$. O gradiente
# $\nabla\mathcal{C}$ vem da biblioteca (`cnnlib.reference.conv2d_backward`): a próxima seção
# mostra de onde ele sai, e você vai escrevê-lo.

# %%
from cnnlib.reference import conv2d_backward as _library_conv2d_backward

_rng = np.random.default_rng(0)
_X_pairs = _rng.normal(size=(16, 8, 8, 1))
_F_secret = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]).reshape(3, 3, 1, 1)
_Y_pairs = conv_forward(_X_pairs, _F_secret, np.zeros(1))


def _kernel_cost_grad(flat_f):
    f = flat_f.reshape(3, 3, 1, 1)
    out, cache = _library_conv2d_forward(_X_pairs, f)
    _, dw, _ = _library_conv2d_backward(2 * (out - _Y_pairs) / out.size, cache)
    return dw.reshape(-1)


_kernel_path = gradient_descent(_kernel_cost_grad, np.zeros(9), 0.5, 60)
_costs = [np.mean((conv_forward(_X_pairs, f.reshape(3, 3, 1, 1), np.zeros(1)) - _Y_pairs) ** 2)
          for f in _kernel_path]
print("kernel aprendido:\n", _kernel_path[-1].reshape(3, 3).round(3))
print(f"custo inicial {_costs[0]:.3f} -> final {_costs[-1]:.2e}")
fig, ax = plt.subplots(figsize=(4.5, 2.8))
ax.semilogy(_costs)
ax.set_xlabel("passo")
ax.set_ylabel("custo (MSE)")
plt.show()

# %% [markdown]
# Leitura: o custo cai por várias ordens de grandeza em linha reta no gráfico log — a
# descida converge geometricamente — e o kernel aprendido é o Sobel secreto.

# %% [markdown]
# ## 3. Backpropagation à mão: o exemplo $3 \times 3$ / $2 \times 2$
#
# Seja uma ativação de entrada $X$ ($3 \times 3 \times 1$) e um filtro $F$ ($2 \times 2 \times 1$).
# O forward é
#
# $$\begin{aligned}
# O_{00} &= x_{00}f_{00} + x_{01}f_{01} + x_{10}f_{10} + x_{11}f_{11}\\
# O_{01} &= x_{01}f_{00} + x_{02}f_{01} + x_{11}f_{10} + x_{12}f_{11}\\
# O_{10} &= x_{10}f_{00} + x_{11}f_{01} + x_{20}f_{10} + x_{21}f_{11}\\
# O_{11} &= x_{11}f_{00} + x_{12}f_{01} + x_{21}f_{10} + x_{22}f_{11}
# \end{aligned}$$
#
# Recebemos da camada seguinte o gradiente $\partial L/\partial O$ e precisamos de duas coisas:
#
# * $\partial L/\partial F$, para atualizar os pesos: $F' = F - \eta\,\partial L/\partial F$;
# * $\partial L/\partial X$, para continuar a propagação: $X$ é a saída da camada
#   **anterior** (o slide diz "posterior", o que está errado), cujos pesos também precisam
#   de gradiente (exceto na primeira camada).
#
# Pela regra da cadeia, $\dfrac{\partial L}{\partial f_{ij}} = \sum_{p,q}
# \dfrac{\partial L}{\partial O_{pq}}\dfrac{\partial O_{pq}}{\partial f_{ij}}$ e, como
# $\partial O_{pq}/\partial f_{ij} = x_{p+i,\,q+j}$:
#
# $$\frac{\partial L}{\partial f_{00}} = \frac{\partial L}{\partial O_{00}}x_{00}
#  + \frac{\partial L}{\partial O_{01}}x_{01} + \frac{\partial L}{\partial O_{10}}x_{10}
#  + \frac{\partial L}{\partial O_{11}}x_{11}, \quad \ldots$$
#
# Ou seja, **$\partial L/\partial F$ é a convolução (correlação cruzada) da entrada $X$ com
# $\partial L/\partial O$**: $\partial L/\partial F = \mathrm{Conv}(X, \partial L/\partial O)$.
#
# Com várias imagens no lote, cada imagem contribui para o gradiente do **mesmo** filtro: os
# gradientes se **somam** sobre o lote. Com *stride* $S$, a saída $O_{pq}$ lê
# $x_{pS+i,\,qS+j}$; com *padding*, $X$ é a entrada já com zeros nas bordas.
#
# ### Exercício 2 (3,5 pontos): `conv_backward_filter`

# %% nbgrader={"grade": false, "grade_id": "conv_backward_filter", "solution": true}
def conv_backward_filter(x, dout, kernel_size, stride=1, padding=0):
    """Gradient of the loss with respect to the filters: dL/dF = Conv(X, dL/dO).

    Args:
        x: the layer's input, shape (N, H, W, C).
        dout: dL/dO, shape (N, H', W', M).
        kernel_size: (KH, KW).
        stride: positive int; padding: non-negative int (as in conv_forward).

    Returns:
        dw, shape (KH, KW, C, M), summed over the batch.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    kh, kw = kernel_size
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    _, ho, wo, f = dout.shape
    dw = np.zeros((kh, kw, x.shape[-1], f))
    for p in range(ho):
        for q in range(wo):
            patch = xp[:, p * stride:p * stride + kh, q * stride:q * stride + kw, :]
            dw += np.einsum("nhwc,nf->hwcf", patch, dout[:, p, q, :])
    return dw
    ### END SOLUTION


# %% [markdown]
# O que esperar, no exemplo da aula com $X = 0..8$ e $\partial L/\partial O$ = `[[1, 0], [0, 0]]`:
# só $O_{00}$ importa, então $\partial L/\partial F$ = `[[x00, x01], [x10, x11]]` = `[[0, 1], [3, 4]]`.

# %%
dout_demo = np.array([[1.0, 0.0], [0.0, 0.0]]).reshape(1, 2, 2, 1)
print(conv_backward_filter(x_demo, dout_demo, (2, 2))[:, :, 0, 0])

# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_filter_worked_example", "points": 1.5}
"""conv_backward_filter: todas as derivadas parciais do exemplo 3x3 / 2x2 da aula."""
_X = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0], [2.0, 1.0, -3.0]])
_dO = np.array([[0.1, -0.2], [0.3, 0.4]])
# dL/df_ij = sum_pq dL/dO_pq * x_(p+i)(q+j), escrito termo a termo como na aula
_expected = np.array([
    [_dO[0, 0] * _X[0, 0] + _dO[0, 1] * _X[0, 1] + _dO[1, 0] * _X[1, 0] + _dO[1, 1] * _X[1, 1],
     _dO[0, 0] * _X[0, 1] + _dO[0, 1] * _X[0, 2] + _dO[1, 0] * _X[1, 1] + _dO[1, 1] * _X[1, 2]],
    [_dO[0, 0] * _X[1, 0] + _dO[0, 1] * _X[1, 1] + _dO[1, 0] * _X[2, 0] + _dO[1, 1] * _X[2, 1],
     _dO[0, 0] * _X[1, 1] + _dO[0, 1] * _X[1, 2] + _dO[1, 0] * _X[2, 1] + _dO[1, 1] * _X[2, 2]],
])
_got = conv_backward_filter(_X.reshape(1, 3, 3, 1), _dO.reshape(1, 2, 2, 1), (2, 2))
assert np.shape(_got) == (2, 2, 1, 1), f"forma esperada (2, 2, 1, 1), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got[:, :, 0, 0], _expected, atol=1e-12,
                           err_msg="dL/dF deve ser Conv(X, dL/dO)")
### BEGIN HIDDEN TESTS
np.testing.assert_allclose(conv_backward_filter(np.arange(9.0).reshape(1, 3, 3, 1),
                                                np.array([[1.0, 0.0], [0.0, 0.0]]).reshape(1, 2, 2, 1), (2, 2))[:, :, 0, 0],
                           [[0, 1], [3, 4]], err_msg="dL/dO = [[1, 0], [0, 0]]")
### END HIDDEN TESTS


# %% [markdown]
# Os testes a seguir comparam o seu gradiente com o da diferenciação automática do
# TensorFlow, calculado por esta função auxiliar (célula somente leitura):

# %% nbgrader={"grade": false, "grade_id": "tf_grads_reference", "locked": true, "solution": false}
def _tf_grads(x, w, dout, stride=1, padding=0):
    """dL/dx and dL/dw of sum(conv(x, w) * dout), by TensorFlow's autodiff."""
    x = tf.constant(np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0))))
    w = tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        loss = tf.reduce_sum(tf.nn.conv2d(x, w, strides=stride, padding="VALID") * dout)
    dx, dw = tape.gradient(loss, [x, w])
    h, wd = x.shape[1] - 2 * padding, x.shape[2] - 2 * padding
    return dx.numpy()[:, padding:padding + h, padding:padding + wd, :], dw.numpy()


# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_filter_batch", "points": 2}
"""conv_backward_filter: lote e canais, comparados com a diferenciação automática do TensorFlow."""
_rng = np.random.default_rng(1)
_x = _rng.normal(size=(3, 5, 6, 2))
_w = _rng.normal(size=(2, 3, 2, 4))
_dout = _rng.normal(size=(3, 4, 4, 4))
_got = conv_backward_filter(_x, _dout, (2, 3))
assert np.shape(_got) == _w.shape, f"forma esperada {_w.shape}, obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, _tf_grads(_x, _w, _dout)[1], rtol=1e-6, atol=1e-8,
                           err_msg="dL/dF de um lote: some as contribuições de todas as imagens")
### BEGIN HIDDEN TESTS
from autograder.forbid import DEFAULT_CONV_TARGETS, forbid

_FROM_SCRATCH = DEFAULT_CONV_TARGETS + ("tensorflow.nn", "tensorflow.GradientTape",
                                        "cnnlib.gradcheck", "cnnlib.layers")
for _shape, _k, _s, _p in [((2, 7, 9, 3), (3, 3), 2, 0), ((1, 6, 6, 1), (3, 3), 1, 1),
                           ((2, 10, 8, 2), (4, 3), 3, 2), ((3, 4, 4, 2), (4, 4), 1, 0)]:
    _x = _rng.normal(size=_shape)
    _w = _rng.normal(size=_k + (_shape[-1], 3))
    _ho = (_shape[1] - _k[0] + 2 * _p) // _s + 1
    _wo = (_shape[2] - _k[1] + 2 * _p) // _s + 1
    _dout = _rng.normal(size=(_shape[0], _ho, _wo, 3))
    with forbid(*_FROM_SCRATCH):
        _got = conv_backward_filter(_x, _dout, _k, stride=_s, padding=_p)
    np.testing.assert_allclose(_got, _tf_grads(_x, _w, _dout, _s, _p)[1], rtol=1e-6, atol=1e-8,
                               err_msg=f"x{_shape}, kernel {_k}, stride={_s}, padding={_p}")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. O gradiente da entrada: $\mathrm{FullConv}(\mathrm{rot180}(F), \partial L/\partial O)$
#
# Para $\partial L/\partial X$ somamos, para cada $x_{ij}$, as saídas em que ele aparece:
#
# $$\begin{aligned}
# \frac{\partial L}{\partial X_{00}} &= \frac{\partial L}{\partial O_{00}} f_{00}, \qquad
# \frac{\partial L}{\partial X_{01}} = \frac{\partial L}{\partial O_{00}} f_{01}
#   + \frac{\partial L}{\partial O_{01}} f_{00}, \qquad
# \frac{\partial L}{\partial X_{02}} = \frac{\partial L}{\partial O_{01}} f_{01}, \\
# \frac{\partial L}{\partial X_{11}} &= \frac{\partial L}{\partial O_{00}} f_{11}
#   + \frac{\partial L}{\partial O_{01}} f_{10} + \frac{\partial L}{\partial O_{10}} f_{01}
#   + \frac{\partial L}{\partial O_{11}} f_{00}, \quad \ldots
# \end{aligned}$$
#
# Isso também é uma convolução: **gire o filtro 180°** (um *flip* vertical seguido de um
# *flip* horizontal — não é a transposta!) e faça a **convolução completa** (*full
# convolution*): complete $\partial L/\partial O$ com $K-1$ zeros em cada borda e faça a
# correlação cruzada *valid*. A saída cresce de $H'$ para $H' + K - 1$, que é exatamente o
# tamanho de $X$.
#
# ### Exercício 3 (1,5 ponto): `rot180`

# %% nbgrader={"grade": false, "grade_id": "rot180", "solution": true}
def rot180(w):
    """Rotate filters by 180 degrees in their two spatial axes.

    Args:
        w: shape (KH, KW) or (KH, KW, ...) (e.g. (KH, KW, C, M)).

    Returns:
        array of the same shape with out[i, j, ...] = w[KH - 1 - i, KW - 1 - j, ...].
    """
    ### BEGIN SOLUTION
    w = np.asarray(w)
    return w[::-1, ::-1, ...].copy()
    ### END SOLUTION


# %%
print(rot180(np.array([[1, 2, 3], [4, 5, 6]])))

# %% nbgrader={"grade": true, "grade_id": "test_rot180", "points": 1.5}
"""rot180: um flip vertical e depois um horizontal, só nos eixos espaciais."""
_got = rot180(np.array([[1, 2], [3, 4]]))
np.testing.assert_array_equal(_got, [[4, 3], [2, 1]],
                              err_msg="rot180([[1, 2], [3, 4]]) deve ser [[4, 3], [2, 1]]")
### BEGIN HIDDEN TESTS
_got = rot180(np.array([[1, 2, 3], [4, 5, 6]]))
np.testing.assert_array_equal(_got, [[6, 5, 4], [3, 2, 1]],
                              err_msg="filtro não quadrado 2x3: não é a transposta")
_w4 = np.arange(2 * 3 * 2 * 4).reshape(2, 3, 2, 4)
_got = rot180(_w4)
assert np.shape(_got) == _w4.shape, f"forma esperada {_w4.shape}, obtida {np.shape(_got)}"
for _c in range(2):
    for _f in range(4):
        np.testing.assert_array_equal(_got[:, :, _c, _f], np.flipud(np.fliplr(_w4[:, :, _c, _f])),
                                      err_msg="gire só os eixos espaciais (KH, KW)")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercício 4 (1,5 ponto): `full_convolution2d`
#
# A "convolução completa" de uma matriz `a` ($H \times W$) com um kernel `k`
# ($K_H \times K_W$): acrescente $K_H - 1$ linhas de zeros em cima e embaixo e $K_W - 1$
# colunas de zeros à esquerda e à direita de `a`, depois faça a correlação cruzada *valid*
# com `k` (sem girar `k`: quem gira é a chamada, com `rot180`). A saída tem
# $(H + K_H - 1) \times (W + K_W - 1)$.

# %% nbgrader={"grade": false, "grade_id": "full_convolution2d", "solution": true}
def full_convolution2d(a, k):
    """Full cross-correlation of a 2-D array with a 2-D kernel.

    Args:
        a: shape (H, W).
        k: shape (KH, KW).

    Returns:
        out, shape (H + KH - 1, W + KW - 1):
        out[p, q] = sum_ij pad(a)[p + i, q + j] * k[i, j], where pad(a) has KH - 1 zero rows
        above and below and KW - 1 zero columns left and right.
    """
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    kh, kw = k.shape
    ap = np.pad(a, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    ho, wo = a.shape[0] + kh - 1, a.shape[1] + kw - 1
    out = np.zeros((ho, wo))
    for i in range(kh):
        for j in range(kw):
            out += k[i, j] * ap[i:i + ho, j:j + wo]
    return out
    ### END SOLUTION


# %% [markdown]
# O que esperar: com `a` = `[[1, 2], [3, 4]]` e `k` = `[[1, 0], [0, 0]]` (só o canto superior
# esquerdo), a saída $3 \times 3$ é `a` deslocada para baixo e para a direita.

# %%
print(full_convolution2d(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])))

# %% nbgrader={"grade": true, "grade_id": "test_full_convolution2d", "points": 1.5}
"""full_convolution2d: saída de tamanho H + K - 1 e os seus valores."""
_got = full_convolution2d(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 0.0]]))
assert np.shape(_got) == (3, 3), f"forma esperada (3, 3), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, [[0, 0, 0], [0, 1, 2], [0, 3, 4]],
                           err_msg="a convolução completa preenche com K - 1 zeros cada borda")
### BEGIN HIDDEN TESTS
import scipy.signal
from autograder.forbid import DEFAULT_CONV_TARGETS, forbid

_FROM_SCRATCH = DEFAULT_CONV_TARGETS + ("tensorflow.nn", "tensorflow.GradientTape",
                                        "cnnlib.gradcheck", "cnnlib.layers")
_rng = np.random.default_rng(2)
for _ashape, _kshape in [((2, 2), (2, 2)), ((4, 3), (2, 3)), ((5, 6), (3, 1)), ((1, 1), (3, 2))]:
    _a, _k = _rng.normal(size=_ashape), _rng.normal(size=_kshape)
    _expected = scipy.signal.correlate2d(_a, _k, mode="full")
    with forbid(*_FROM_SCRATCH):
        _got = full_convolution2d(_a, _k)
    assert np.shape(_got) == _expected.shape, (
        f"a{_ashape}, k{_kshape}: forma esperada {_expected.shape}, obtida {np.shape(_got)}")
    np.testing.assert_allclose(_got, _expected, atol=1e-12, err_msg=f"a{_ashape}, k{_kshape}")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercício 5 (3,5 pontos): `conv_backward_input`
#
# Agora junte tudo: $\partial L/\partial X = \mathrm{FullConv}(\mathrm{rot180}(F),
# \partial L/\partial O)$, para cada imagem do lote, cada canal de entrada $c$ somando sobre
# os filtros $f$:
#
# $$\frac{\partial L}{\partial X}[n, :, :, c] = \sum_f
#   \mathrm{full\_convolution2d}\big(\tfrac{\partial L}{\partial O}[n, :, :, f],\;
#   \mathrm{rot180}(F)[:, :, c, f]\big).$$
#
# Com **stride** $S > 1$, insira $S - 1$ zeros entre elementos vizinhos de
# $\partial L/\partial O$ antes da convolução completa (as posições que o filtro "pulou" não
# receberam gradiente). Com **padding** $P$, o resultado corresponde à entrada com zeros:
# recorte $P$ linhas/colunas de cada borda. Se $(H + 2P - K)$ não for múltiplo de $S$, as
# últimas linhas/colunas da entrada não foram lidas por nenhuma saída: o gradiente delas é 0.

# %% [markdown]
# **Exemplo resolvido com *stride*.** Entrada $5 \times 5$, filtro $3 \times 3$ de uns,
# $S = 2$, sem *padding*: a saída é $2 \times 2$ e as janelas começam nas linhas/colunas 0 e
# 2 — elas se **sobrepõem** na linha e na coluna 2. Com $\partial L/\partial O$ =
# `[[1, 2], [3, 4]]`, cada $\partial L/\partial O_{pq}$ volta para os 9 elementos da sua
# janela (vezes o peso, aqui 1):
#
# $$\frac{\partial L}{\partial X} = \begin{bmatrix}
# 1 & 1 & 1+2 & 2 & 2\\ 1 & 1 & 3 & 2 & 2\\ 1+3 & 4 & 1+2+3+4 & 2+4 & 6\\
# 3 & 3 & 3+4 & 4 & 4\\ 3 & 3 & 7 & 4 & 4 \end{bmatrix}
# = \begin{bmatrix} 1&1&3&2&2\\ 1&1&3&2&2\\ 4&4&10&6&6\\ 3&3&7&4&4\\ 3&3&7&4&4 \end{bmatrix}.$$
#
# Pela receita do exercício: inserir $S - 1 = 1$ zero entre os vizinhos dá
# `[[1, 0, 2], [0, 0, 0], [3, 0, 4]]`, e a convolução completa desse $3 \times 3$ com
# $\mathrm{rot180}(F)$ ($3 \times 3$) tem $5 \times 5$ — o mesmo resultado. A célula abaixo
# confere a conta espalhando cada $\partial L/\partial O_{pq}$ pela sua janela (a definição,
# não a receita):

# %%
_dO_stride = np.array([[1.0, 2.0], [3.0, 4.0]])
_F_stride = np.ones((3, 3))
_dX_by_hand = np.zeros((5, 5))
for _p in range(2):
    for _q in range(2):
        _dX_by_hand[2 * _p:2 * _p + 3, 2 * _q:2 * _q + 3] += _dO_stride[_p, _q] * _F_stride
print(_dX_by_hand)

# %% nbgrader={"grade": false, "grade_id": "conv_backward_input", "solution": true}
def conv_backward_input(dout, w, input_shape, stride=1, padding=0):
    """Gradient of the loss with respect to the input: dL/dX = FullConv(rot180(F), dL/dO).

    Args:
        dout: dL/dO, shape (N, H', W', M).
        w: filters, shape (KH, KW, C, M).
        input_shape: (N, H, W, C), the shape of the layer's input x.
        stride: positive int; padding: non-negative int (as in conv_forward).

    Returns:
        dx, shape (N, H, W, C).
    """
    ### BEGIN SOLUTION
    dout = np.asarray(dout, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, h, wd, c = input_shape
    kh, kw, _, f = w.shape
    _, ho, wo, _ = dout.shape
    dilated = np.zeros((n, (ho - 1) * stride + 1, (wo - 1) * stride + 1, f))
    dilated[:, ::stride, ::stride, :] = dout
    w_rot = rot180(w)
    full = np.zeros((n, dilated.shape[1] + kh - 1, dilated.shape[2] + kw - 1, c))
    for i in range(n):
        for ci in range(c):
            for fi in range(f):
                full[i, :, :, ci] += full_convolution2d(dilated[i, :, :, fi], w_rot[:, :, ci, fi])
    dx_padded = np.zeros((n, h + 2 * padding, wd + 2 * padding, c))
    dx_padded[:, :full.shape[1], :full.shape[2], :] = full
    return dx_padded[:, padding:padding + h, padding:padding + wd, :]
    ### END SOLUTION


# %% [markdown]
# O que esperar: no exemplo da aula com $\partial L/\partial O$ = `[[1, 0], [0, 0]]` e
# $F$ = `[[0, 1], [2, 3]]`, só as entradas lidas por $O_{00}$ recebem gradiente, cada uma
# com o peso que a multiplicou: $\partial L/\partial X$ = `[[0, 1, 0], [2, 3, 0], [0, 0, 0]]`.

# %%
print(conv_backward_input(dout_demo, w_demo, (1, 3, 3, 1))[0, :, :, 0])

# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_input_worked_example", "points": 1.5}
"""conv_backward_input: todas as derivadas parciais do exemplo 3x3 / 2x2 da aula."""
_F = np.array([[0.5, -1.0], [2.0, 3.0]])
_dO = np.array([[0.1, -0.2], [0.3, 0.4]])
_expected = np.array([
    [_dO[0, 0] * _F[0, 0], _dO[0, 0] * _F[0, 1] + _dO[0, 1] * _F[0, 0], _dO[0, 1] * _F[0, 1]],
    [_dO[0, 0] * _F[1, 0] + _dO[1, 0] * _F[0, 0],
     _dO[0, 0] * _F[1, 1] + _dO[0, 1] * _F[1, 0] + _dO[1, 0] * _F[0, 1] + _dO[1, 1] * _F[0, 0],
     _dO[0, 1] * _F[1, 1] + _dO[1, 1] * _F[0, 1]],
    [_dO[1, 0] * _F[1, 0], _dO[1, 0] * _F[1, 1] + _dO[1, 1] * _F[1, 0], _dO[1, 1] * _F[1, 1]],
])
_got = conv_backward_input(_dO.reshape(1, 2, 2, 1), _F.reshape(2, 2, 1, 1), (1, 3, 3, 1))
assert np.shape(_got) == (1, 3, 3, 1), f"forma esperada (1, 3, 3, 1), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got[0, :, :, 0], _expected, atol=1e-12,
                           err_msg="dL/dX deve ser FullConv(rot180(F), dL/dO)")
### BEGIN HIDDEN TESTS
np.testing.assert_allclose(conv_backward_input(np.array([[1.0, 0.0], [0.0, 0.0]]).reshape(1, 2, 2, 1),
                                               np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(2, 2, 1, 1),
                                               (1, 3, 3, 1))[0, :, :, 0],
                           [[0, 1, 0], [2, 3, 0], [0, 0, 0]], err_msg="dL/dO = [[1, 0], [0, 0]]")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_input_general", "points": 2}
"""conv_backward_input: lote, canais, stride e padding, comparados com a diferenciação automática do TensorFlow."""
_rng = np.random.default_rng(3)
_x = _rng.normal(size=(2, 5, 4, 3))
_w = _rng.normal(size=(3, 2, 3, 2))
_dout = _rng.normal(size=(2, 3, 3, 2))
_got = conv_backward_input(_dout, _w, _x.shape)
assert np.shape(_got) == _x.shape, f"forma esperada {_x.shape}, obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, _tf_grads(_x, _w, _dout)[0], rtol=1e-6, atol=1e-8,
                           err_msg="dL/dX com 3 canais e 2 filtros: some sobre os filtros")
### BEGIN HIDDEN TESTS
from autograder.forbid import DEFAULT_CONV_TARGETS, forbid

_FROM_SCRATCH = DEFAULT_CONV_TARGETS + ("tensorflow.nn", "tensorflow.GradientTape",
                                        "cnnlib.gradcheck", "cnnlib.layers")
for _shape, _k, _s, _p in [((2, 7, 7, 2), (3, 3), 2, 0), ((1, 6, 5, 1), (3, 3), 1, 1),
                           ((2, 10, 8, 2), (4, 3), 3, 2), ((1, 8, 9, 3), (2, 2), 2, 1),
                           ((2, 4, 4, 2), (4, 4), 1, 0)]:
    _x = _rng.normal(size=_shape)
    _w = _rng.normal(size=_k + (_shape[-1], 3))
    _ho = (_shape[1] - _k[0] + 2 * _p) // _s + 1
    _wo = (_shape[2] - _k[1] + 2 * _p) // _s + 1
    _dout = _rng.normal(size=(_shape[0], _ho, _wo, 3))
    with forbid(*_FROM_SCRATCH):
        _got = conv_backward_input(_dout, _w, _shape, stride=_s, padding=_p)
    assert np.shape(_got) == _shape, (
        f"x{_shape}, kernel {_k}, stride={_s}, padding={_p}: forma esperada {_shape}, "
        f"obtida {np.shape(_got)}")
    np.testing.assert_allclose(_got, _tf_grads(_x, _w, _dout, _s, _p)[0], rtol=1e-6, atol=1e-8,
                               err_msg=f"x{_shape}, kernel {_k}, stride={_s}, padding={_p}")
### END HIDDEN TESTS

# %% [markdown]
# Quantos gradientes uma camada convolucional guarda? Um por peso ($K \cdot K \cdot C \cdot N$),
# um por *bias* ($N$; $\partial L/\partial b_f$ é a soma de $\partial L/\partial O$ no lote e
# nas posições do mapa $f$) e, durante o backward, um por ativação de entrada
# ($\partial L/\partial X$, do tamanho de $X$), que segue para a camada anterior.
#
# ### Exercício 6 (1,5 ponto): `conv_backward_bias`
#
# O *bias* $b_f$ é somado a **todas** as posições do mapa $f$, em **todas** as imagens do
# lote; logo $\partial L/\partial b_f = \sum_{n,p,q} \partial L/\partial O[n, p, q, f]$.

# %% nbgrader={"grade": false, "grade_id": "conv_backward_bias", "solution": true}
def conv_backward_bias(dout):
    """Gradient of the loss with respect to the biases.

    Args:
        dout: dL/dO, shape (N, H', W', M).

    Returns:
        db, shape (M,): dout summed over the batch and both spatial axes.
    """
    ### BEGIN SOLUTION
    return np.asarray(dout, dtype=np.float64).sum(axis=(0, 1, 2))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_bias", "points": 1.5}
"""conv_backward_bias: soma sobre o lote e as posições, um valor por filtro."""
_dout = np.arange(2 * 2 * 3 * 2, dtype=float).reshape(2, 2, 3, 2)
_got = conv_backward_bias(_dout)
assert np.shape(_got) == (2,), f"forma esperada (2,), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, [132.0, 144.0], err_msg="some sobre lote, linhas e colunas")
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(8)
_x = tf.constant(_rng.normal(size=(3, 5, 4, 2)))
_b = tf.Variable(_rng.normal(size=4))
_dout = _rng.normal(size=(3, 4, 2, 4))
with tf.GradientTape() as _tape:
    _loss = tf.reduce_sum((tf.nn.conv2d(_x, tf.ones((2, 3, 2, 4), tf.float64), 1, "VALID") + _b) * _dout)
np.testing.assert_allclose(conv_backward_bias(_dout), _tape.gradient(_loss, _b).numpy(), rtol=1e-10,
                           err_msg="diferente do gradiente do TensorFlow para o bias (lote de 3)")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Verificação numérica do gradiente
#
# Como saber se um gradiente escrito à mão está certo? Comparando-o com a definição de
# derivada, por **diferenças centrais**:
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},$$
#
# uma entrada de cada vez (por isso é lento: só serve para testar). A comparação usa o
# **erro relativo** $\max_i \dfrac{|a_i - b_i|}{\max(10^{-8}, |a_i| + |b_i|)}$: em `float64`,
# valores por volta de $10^{-7}$ ou menores indicam um gradiente correto.
#
# ### Exercício 7 (2,5 pontos): `numeric_gradient` e `relative_error`

# %% nbgrader={"grade": false, "grade_id": "numeric_gradient", "solution": true}
def numeric_gradient(f, x, h=1e-5):
    """Numeric gradient of a scalar function by central differences.

    Args:
        f: callable taking an array shaped like x and returning a scalar.
        x: float64 array, any shape; it must hold its original values on return.
        h: step.

    Returns:
        grad, same shape as x: grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h).
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        f_plus = float(f(x))
        flat_x[i] = old - h
        f_minus = float(f(x))
        flat_x[i] = old
        flat_g[i] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "relative_error", "solution": true}
def relative_error(a, b):
    """Largest elementwise relative error: max |a - b| / max(1e-8, |a| + |b|).

    Args:
        a, b: arrays of the same shape.

    Returns:
        float.
    """
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
    ### END SOLUTION


# %% [markdown]
# O que esperar: para $f(x) = \sum x^3$ o gradiente é $3x^2$, e o erro relativo entre os dois
# fica perto de $10^{-10}$.

# %%
_x = np.array([[1.0, -2.0], [0.5, 3.0]])
print(numeric_gradient(lambda v: np.sum(v ** 3), _x))
print("erro relativo:", relative_error(numeric_gradient(lambda v: np.sum(v ** 3), _x), 3 * _x ** 2))

# %% nbgrader={"grade": true, "grade_id": "test_numeric_gradient", "points": 1.5}
"""numeric_gradient: igual aos gradientes analíticos, e x volta aos valores originais."""
_x = np.array([[1.0, -2.0], [0.5, 3.0]])
_x_before = _x.copy()
_got = numeric_gradient(lambda v: np.sum(v ** 3), _x)
assert np.shape(_got) == (2, 2), f"forma esperada (2, 2), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, 3 * _x_before ** 2, rtol=1e-7,
                           err_msg="gradiente de sum(x**3) deve ser 3 x**2")
np.testing.assert_array_equal(_x, _x_before, err_msg="x deve voltar aos valores originais")
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(4)
_x = _rng.normal(size=(2, 3, 4))
_x_orig = _x.copy()
_wt = _rng.normal(size=(2, 3, 4))
from autograder.forbid import forbid

with forbid("tensorflow.GradientTape", "tensorflow.gradients", "cnnlib.gradcheck"):
    _got = numeric_gradient(lambda v: np.sum(np.sin(v) * _wt), _x, h=1e-6)
np.testing.assert_allclose(_got, np.cos(_x_orig) * _wt, rtol=1e-6, atol=1e-9,
                           err_msg="entrada 3D: gradiente de sum(sin(x) * w)")
np.testing.assert_array_equal(_x, _x_orig, err_msg="entrada 3D: x deve voltar aos valores originais")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_relative_error", "points": 1}
"""relative_error: elemento a elemento, simétrico, seguro em zero."""
_got = relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2]))
assert abs(_got - 0.2 / 4.2) < 1e-12, f"esperado {0.2 / 4.2:.6f}, obtido {_got}"
assert relative_error(np.zeros(3), np.zeros(3)) == 0.0, "erro relativo de zeros iguais deve ser 0"
### BEGIN HIDDEN TESTS
_got = relative_error(np.array([1e-3, 100.0]), np.array([2e-3, 100.0]))
assert abs(_got - 1 / 3) < 1e-9, (
    f"o erro é elemento a elemento (o maior deles): esperado {1 / 3:.6f}, obtido {_got}")
_got = relative_error(np.array([[1.0, -1.0]]), np.array([[-1.0, -1.0]]))
assert abs(_got - 1.0) < 1e-12, f"|1 - (-1)| / (|1| + |-1|) = 1, obtido {_got}"
### END HIDDEN TESTS

# %% [markdown]
# Com ele verificamos os gradientes à mão numa camada pequena (em `float64`), e comparamos
# o nosso verificador com o da biblioteca do curso, `cnnlib.gradcheck`:

# %%
_rng = np.random.default_rng(5)
_x = _rng.normal(size=(2, 5, 5, 2))
_w = _rng.normal(size=(3, 3, 2, 3))
_dout = _rng.normal(size=(2, 3, 3, 3))
_s, _p = 2, 1
_dout = _rng.normal(size=(2, 3, 3, 3))
_loss_x = lambda v: np.sum(conv_forward(v, _w, np.zeros(3), _s, _p) * _dout)
_loss_w = lambda v: np.sum(conv_forward(_x, v, np.zeros(3), _s, _p) * _dout)
print("dL/dX, erro relativo:",
      relative_error(numeric_gradient(_loss_x, _x.copy()), conv_backward_input(_dout, _w, _x.shape, _s, _p)))
print("dL/dF, erro relativo:",
      relative_error(numeric_gradient(_loss_w, _w.copy()), conv_backward_filter(_x, _dout, (3, 3), _s, _p)))

import cnnlib.gradcheck

print("nosso numeric_gradient vs cnnlib.gradcheck:",
      cnnlib.gradcheck.rel_error(numeric_gradient(_loss_w, _w.copy()),
                                 cnnlib.gradcheck.numeric_gradient(_loss_w, _w.copy())))

# %% [markdown]
# ## 6. O seu gradiente dentro do Keras: `tf.custom_gradient`
#
# O Keras calcula gradientes por diferenciação automática. Com `tf.custom_gradient`
# dizemos ao TensorFlow: "para esta operação, o gradiente é **este aqui**". A função
# decorada devolve a saída e uma função `grad(dout)` que devolve um gradiente por entrada,
# na ordem das entradas.
#
# ### Exercício 8 (3 pontos): `conv2d_manual`
#
# Escreva uma convolução *valid* com *stride* 1 cujo forward é `tf.nn.conv2d` (permitido
# aqui) e cujo backward usa **as suas** funções `conv_backward_input` e
# `conv_backward_filter`, chamadas através de `tf.numpy_function` (que roda código NumPy
# dentro do grafo do TensorFlow). Devolva `(dx, dw)` com o `dtype` de `x`.
# Dica: `tf.numpy_function(fn, [tensores...], Tout=tf.float64)` e depois `tf.cast`; a forma
# de `x` em tempo de execução é `tf.shape(x)`.

# %% nbgrader={"grade": false, "grade_id": "conv2d_manual", "solution": true}
@tf.custom_gradient
def conv2d_manual(x, w):
    """Valid, stride-1 convolution whose gradient is the hand-written one.

    Args:
        x: tensor (N, H, W, C), float32 or float64.
        w: tensor (KH, KW, C, M), same dtype.

    Returns:
        (out, grad): out (N, H - KH + 1, W - KW + 1, M); grad(dout) -> (dx, dw), computed with
        conv_backward_input and conv_backward_filter (never with TensorFlow's autodiff).
    """
    ### BEGIN SOLUTION
    out = tf.nn.conv2d(x, w, strides=1, padding="VALID")

    def grad(dout):
        dx = tf.numpy_function(
            lambda d, k, shape: conv_backward_input(d, k, tuple(shape)),
            [dout, w, tf.shape(x)], Tout=tf.float64)
        dw = tf.numpy_function(
            lambda xx, d, k: conv_backward_filter(xx, d, k.shape[:2]),
            [x, dout, w], Tout=tf.float64)
        dx = tf.reshape(tf.cast(dx, x.dtype), tf.shape(x))
        dw = tf.reshape(tf.cast(dw, w.dtype), tf.shape(w))
        return dx, dw

    return out, grad
    ### END SOLUTION


# %% [markdown]
# O que esperar: os gradientes de `conv2d_manual` iguais aos da diferenciação automática do
# TensorFlow (diferença da ordem de $10^{-5}$ em `float32`) e, em `float64`, erro relativo
# abaixo de $10^{-7}$ na verificação numérica.

# %%
_x = tf.random.stateless_normal((2, 6, 6, 3), seed=(1, 2))
_w = tf.random.stateless_normal((3, 3, 3, 4), seed=(3, 4))
with tf.GradientTape(persistent=True) as _tape:
    _tape.watch([_x, _w])
    _mine = tf.reduce_sum(tf.square(conv2d_manual(_x, _w)))
    _auto = tf.reduce_sum(tf.square(tf.nn.conv2d(_x, _w, 1, "VALID")))
for _name, _a, _b in zip(["dx", "dw"], _tape.gradient(_mine, [_x, _w]), _tape.gradient(_auto, [_x, _w])):
    print(_name, "maior diferença:", float(tf.reduce_max(tf.abs(_a - _b))))

# verificação numérica em float64 com cnnlib.gradcheck: um erro relativo por entrada (x, w)
print("gradcheck float64 (x, w):", cnnlib.gradcheck.check_gradients(
    conv2d_manual, [np.random.default_rng(9).normal(size=(2, 5, 5, 2)),
                    np.random.default_rng(10).normal(size=(3, 3, 2, 3))]))


# %% nbgrader={"grade": true, "grade_id": "test_conv2d_manual_gradients", "points": 1.5}
"""conv2d_manual: saída e gradientes iguais aos de keras.layers.Conv2D (float32)."""
def _keras_vs_manual(x, kernel):
    """Gradients of a loss through keras.layers.Conv2D and through conv2d_manual."""
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], use_bias=False)
    layer.build(x.shape)
    layer.kernel.assign(kernel)
    x = tf.constant(x)
    target = tf.random.stateless_normal(layer.compute_output_shape(x.shape), seed=(7, 7))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        k = tf.convert_to_tensor(layer.kernel)
        tape.watch(k)
        y_keras = layer(x)
        y_mine = conv2d_manual(x, k)
        loss_keras = tf.reduce_sum((y_keras - target) ** 2)
        loss_mine = tf.reduce_sum((y_mine - target) ** 2)
    g_keras = tape.gradient(loss_keras, [x, layer.kernel])
    g_mine = tape.gradient(loss_mine, [x, k])
    return (y_keras, y_mine), g_keras, g_mine


_rng = np.random.default_rng(6)
_ys, _gk, _gm = _keras_vs_manual(_rng.normal(size=(2, 6, 5, 2)).astype("float32"),
                                 _rng.normal(size=(3, 2, 2, 3)).astype("float32"))
np.testing.assert_allclose(_ys[1].numpy(), _ys[0].numpy(), rtol=1e-4, atol=1e-4,
                           err_msg="saída diferente de keras.layers.Conv2D")
for _name, _a, _b in zip(["dL/dX", "dL/dF"], _gm, _gk):
    assert _a is not None, f"{_name}: o gradiente veio None (grad deve devolver (dx, dw))"
    np.testing.assert_allclose(_a.numpy(), _b.numpy(), rtol=1e-4, atol=1e-3,
                               err_msg=f"{_name} diferente do de keras.layers.Conv2D")
### BEGIN HIDDEN TESTS
_ys, _gk, _gm = _keras_vs_manual(_rng.normal(size=(3, 9, 7, 3)).astype("float32"),
                                 _rng.normal(size=(4, 4, 3, 2)).astype("float32"))
for _what, _mine, _ref in zip(["dL/dX", "dL/dF"], _gm, _gk):
    assert _mine is not None, f"{_what}: o gradiente veio None"
    assert _mine.dtype == tf.float32, f"{_what}: dtype esperado float32, obtido {_mine.dtype}"
    np.testing.assert_allclose(_mine.numpy(), _ref.numpy(), atol=1e-3, rtol=1e-4,
                               err_msg=f"{_what} (lote 3, 3 canais, kernel 4x4)")
### END HIDDEN TESTS


# %% nbgrader={"grade": true, "grade_id": "test_conv2d_manual_is_handwritten", "points": 1.5}
"""conv2d_manual: o grafo do gradiente não tem operações de backprop de convolução do TensorFlow, e funciona no fit."""
@tf.function
def _traced_grads(x, w):
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        loss = tf.reduce_sum(conv2d_manual(x, w) ** 2)
    return tape.gradient(loss, [x, w])


_graph = _traced_grads.get_concrete_function(
    tf.TensorSpec((None, 5, 5, 1), tf.float32), tf.TensorSpec((2, 2, 1, 2), tf.float32)).graph
_backprop = sorted({op.type for op in _graph.get_operations() if "Backprop" in op.type})
assert not _backprop, (
    f"o gradiente deve ser o seu (tf.custom_gradient), não o do TensorFlow; achei {_backprop}")
_dx, _dw = _traced_grads(tf.ones((2, 5, 5, 1)), tf.ones((2, 2, 1, 2)))
assert _dx.shape == (2, 5, 5, 1) and _dw.shape == (2, 2, 1, 2), (
    f"formas esperadas (2, 5, 5, 1) e (2, 2, 1, 2), obtidas {_dx.shape} e {_dw.shape}")
### BEGIN HIDDEN TESTS
# out = 4 everywhere, dL/dO = 2 * out = 8; dL/dF sums 2 images x 16 positions;
# dL/dX sums over 2 filters and the outputs that read each pixel.
np.testing.assert_allclose(_dw.numpy()[:, :, 0, :], np.full((2, 2, 2), 8.0 * 2 * 16),
                           err_msg="dL/dF em grafo (tf.function), batch None, entrada de uns")
np.testing.assert_allclose(_dx.numpy()[0, :, :, 0],
                           8.0 * 2 * np.array([[1, 2, 2, 2, 1], [2, 4, 4, 4, 2], [2, 4, 4, 4, 2],
                                             [2, 4, 4, 4, 2], [1, 2, 2, 2, 1]]),
                           err_msg="dL/dX em grafo (tf.function), batch None, entrada de uns")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Treinando uma rede com o seu gradiente
#
# Uma camada Keras com pesos (`build`) que usa `conv2d_manual` no `call`. O `kernel` é
# passado como tensor (`tf.convert_to_tensor(self.kernel)`): assim o gradiente que o
# `custom_gradient` devolve para `w` chega à variável. Treinamos uma rede pequena nos
# dígitos $8 \times 8$ do scikit-learn (1.797 imagens reais) com `fit`, lado a lado com a mesma
# rede feita com `keras.layers.Conv2D`, a partir dos mesmos pesos iniciais. A rede usa
# também um *max pooling* $2 \times 2$ e uma saída softmax com a entropia cruzada: essas
# peças são explicadas (e escritas por você) no notebook 03; aqui basta saber que o pooling
# reduz o mapa pela metade e que a softmax transforma 10 números em probabilidades. O
# otimizador, Adam, é uma descida do gradiente com passo adaptado por peso.

# %%
class ManualConv2D(keras.layers.Layer):
    """Valid, stride-1 conv layer whose gradient comes from conv2d_manual."""

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = int(filters), int(kernel_size)

    def build(self, input_shape):
        k = self.kernel_size
        self.kernel = self.add_weight(shape=(k, k, input_shape[-1], self.filters),
                                      initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, x):
        return conv2d_manual(x, tf.convert_to_tensor(self.kernel)) + self.bias


def small_cnn(conv_layer):
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        conv_layer,
        keras.layers.ReLU(),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


# %%
if HEAVY:
    from cnnlib.data import load_digits

    _images, _labels = load_digits()
    _xd = (_images / 16.0).astype("float32")[..., None]
    _xtr, _ytr, _xte, _yte = _xd[:1400], _labels[:1400], _xd[1400:], _labels[1400:]
    histories = {}
    keras.utils.set_random_seed(0)
    _manual = small_cnn(ManualConv2D(8, 3))
    _builtin = small_cnn(keras.layers.Conv2D(8, 3))
    _builtin.set_weights(_manual.get_weights())  # mesmos pesos iniciais
    for _name, _model in [("conv2d_manual", _manual), ("keras Conv2D", _builtin)]:
        _model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
        histories[_name] = _model.fit(_xtr, _ytr, epochs=6, batch_size=50, shuffle=False,
                                      validation_data=(_xte, _yte), verbose=0).history
        print(f"{_name:14s} acurácia de validação por época:",
              np.round(histories[_name]["val_accuracy"], 4))
    fig, ax = plt.subplots(figsize=(5, 3))
    for _name, _h in histories.items():
        ax.plot(_h["loss"], marker="o", label=_name)
    ax.set_xlabel("época")
    ax.set_ylabel("perda de treino")
    ax.legend()
    plt.show()

# %% [markdown]
# As duas curvas coincidem: o seu gradiente é o gradiente da camada. Os filtros aprendidos
# pela rede com o seu gradiente:

# %%
if HEAVY:
    _k = _manual.layers[0].kernel.numpy()
    fig, axes = plt.subplots(1, _k.shape[-1], figsize=(10, 1.6))
    for _i, _ax in enumerate(axes):
        _ax.imshow(_k[:, :, 0, _i], cmap="gray")
        _ax.axis("off")
    plt.suptitle("filtros 3x3 aprendidos")
    plt.show()
