# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 — Redes adversárias generativas (GANs)
#
# A última parte da aula: **modelos generativos**. Até aqui as redes eram **discriminativas**
# (aprendem $p(y \mid x)$: dada a imagem, qual a classe); um modelo **generativo** aprende a
# distribuição dos próprios dados, $p(x)$, e consegue **amostrar** imagens novas. A aula lista
# vários (Bayes, GMM, RBM, DBN, VAE) e se concentra nas **GANs** (*Generative Adversarial
# Networks*; o slide escreve "Generatives", o nome é *Generative*), que combinam o aprendizado
# não supervisionado (as imagens não precisam de rótulo) com o supervisionado (um
# classificador binário real × falso). Neste notebook:
#
# 1. o jogo adversarial: o **discriminador** $D$ e o **gerador** $G$, e a perda de cada um
#    escrita a partir de *logits*, de forma numericamente estável;
# 2. a perda do gerador **saturante** (a do jogo *minimax*) × **não saturante** (a da prática),
#    e o gradiente de cada uma quando $D(G(z)) \approx 0$;
# 3. o espaço latente $z \sim N(0, 1)$ e a entrada de uma **GAN condicional**;
# 4. um passo de treino completo (um passo de $D$, um passo de $G$), conferido contra o da
#    `cnnlib`;
# 5. experimentos (não avaliados): uma DCGAN no Fashion-MNIST e uma GAN condicional no MNIST,
#    com um classificador treinado em dígitos reais medindo se as amostras são da classe pedida.
#
# **Convenções.** *Logits* $l$ com $D = \sigma(l) = 1/(1 + e^{-l})$, a probabilidade de
# "real". As funções das seções 1–3 são NumPy do zero: os testes ocultos reprovam chamadas a
# `tf.nn`, `keras.ops`, `keras.losses`, `scipy.special` e à `cnnlib.gan`. Aleatoriedade
# sempre por `np.random.default_rng(seed)`, nunca pelo estado global. Cada célula de teste
# mostra os pontos que vale; o total é **20 pontos**.

# %%
import os

import numpy as np
import tensorflow as tf
import keras
import matplotlib.pyplot as plt

from cnnlib import gan

np.set_printoptions(precision=4, suppress=True)
HEAVY = not os.environ.get("NBGRADER_EXECUTION")  # treinos só fora da correção automática
print("TensorFlow", tf.__version__, "| Keras", keras.__version__)

# %% [markdown]
# ## 1. O discriminador e a entropia cruzada a partir de *logits*
#
# Na aula, $D$ é um classificador binário (real, $y = 1$; falso, $y = 0$) treinado
# minimizando a entropia cruzada
#
# $$\min_D\; -y \log D(x) - (1 - y) \log\big(1 - D(x)\big).$$
#
# Calcular $\sigma(l)$ e depois $\log$ quebra para *logits* grandes: em float64,
# $\sigma(-1000) = 0$ e $\log 0 = -\infty$. Com a *softplus*, $\mathrm{sp}(l) = \log(1 + e^{l})$,
#
# $$-\log \sigma(l) = \mathrm{sp}(-l), \qquad -\log\big(1 - \sigma(l)\big) = \mathrm{sp}(l), \qquad
#   \mathrm{BCE}(l, y) = \mathrm{sp}(l) - y\,l ,$$
#
# e a própria *softplus* se escreve sem estouro: $\mathrm{sp}(l) = \max(l, 0) + \log\big(1 + e^{-|l|}\big)$
# (use `np.log1p`). Exemplos: $l = 0$ dá $\log 2 = 0{,}6931$ para qualquer $y \in \{0, 1\}$;
# $l = 2$, $y = 1$: $\mathrm{sp}(2) - 2 = 2{,}1269 - 2 = 0{,}1269$; $l = 100$, $y = 0$: $100$
# (e não `inf`); $l = -1000$, $y = 1$: $1000$.
#
# ### Exercício 1 (3 pontos): `bce_with_logits`
#
# Elemento a elemento (sem média): `logits` de qualquer forma, `targets` da mesma forma ou um
# escalar, em $[0, 1]$. Devolva float64, finito para qualquer *logit* finito.

# %% nbgrader={"grade": false, "grade_id": "bce_with_logits", "solution": true}
def bce_with_logits(logits, targets):
    """Elementwise binary cross-entropy from logits: softplus(l) - y * l, stable.

    Args:
        logits: float array, any shape.
        targets: array of the same shape or a scalar, in [0, 1].

    Returns:
        float64 array with the shape of logits.
    """
    ### BEGIN SOLUTION
    l = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    softplus = np.maximum(l, 0.0) + np.log1p(np.exp(-np.abs(l)))
    return softplus - y * l
    ### END SOLUTION


# %%
print(bce_with_logits(np.array([0.0, 0.0, 2.0, 100.0, -1000.0]), np.array([0, 1, 1, 0, 1])))

# %% nbgrader={"grade": true, "grade_id": "test_bce_with_logits_values", "points": 1.5}
"""bce_with_logits: os exemplos resolvidos e -y log D - (1 - y) log(1 - D) em logits moderados."""
np.testing.assert_allclose(bce_with_logits(np.array([0.0, 0.0, 2.0]), np.array([0.0, 1.0, 1.0])),
                           [np.log(2), np.log(2), 0.126928], rtol=1e-5, err_msg="exemplos: l = 0 (y = 0 e 1), l = 2 (y = 1)")
_l = np.array([[-3.0, -0.5, 0.7], [1.5, 4.0, -2.0]])
_y = np.array([[1.0, 0.0, 1.0], [0.0, 0.9, 0.2]])
_d = 1 / (1 + np.exp(-_l))
_got = bce_with_logits(_l, _y)
assert np.shape(_got) == (2, 3), f"elemento a elemento: forma esperada (2, 3), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, -_y * np.log(_d) - (1 - _y) * np.log(1 - _d), rtol=1e-9,
                           err_msg="-y log D - (1 - y) log(1 - D), com alvos 0, 1 e fracionários")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(0)
_l = _rng.normal(scale=3, size=(4, 1, 5)).astype(np.float32)
_before = _l.copy()
with forbid("tensorflow.nn", "tensorflow.math", "keras.ops", "keras.losses", "keras.activations", "scipy.special",
            "cnnlib.gan", "sklearn.metrics"):
    _got = bce_with_logits(_l, 1.0)
_ll = _l.astype(np.float64)
np.testing.assert_allclose(_got, np.log1p(np.exp(-_ll)), rtol=1e-6, err_msg="logits float32 (4, 1, 5), alvo escalar 1")
np.testing.assert_array_equal(_l, _before, err_msg="a entrada não deve ser modificada")
np.testing.assert_allclose(bce_with_logits(_l, 0.0), np.log1p(np.exp(_ll)), rtol=1e-6, err_msg="alvo escalar 0")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_bce_with_logits_stable", "points": 1.5}
"""bce_with_logits: finita e exata para logits de +-100 e +-1000."""
with np.errstate(all="ignore"):
    _got = bce_with_logits(np.array([100.0, -100.0, 1000.0, -1000.0]), np.array([0.0, 1.0, 0.0, 1.0]))
assert np.all(np.isfinite(_got)), f"perdas devem ser finitas para logits ±100 e ±1000, obtido {_got}"
np.testing.assert_allclose(_got, [100.0, 100.0, 1000.0, 1000.0], rtol=1e-12,
                           err_msg="D confiante e errado: a perda é |l|")
### BEGIN HIDDEN TESTS
with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
    _got = bce_with_logits(np.array([[100.0, -100.0], [1000.0, -1000.0]]), np.array([[1.0, 0.0], [1.0, 0.0]]))
assert np.all(np.isfinite(_got)), f"D confiante e certo: perdas finitas, obtido {_got}"
np.testing.assert_allclose(_got, [[0.0, 0.0], [0.0, 0.0]], atol=1e-12,
                           err_msg="D confiante e certo: a perda é ~e^{-|l|}, praticamente 0")
with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
    _got = bce_with_logits(np.array([-800.0, 50.0, 800.0]), np.array([0.3, 0.5, 0.7]))
np.testing.assert_allclose(_got, [0.3 * 800, 50.0 - 25.0, 800.0 - 0.7 * 800], rtol=1e-9, err_msg="alvos fracionários com logits grandes")
### END HIDDEN TESTS

# %% [markdown]
# ### A perda do discriminador
#
# $D$ recebe um lote de $N$ imagens reais (alvo 1) e um de $M$ falsas $G(z)$ (alvo 0). A perda
# é a **média em cada lote, somadas** (as duas metades do jogo têm o mesmo peso, mesmo se
# $N \ne M$):
#
# $$L_D = \frac{1}{N}\sum_{i}\mathrm{BCE}(l^{\mathrm{real}}_i, 1) + \frac{1}{M}\sum_{j}\mathrm{BCE}(l^{\mathrm{falso}}_j, 0).$$
#
# Exemplo: um $D$ que ainda não sabe nada ($l = 0$, $D = 0{,}5$ em tudo) tem
# $L_D = \log 2 + \log 2 = 1{,}3863$. Com $l^{\mathrm{real}} = (2, 3)$ e $l^{\mathrm{falso}} = (-1)$:
# $\frac{0{,}1269 + 0{,}0486}{2} + \mathrm{sp}(-1) = 0{,}0877 + 0{,}3133 = 0{,}4010$.
#
# ### Exercício 2 (2,5 pontos): `discriminator_loss`
#
# Devolva um número (float). Pode usar a sua `bce_with_logits`.

# %% nbgrader={"grade": false, "grade_id": "discriminator_loss", "solution": true}
def discriminator_loss(real_logits, fake_logits):
    """mean(BCE(real_logits, 1)) + mean(BCE(fake_logits, 0)), as a float."""
    ### BEGIN SOLUTION
    return float(np.mean(bce_with_logits(real_logits, 1.0)) + np.mean(bce_with_logits(fake_logits, 0.0)))
    ### END SOLUTION


# %%
print(discriminator_loss(np.zeros(4), np.zeros(4)), discriminator_loss(np.array([2.0, 3.0]), np.array([-1.0])))

# %% nbgrader={"grade": true, "grade_id": "test_discriminator_loss", "points": 2.5}
"""discriminator_loss: 2 log 2 em D = 0,5, o exemplo resolvido, e batches de tamanhos diferentes."""
_got = discriminator_loss(np.zeros((4, 1)), np.zeros((4, 1)))
np.testing.assert_allclose(_got, 2 * np.log(2), rtol=1e-9, err_msg="D = 0,5 em tudo: 2 log 2 = 1,3863")
np.testing.assert_allclose(discriminator_loss(np.array([2.0, 3.0]), np.array([-1.0])), 0.4010, atol=1e-4,
                           err_msg="reais (2, 3), falso (-1): média de cada lote, somadas")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(1)
for _n, _m in [(6, 3), (1, 5), (8, 8)]:
    _r, _f = _rng.normal(scale=2, size=(_n, 1)), _rng.normal(scale=2, size=(_m, 1))
    _expected = float(gan.discriminator_loss(_r, _f))
    with forbid("tensorflow.nn", "tensorflow.math", "keras.ops", "keras.losses", "scipy.special", "cnnlib.gan"):
        _got = discriminator_loss(_r, _f)
    np.testing.assert_allclose(_got, _expected, rtol=1e-6, err_msg=f"N = {_n} reais, M = {_m} falsos (cnnlib.gan)")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. O gerador e o jogo *minimax*
#
# O gerador transforma ruído em imagem: $G(z) = x'$, com a **variável latente**
# $z \sim N(0, 1)$. Ele quer que $D$ erre nas falsas: que $D(G(z)) \approx 1$. A aula escreve o
# objetivo de $G$ de duas formas:
#
# * **minimax** (saturante): $\max_G -\log\big(1 - D(G(z))\big)$, isto é,
#   $\min_G \log\big(1 - D(G(z))\big) = \min_G -\mathrm{sp}(l)$;
# * **não saturante**: $\min_G -\log D(G(z)) = \min_G \mathrm{sp}(-l) = \min_G \mathrm{BCE}(l, 1)$.
#
# Juntando $D$ e $G$, com $V(D, G) = \mathbb{E}_x \log D(x) + \mathbb{E}_z \log\big(1 - D(G(z))\big)$,
# o jogo é
#
# $$\min_G \max_D V(D, G) .$$
#
# **Correção do slide.** A aula escreve $\min\big(\max(-\mathbb{E}_x \log D(x) - \mathbb{E}_z \log(1 - D(G(z))))_G\big)_D$,
# isto é, $\min_D \max_G$ da perda $L = -V$. A ordem está trocada: o problema interno é o do
# **discriminador** (para cada $G$, o melhor $D$), e o externo, o do gerador — em termos da
# perda, $\max_G \min_D L$, que é o mesmo que $\min_G \max_D V$ (Goodfellow et al., 2014). A
# ordem importa: em geral $\min \max \ne \max \min$; no $\min_D \max_G$ do slide seria $G$ que
# responde a cada $D$.
#
# Cada perda do gerador é a **média** sobre o lote. Exemplo com $l = (0, -2)$:
# não saturante $= \frac{\mathrm{sp}(0) + \mathrm{sp}(2)}{2} = \frac{0{,}6931 + 2{,}1269}{2} = 1{,}4100$;
# minimax $= -\frac{\mathrm{sp}(0) + \mathrm{sp}(-2)}{2} = -\frac{0{,}6931 + 0{,}1269}{2} = -0{,}4100$.
#
# ### Exercício 3 (2,5 pontos): `generator_loss`
#
# `mode` é `"non_saturating"` (padrão) ou `"minimax"`; outro valor levanta `ValueError`.
# Devolva um float.

# %% nbgrader={"grade": false, "grade_id": "generator_loss", "solution": true}
def generator_loss(fake_logits, mode="non_saturating"):
    """Generator loss from D's logits on fakes: mean(BCE(l, 1)) or mean(log(1 - D)) = -mean(softplus(l))."""
    ### BEGIN SOLUTION
    if mode == "non_saturating":
        return float(np.mean(bce_with_logits(fake_logits, 1.0)))
    if mode == "minimax":
        return float(-np.mean(bce_with_logits(fake_logits, 0.0)))
    raise ValueError(f"mode must be 'non_saturating' or 'minimax'. Received: mode={mode!r}")
    ### END SOLUTION


# %%
print(generator_loss(np.array([0.0, -2.0])), generator_loss(np.array([0.0, -2.0]), "minimax"))

# %% nbgrader={"grade": true, "grade_id": "test_generator_loss_non_saturating", "points": 1.5}
"""generator_loss: a perda não saturante -log D(G(z)) (o padrão)."""
np.testing.assert_allclose(generator_loss(np.array([0.0, -2.0])), 1.4100, atol=1e-4,
                           err_msg="não saturante em l = (0, -2): média de sp(-l)")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(2)
_l = _rng.normal(scale=3, size=(7, 1))
with forbid("tensorflow.nn", "tensorflow.math", "keras.ops", "keras.losses", "scipy.special", "cnnlib.gan"):
    _got = generator_loss(_l, mode="non_saturating")
np.testing.assert_allclose(_got, float(gan.generator_loss(_l, "non_saturating")), rtol=1e-6,
                           err_msg="lote (7, 1), mode='non_saturating' (cnnlib.gan)")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_generator_loss_minimax", "points": 1}
"""generator_loss: a perda minimax log(1 - D(G(z))), e modos desconhecidos rejeitados."""
np.testing.assert_allclose(generator_loss(np.array([0.0, -2.0]), "minimax"), -0.4100, atol=1e-4,
                           err_msg="minimax em l = (0, -2): -média de sp(l)")
try:
    generator_loss(np.zeros(2), "wasserstein")
except ValueError:
    pass
else:
    raise AssertionError("mode desconhecido deve levantar ValueError")
### BEGIN HIDDEN TESTS
_l = np.random.default_rng(3).normal(scale=3, size=(5, 1))
np.testing.assert_allclose(generator_loss(_l, "minimax"), float(gan.generator_loss(_l, "minimax")), rtol=1e-6,
                           err_msg="lote (5, 1), mode='minimax' (cnnlib.gan)")
### END HIDDEN TESTS

# %% [markdown]
# ### Saturante × não saturante: o gradiente quando $D(G(z)) \approx 0$
#
# No início do treino $G$ é ruim e $D$ rejeita as falsas com confiança: $l \ll 0$,
# $D(G(z)) \approx 0$. O que $G$ aprende vem da derivada da perda de **uma** amostra em relação
# ao seu *logit*:
#
# $$\frac{d}{dl}\big(-\mathrm{sp}(l)\big) = -\sigma(l) \quad\text{(minimax)}, \qquad
#   \frac{d}{dl}\,\mathrm{sp}(-l) = -\sigma(-l) = \sigma(l) - 1 \quad\text{(não saturante)} .$$
#
# Em $l = -10$ ($D \approx 4{,}5 \cdot 10^{-5}$): minimax $-4{,}5 \cdot 10^{-5}$ — quase nada, a
# perda **satura**; não saturante $\approx -1$ — o gradiente é máximo justamente onde $G$ mais
# precisa. Os dois têm o mesmo ponto fixo; por isso na prática (DCGAN e quase todas as GANs)
# treina-se $G$ com a não saturante.
#
# ### Exercício 4 (2 pontos): `generator_grad`
#
# Devolva, elemento a elemento (float64, mesma forma), a derivada da perda **de cada amostra**
# em relação ao seu *logit*, para `mode` `"non_saturating"` ou `"minimax"`.

# %% nbgrader={"grade": false, "grade_id": "generator_grad", "solution": true}
def generator_grad(fake_logits, mode="non_saturating"):
    """Per-sample d loss / d logit: sigmoid(l) - 1 (non-saturating) or -sigmoid(l) (minimax)."""
    ### BEGIN SOLUTION
    l = np.asarray(fake_logits, dtype=np.float64)
    with np.errstate(over="ignore"):
        sig = 1.0 / (1.0 + np.exp(-l))
    if mode == "non_saturating":
        return sig - 1.0
    if mode == "minimax":
        return -sig
    raise ValueError(f"mode must be 'non_saturating' or 'minimax'. Received: mode={mode!r}")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_generator_grad", "points": 2}
"""generator_grad: em l = -10 a minimax satura (~ -4,5e-5) e a não saturante dá ~ -1."""
np.testing.assert_allclose(generator_grad(np.array([-10.0, 0.0]), "minimax"), [-4.5398e-5, -0.5], rtol=1e-4,
                           err_msg="minimax: -sigmoid(l)")
np.testing.assert_allclose(generator_grad(np.array([-10.0, 0.0]), "non_saturating"), [-0.99995, -0.5], rtol=1e-4,
                           err_msg="não saturante: sigmoid(l) - 1")
### BEGIN HIDDEN TESTS
_l = tf.constant(np.random.default_rng(4).normal(scale=4, size=(6, 1)))
for _mode in ("non_saturating", "minimax"):
    with tf.GradientTape() as _tape:
        _tape.watch(_l)
        _loss = gan.generator_loss(_l, _mode) * 6  # per-sample losses, summed
    _expected = _tape.gradient(_loss, _l).numpy()
    _got = generator_grad(_l.numpy(), _mode)
    assert np.shape(_got) == (6, 1), f"{_mode}: forma esperada (6, 1), obtida {np.shape(_got)}"
    np.testing.assert_allclose(_got, _expected, rtol=1e-6, atol=1e-12, err_msg=f"{_mode}: contra o autodiff do TensorFlow")
### END HIDDEN TESTS

# %% [markdown]
# O gráfico: o módulo do gradiente de cada perda em função de $D(G(z))$. À esquerda
# ($D(G(z)) \to 0$, o começo do treino), o minimax some e o não saturante vale ~1.

# %%
_logits = np.linspace(-10, 10, 201)
_prob = 1 / (1 + np.exp(-_logits))
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.semilogy(_prob, np.abs(generator_grad(_logits, "minimax")), label="minimax: |−σ(l)|")
ax.semilogy(_prob, np.abs(generator_grad(_logits, "non_saturating")), label="não saturante: |σ(l) − 1|")
ax.set_xlabel("D(G(z))")
ax.set_ylabel("|d perda / d logit|")
ax.legend()
ax.set_title("gradiente que chega ao gerador")
plt.show()

# %% [markdown]
# ## 3. O espaço latente e a GAN condicional
#
# $G$ recebe um vetor $z$ de dimensão $d$ com componentes independentes $N(0, 1)$; um lote são
# $n$ vetores, a matriz $n \times d$ (uma linha por amostra). Para que os experimentos se
# repitam, sorteamos com um gerador próprio, `np.random.default_rng(seed)`, sem tocar no estado
# global de `np.random`; e em float32, o tipo dos pesos da rede.
#
# ### Exercício 5 (1,5 ponto): `sample_latent`
#
# Devolva float32 `(n, dim)`, $N(0, 1)$, igual para a mesma `seed` e diferente para outra.

# %% nbgrader={"grade": false, "grade_id": "sample_latent", "solution": true}
def sample_latent(n, dim, seed):
    """n latent vectors z ~ N(0, 1) of size dim, float32 (n, dim), from default_rng(seed)."""
    ### BEGIN SOLUTION
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sample_latent", "points": 1.5}
"""sample_latent: forma (n, dim), float32, N(0, 1), reprodutível, estado global intocado."""
_z = sample_latent(3, 5, seed=0)
assert np.shape(_z) == (3, 5), f"forma esperada (3, 5) (n linhas, dim colunas), obtida {np.shape(_z)}"
assert np.asarray(_z).dtype == np.float32, f"tipo esperado float32, obtido {np.asarray(_z).dtype}"
np.testing.assert_array_equal(_z, sample_latent(3, 5, seed=0), err_msg="mesma seed, mesmo z")
### BEGIN HIDDEN TESTS
np.random.seed(0)
_state = np.random.get_state()[1].copy()
_big = sample_latent(4000, 8, seed=1)
assert np.array_equal(np.random.get_state()[1], _state), "sample_latent não deve mexer no estado global de np.random"
assert abs(float(np.mean(_big))) < 0.03 and abs(float(np.std(_big)) - 1) < 0.03, (
    f"z deve ser N(0, 1): média {np.mean(_big):.3f}, desvio {np.std(_big):.3f}")
assert np.shape(sample_latent(1, 7, seed=2)) == (1, 7), "n = 1: forma (1, 7)"
assert not np.array_equal(sample_latent(3, 5, seed=1), _z), "seeds diferentes devem dar z diferentes"
np.random.seed(5)
_a = sample_latent(2, 4, seed=9)
np.random.seed(6)
np.testing.assert_array_equal(_a, sample_latent(2, 4, seed=9), err_msg="z não pode depender do estado global")
### END HIDDEN TESTS

# %% [markdown]
# ### GAN condicional
#
# Numa GAN condicional (Mirza & Osindero, 2014) **$G$ e $D$ recebem também a classe** $y$:
# $G(z, y)$ deve gerar um exemplo da classe $y$, e $D(x, y)$ julga se $x$ é um exemplo real
# **daquela** classe. A forma mais simples de condicionar $G$ é concatenar a $z$ o *one-hot*
# da classe (o `one_hot` do notebook 03: `np.eye(K)[labels]`, uma **linha** por exemplo).
# Exemplo: $z = (0{,}5;\ -1)$, $y = 2$, $K = 3$ → $(0{,}5;\ -1;\ 0;\ 0;\ 1)$.
#
# ### Exercício 6 (2,5 pontos): `conditional_input`
#
# `z` `(n, d)`, `labels` `(n,)` inteiros em $[0, K)$: devolva float32 `(n, d + K)` com $z$
# nas $d$ primeiras colunas e o *one-hot* nas $K$ últimas. Levante `ValueError` se algum
# rótulo estiver fora de $[0, K)$.

# %% nbgrader={"grade": false, "grade_id": "conditional_input", "solution": true}
def conditional_input(z, labels, num_classes):
    """[z, one_hot(labels)] concatenated along the features: float32 (n, d + K)."""
    ### BEGIN SOLUTION
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}). Received: labels={labels.tolist()}")
    one_hot = np.eye(num_classes, dtype=np.float32)[labels]
    return np.concatenate([np.asarray(z, dtype=np.float32), one_hot], axis=1)
    ### END SOLUTION


# %%
print(conditional_input(np.array([[0.5, -1.0]]), np.array([2]), 3))

# %% nbgrader={"grade": true, "grade_id": "test_conditional_input", "points": 2.5}
"""conditional_input: z seguido da linha one-hot de cada rótulo; rótulos fora do intervalo rejeitados."""
_got = conditional_input(np.array([[0.5, -1.0]]), np.array([2]), 3)
np.testing.assert_allclose(_got, [[0.5, -1.0, 0, 0, 1]], err_msg="z = (0.5, -1), y = 2, K = 3")
_z = np.arange(6, dtype=np.float32).reshape(3, 2)
_got = conditional_input(_z, np.array([1, 0, 1]), 3)
assert np.shape(_got) == (3, 5), f"forma esperada (3, 5), obtida {np.shape(_got)}"
np.testing.assert_allclose(_got, [[0, 1, 0, 1, 0], [2, 3, 1, 0, 0], [4, 5, 0, 1, 0]],
                           err_msg="n = K = 3: uma linha de one-hot por exemplo")
### BEGIN HIDDEN TESTS
_z = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
_lab = np.array([9, 0, 3, 3, 7], dtype=np.int16)
_got = conditional_input(_z, _lab, 10)
assert np.asarray(_got).dtype == np.float32, f"tipo esperado float32, obtido {np.asarray(_got).dtype}"
np.testing.assert_allclose(_got, np.concatenate([_z, keras.utils.to_categorical(_lab, 10)], axis=1),
                           err_msg="n = 5, d = 4, K = 10, rótulos int16")
for _bad in ([0, 10], [-1, 2]):
    try:
        conditional_input(np.zeros((2, 4)), np.array(_bad), 10)
    except ValueError:
        pass
    else:
        raise AssertionError(f"rótulos {_bad} com K = 10 devem levantar ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Um passo de treino
#
# Cada passo de treino de uma GAN alterna os dois jogadores, cada um com o **seu** otimizador e
# atualizando **só os seus** pesos:
#
# 1. **passo de $D$**: gere as falsas $G(z_D)$; com uma `tf.GradientTape`, calcule
#    $L_D$ = `gan.discriminator_loss(D(reais), D(falsas))`; aplique os gradientes **só** aos
#    pesos treináveis de $D$ (`d_optimizer`);
# 2. **passo de $G$**: com outra fita, gere $G(z_G)$, calcule
#    $L_G$ = `gan.generator_loss(D(G(z_G)))` (não saturante) e aplique os gradientes **só** aos
#    pesos treináveis de $G$ (`g_optimizer`) — $D$ fica parado nesse passo.
#
# Chame os dois modelos com `training=True`. As perdas aqui são as da `cnnlib.gan` (as versões
# TensorFlow das suas funções das seções 1 e 2, que a fita consegue derivar). Devolva
# `(d_loss, g_loss)` como floats. É o que `cnnlib.gan.DCGAN.train_step` faz a cada *batch*; o
# teste compara com ele, peso a peso.
#
# ### Exercício 7 (6 pontos): `train_step`

# %% nbgrader={"grade": false, "grade_id": "train_step", "solution": true}
def train_step(generator, discriminator, d_optimizer, g_optimizer, real_images, z_d, z_g):
    """One discriminator step (fakes from z_d), then one generator step (fakes from z_g).

    Returns:
        (d_loss, g_loss) as Python floats.
    """
    ### BEGIN SOLUTION
    fake = generator(z_d, training=True)
    d_vars = discriminator.trainable_weights
    with tf.GradientTape() as tape:
        d_loss = gan.discriminator_loss(discriminator(real_images, training=True),
                                        discriminator(fake, training=True))
    d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
    g_vars = generator.trainable_weights
    with tf.GradientTape() as tape:
        g_loss = gan.generator_loss(discriminator(generator(z_g, training=True), training=True))
    g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
    return float(d_loss), float(g_loss)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "gan_fixture", "locked": true, "solution": false}
# Read-only fixture of the tests: two tiny networks and the library's own training step.
def tiny_gan(seed, latent_dim=3, image_shape=(4, 6, 1)):
    """A small dense generator (with BatchNorm) and discriminator; no dropout, so a step is deterministic."""
    keras.utils.set_random_seed(seed)
    g = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
                          keras.layers.LeakyReLU(0.2),
                          keras.layers.Dense(int(np.prod(image_shape)), activation="tanh"),
                          keras.layers.Reshape(image_shape)])
    d = keras.Sequential([keras.Input(image_shape), keras.layers.Flatten(), keras.layers.Dense(8),
                          keras.layers.LeakyReLU(0.2), keras.layers.Dense(1)])
    return g, d


def copy_model(model):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def library_step(g, d, real, seed, d_lr=0.1, g_lr=0.1):
    """cnnlib.gan.DCGAN.train_step on copies of (g, d); returns (g', d', metrics, z_d, z_g)."""
    model = gan.DCGAN(copy_model(g), copy_model(d), latent_dim=g.inputs[0].shape[-1], seed=seed)
    model.compile(keras.optimizers.SGD(d_lr), keras.optimizers.SGD(g_lr))
    metrics = {k: float(v) for k, v in model.train_step(tf.constant(real)).items()}
    sg = keras.random.SeedGenerator(seed)  # the same two draws of z the library made
    z_d = keras.random.normal((len(real), model.latent_dim), seed=sg)
    z_g = keras.random.normal((len(real), model.latent_dim), seed=sg)
    return model.generator, model.discriminator, metrics, z_d, z_g


def max_weight_diff(a, b):
    """Largest difference over all weights (BatchNorm's moving statistics included)."""
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a.get_weights(), b.get_weights()))


def max_trainable_diff(a, b):
    """Largest difference over the trainable weights only (what an optimizer moves)."""
    return max(float(np.max(np.abs(x.numpy() - y.numpy()))) for x, y in zip(a.trainable_weights, b.trainable_weights))


# %% nbgrader={"grade": true, "grade_id": "test_train_step_discriminator", "points": 2}
"""train_step: os pesos do discriminador e d_loss batem com cnnlib.gan.DCGAN após um passo."""
_g, _d = tiny_gan(0)
_real = np.random.default_rng(0).uniform(-1, 1, size=(5, 4, 6, 1)).astype("float32")
_g_ref, _d_ref, _m, _zd, _zg = library_step(_g, _d, _real, seed=7)
_g2, _d2 = copy_model(_g), copy_model(_d)
_losses = train_step(_g2, _d2, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), _real, _zd, _zg)
np.testing.assert_allclose(float(_losses[0]), _m["d_loss"], rtol=1e-5, err_msg="d_loss do passo")
assert max_weight_diff(_d2, _d_ref) < 1e-5, (
    f"pesos de D depois do passo diferem dos da cnnlib em até {max_weight_diff(_d2, _d_ref):.2e}")
### BEGIN HIDDEN TESTS
_g, _d = tiny_gan(1, latent_dim=2, image_shape=(3, 5, 2))
_real = np.random.default_rng(1).uniform(-1, 1, size=(1, 3, 5, 2)).astype("float32")
_g_ref, _d_ref, _m, _zd, _zg = library_step(_g, _d, _real, seed=3, d_lr=0.3, g_lr=0.05)
_g3, _d3 = copy_model(_g), copy_model(_d)
_losses = train_step(_g3, _d3, keras.optimizers.SGD(0.3), keras.optimizers.SGD(0.05), _real, _zd, _zg)
np.testing.assert_allclose(float(_losses[0]), _m["d_loss"], rtol=1e-5, err_msg="lote de 1 imagem 3x5x2: d_loss")
assert max_weight_diff(_d3, _d_ref) < 1e-5, "lote de 1 imagem 3x5x2: pesos de D diferem dos da cnnlib"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_step_generator", "points": 2}
"""train_step: os pesos do gerador e g_loss (não saturante) batem com cnnlib.gan.DCGAN."""
_g, _d = tiny_gan(0)
_real = np.random.default_rng(0).uniform(-1, 1, size=(5, 4, 6, 1)).astype("float32")
_g_ref, _d_ref, _m, _zd, _zg = library_step(_g, _d, _real, seed=7)
_g2, _d2 = copy_model(_g), copy_model(_d)
_losses = train_step(_g2, _d2, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), _real, _zd, _zg)
np.testing.assert_allclose(float(_losses[1]), _m["g_loss"], rtol=1e-5, err_msg="g_loss do passo (não saturante)")
assert max_weight_diff(_g2, _g_ref) < 1e-5, (
    f"pesos de G depois do passo diferem dos da cnnlib em até {max_weight_diff(_g2, _g_ref):.2e}")
### BEGIN HIDDEN TESTS
_g, _d = tiny_gan(2, latent_dim=4, image_shape=(2, 2, 3))
_real = np.random.default_rng(2).uniform(-1, 1, size=(3, 2, 2, 3)).astype("float32")
_g_ref, _d_ref, _m, _zd, _zg = library_step(_g, _d, _real, seed=11, d_lr=0.05, g_lr=0.2)
_g3, _d3 = copy_model(_g), copy_model(_d)
_losses = train_step(_g3, _d3, keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.2), _real, _zd, _zg)
np.testing.assert_allclose(float(_losses[1]), _m["g_loss"], rtol=1e-5, err_msg="lote 3 imagens 2x2x3: g_loss")
assert max_weight_diff(_g3, _g_ref) < 1e-5, "lote 3 imagens 2x2x3: pesos de G diferem dos da cnnlib"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_step_own_weights", "points": 2}
"""train_step: cada otimizador atualiza só os pesos do seu próprio jogador."""
_g, _d = tiny_gan(0)
_real = np.random.default_rng(0).uniform(-1, 1, size=(5, 4, 6, 1)).astype("float32")
_zd, _zg = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
_g2, _d2 = copy_model(_g), copy_model(_d)
train_step(_g2, _d2, keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.1), _real, _zd, _zg)
assert max_trainable_diff(_d2, _d) == 0, "com d_optimizer de taxa 0, os pesos de D não podem mudar"
### BEGIN HIDDEN TESTS
_g3, _d3 = copy_model(_g), copy_model(_d)
train_step(_g3, _d3, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.0), _real, _zd, _zg)
assert max_trainable_diff(_g3, _g) == 0, "com g_optimizer de taxa 0, os pesos treináveis de G não podem mudar"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Experimentos (não avaliados): DCGAN e GAN condicional
#
# A **DCGAN** (Radford et al., 2016) é a receita convolucional: $G$ cresce uma semente espacial
# pequena com convoluções transpostas + *BatchNorm* + ReLU até a imagem (saída `tanh` em
# $[-1, 1]$); $D$ reduz com convoluções de passo 2 + LeakyReLU até um *logit*. A `cnnlib.gan`
# tem as duas redes e um `train_step` como o seu. Para caber em poucos segundos de CPU, imagens
# $14 \times 14$ (o Fashion-MNIST e o MNIST reduzidos à metade), redes estreitas e poucas épocas;
# a cada época guardamos amostras de um $z$ **fixo**, para ver o gerador evoluir.

# %%
from IPython.display import display

from cnnlib import data as course_data
from cnnlib import viz


class Snapshots(keras.callbacks.Callback):
    """Keeps generator samples of a fixed z (or fixed labels) at the end of every epoch."""

    def __init__(self, sample):
        super().__init__()
        self.sample, self.images = sample, []

    def on_epoch_end(self, epoch, logs=None):
        self.images.append(self.sample())


def grid_per_epoch(snapshots, title):
    """One row per epoch, the same samples in the columns."""
    rows = np.concatenate(snapshots)
    k = len(snapshots[0])
    display(viz.plot_image_grid(rows[..., 0], ncols=k, value_range=(-1, 1), title=title))


if HEAVY:
    (_xf, _), _ = course_data.load_fashion_mnist()
    x_fashion = gan.scale_images(_xf[:6000], size=(14, 14))
    keras.utils.set_random_seed(0)
    dcgan = gan.DCGAN(gan.build_generator(32, (14, 14, 1), 32), gan.build_discriminator((14, 14, 1), 32),
                      latent_dim=32, seed=0)
    dcgan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
    _snap = Snapshots(lambda: dcgan.generate(8, seed=1))
    _hist = dcgan.fit(x_fashion, batch_size=64, epochs=5, verbose=0, callbacks=[_snap])
    print("DCGAN, última época:", {k: round(v[-1], 3) for k, v in _hist.history.items()})
    grid_per_epoch(_snap.images, "DCGAN no Fashion-MNIST 14x14: uma linha por época (z fixo)")

# %% [markdown]
# Leitura: na primeira linha só manchas; nas seguintes aparecem silhuetas de roupas e
# calçados. `d_real`/`d_fake` (a probabilidade média que $D$ dá às reais/falsas) perto de 0,5
# indicam o equilíbrio do jogo: $D$ não consegue mais separar bem.
#
# ### GAN condicional no MNIST, e uma medida do resultado
#
# Agora $G(z, y)$ e $D(x, y)$ (a `cnnlib.gan` condiciona $G$ com um *embedding* da classe
# concatenado a $z$ — a versão aprendida do seu `conditional_input` — e $D$ com um plano extra
# por classe). Para **medir** se as amostras são da classe pedida, treinamos uma CNN pequena nos
# dígitos **reais** e contamos quantas amostras geradas ela reconhece como a classe pedida.

# %%
if HEAVY:
    (_xm, _ym), (_xm_test, _ym_test) = course_data.load_mnist()
    x_mnist, x_mnist_test = gan.scale_images(_xm, size=(14, 14)), gan.scale_images(_xm_test, size=(14, 14))
    keras.utils.set_random_seed(0)
    judge = keras.Sequential([keras.Input((14, 14, 1)), keras.layers.Conv2D(16, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
    judge.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    judge.fit(x_mnist, _ym, epochs=3, batch_size=128, verbose=0)
    print(f"classificador nos dígitos reais de teste: acurácia {judge.evaluate(x_mnist_test, _ym_test, verbose=0)[1]:.3f}")

    cgan = gan.ConditionalGAN(gan.build_generator(32, (14, 14, 1), 32, num_classes=10),
                              gan.build_discriminator((14, 14, 1), 32, num_classes=10), latent_dim=32, seed=0)
    cgan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5))
    _asked = np.repeat(np.arange(10), 50)
    recognition = []

    def _sample_and_score():
        images = cgan.generate(_asked, seed=1)
        recognition.append(float(np.mean(judge.predict(images, verbose=0).argmax(axis=1) == _asked)))
        return images[::50]  # one sample per class

    _snap = Snapshots(_sample_and_score)
    cgan.fit(x_mnist, _ym, batch_size=64, epochs=6, verbose=0, callbacks=[_snap])
    print("fração das amostras reconhecidas como a classe pedida, por época:", np.round(recognition, 3))
    grid_per_epoch(_snap.images, "GAN condicional no MNIST 14x14: colunas = classes 0..9, linhas = épocas")

# %% [markdown]
# Leitura: nas primeiras épocas o classificador reconhece pouco mais que o acaso (10%); quando o
# gerador aprende a usar a classe, cada coluna passa a mostrar o seu dígito e a fração
# reconhecida sobe bem acima de 70%.
#
# ## 6. Aplicações
#
# A aula termina com aplicações de GANs condicionais e não condicionais:
#
# * **pix2pix** (Isola et al., 2017): tradução imagem → imagem com pares (mapa → foto,
#   esboço → objeto): uma GAN condicional na **imagem** de entrada;
# * **CycleGAN** (Zhu et al., 2017): a mesma tradução **sem pares** (cavalo ↔ zebra), com uma
#   perda de consistência de ciclo;
# * **SRGAN**: super-resolução; na figura da aula o SRGAN tem PSNR/SSIM **menores**
#   (20,34 dB / 0,66) que o SRResNet (23,44 dB / 0,78), mas parece mais nítido — a perda
#   adversarial troca fidelidade pixel a pixel por texturas realistas;
# * *deepfakes*: uma cabeça falante gerada a partir de uma única foto — e o problema ético
#   que vem junto.
