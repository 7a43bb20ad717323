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
# # 07 — *Transfer learning* com pesos reais da ImageNet
#
# **Redes Convolucionais para classificação de imagens** — notebook avaliado 7 (20 pontos).
#
# Treinar uma CNN grande do zero pede muitas imagens (a ImageNet tem 1,28 milhão). Na
# prática, para um problema de domínio específico, quase nunca temos um conjunto tão grande,
# nem um que represente bem a distribuição de teste. A aula propõe **aproveitar as
# características já aprendidas** por um modelo treinado numa tarefa anterior: é o
# *transfer learning* (aprendizado por transferência).
#
# Usamos uma rede real: a **EfficientNet-Lite0** (4,7 milhões de parâmetros) com os pesos
# da ImageNet, convertidos para Keras por `cnnlib prepare` (sem internet; com internet, o
# mesmo código aceita os modelos de `keras.applications`). Neste notebook você vai:
#
# 1. preparar a entrada como a rede espera (`preprocess`) e classificar fotos reais, com as
#    5 classes mais prováveis da ImageNet (`top_k`);
# 2. ver que as primeiras camadas extraem características de **baixo nível** (bordas,
#    cores) — corrigindo a aula;
# 3. contar parâmetros treináveis e congelados (`count_params`) e congelar a rede até um
#    bloco (`freeze_until`);
# 4. extrair características com a rede congelada (`extract_features`) e treinar só uma
#    **nova cabeça** (`build_head`);
# 5. planejar um **ajuste fino** (*fine-tuning*) em etapas, dos blocos do topo para baixo e
#    com taxa de aprendizado menor (`fine_tune_schedule`);
# 6. comparar os três casos da aula — rede congelada + nova cabeça, ajuste fino dos blocos
#    do topo e treino do zero — num subconjunto pequeno do Fashion-MNIST.
#
# **Convenções.** Lotes no formato NHWC `(N, H, W, C)`; pixels RGB em $[0, 255]$. $N$ é
# sempre o número de imagens do lote, $K$ o número de classes e $F$ o número de
# características. Cada célula de teste mostra os pontos que vale; o total é **20 pontos**.

# %%
import os

import numpy as np
import tensorflow as tf
import keras
import matplotlib.pyplot as plt

np.set_printoptions(precision=4, suppress=True)
HEAVY = not os.environ.get("NBGRADER_EXECUTION")  # redes reais e treinos só fora da correção
print("TensorFlow", tf.__version__, "| Keras", keras.__version__)

# %% [markdown]
# ## 1. Por que transferir
#
# As camadas convolucionais de uma CNN funcionam como **extratores de características**:
# cada uma aprende filtros que ajudam a discriminar os exemplos; as camadas finais
# **interpretam** essas características e produzem a resposta. A ideia da aula:
#
# * pegamos uma rede treinada num conjunto grande (a ImageNet: 1000 classes);
# * **congelamos** seus pesos (não são atualizados) e usamos suas camadas como extrator;
# * treinamos só as camadas de classificação novas (os **parâmetros treináveis**), que
#   aprendem a ler as ativações da rede no nosso problema.
#
# Isso reduz o custo e o tempo de treino, e funciona melhor quanto mais parecidos forem os
# dois conjuntos de dados (compartilham mais características).
#
# > **Errata da aula.** O slide diz que as características iniciais são compartilhadas
# > entre problemas diferentes "por descreverem características de **alto** nível (bordas
# > verticais, bordas horizontais, cores, etc)". Bordas e cores são características de
# > **baixo nível**: é por serem genéricas (servem para gatos, xícaras e roupas) que as
# > primeiras camadas se transferem tão bem. As características de alto nível (partes de
# > objetos, objetos inteiros) ficam nas camadas finais e são as mais específicas da
# > tarefa original. O próprio slide anterior da aula fala em "camadas iniciais que
# > extraem features de baixo nível". Veremos isso nos mapas de ativação da seção 3.

# %% [markdown]
# ## 2. A entrada que a rede espera
#
# Uma rede pré-treinada só funciona bem se receber a entrada **no mesmo formato do
# treino**. Cada família de modelos usa o seu pré-processamento:
#
# | rede | pré-processamento de pixels RGB em $[0, 255]$ |
# |---|---|
# | EfficientNet-Lite (a nossa) | $(x - 127) / 128$ |
# | MobileNet, Inception | $x / 127{,}5 - 1$ |
# | ResNet50, VGG (Caffe) | RGB → BGR e subtrai a média da ImageNet em $[0, 255]$ |
# | modelos do torchvision | $x / 255$, depois $(x - \bar I) / \sigma$ com a média e o desvio da ImageNet (notebook 03) |
#
# As faixas parecem próximas, mas não são iguais: errar o pré-processamento desloca todas
# as ativações da primeira camada, e a rede "vê" uma imagem que nunca viu.
#
# **Exemplo à mão.** O pixel da aula $(250, 214, 38)$ vira
# $\big((250 - 127)/128,\ (214 - 127)/128,\ (38 - 127)/128\big) = (0{,}9609;\ 0{,}6797;\ -0{,}6953)$;
# o branco $255$ vira $1$; o preto $0$ vira $-127/128 = -0{,}9921875$ (não exatamente $-1$).
#
# ### Exercício 1 (2,5 pontos): `preprocess`
#
# Escreva `preprocess(images)` para a EfficientNet-Lite0:
#
# * `images`: um pixel `(3,)`, uma imagem `(H, W, 3)` ou um lote `(N, H, W, 3)`, **uint8 ou
#   float**, com valores em $[0, 255]$;
# * devolve $(x - 127)/128$ como um array NumPy **float32 da mesma forma**;
# * **não modifica** a entrada. Cuidado com uint8: em uint8, `0 - 127` dá `129` (a conta
#   "dá a volta"); converta para float antes de subtrair.

# %% nbgrader={"grade": false, "grade_id": "preprocess", "solution": true}
def preprocess(images):
    """EfficientNet-Lite preprocessing: RGB pixels in [0, 255] -> (x - 127) / 128.

    Args:
        images: uint8 or float array (..., 3) with values in [0, 255].

    Returns:
        float32 array of the same shape. The input is left unmodified.
    """
    ### BEGIN SOLUTION
    x = np.asarray(images, dtype=np.float32)
    return (x - np.float32(127.0)) / np.float32(128.0)
    ### END SOLUTION


# %% [markdown]
# O que esperar: `(250, 214, 38)` → `(0.9609, 0.6797, -0.6953)`, e `[0, 127, 255]` →
# `[-0.9922, 0, 1]`.

# %%
print(preprocess(np.array([250, 214, 38], dtype=np.uint8)))
print(preprocess(np.array([0, 127, 255], dtype=np.uint8)))

# %% nbgrader={"grade": true, "grade_id": "test_preprocess_values", "points": 1.5}
"""preprocess: o pixel da aula e os extremos 0, 127, 255 (uint8)."""
_got = preprocess(np.array([250, 214, 38], dtype=np.uint8))
np.testing.assert_allclose(_got, [0.9609375, 0.6796875, -0.6953125], atol=1e-6,
                           err_msg="o pixel (250, 214, 38) deve virar ((250-127)/128, (214-127)/128, (38-127)/128)")
_got = preprocess(np.array([0, 127, 255], dtype=np.uint8))
np.testing.assert_allclose(_got, [-0.9921875, 0.0, 1.0], atol=1e-6,
                           err_msg="0, 127, 255 (uint8) devem virar -127/128, 0, 1")
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_rng = np.random.default_rng(70)
_imgs = _rng.integers(0, 256, size=(3, 4, 6, 3)).astype(np.uint8)
with forbid("cnnlib.transfer", "keras.applications"):
    _got = preprocess(_imgs)
np.testing.assert_allclose(_got, (_imgs.astype(np.float64) - 127.0) / 128.0, atol=1e-6,
                           err_msg="lote uint8 (3, 4, 6, 3): (x - 127) / 128 em cada pixel")
_imgs = _rng.uniform(0, 255, size=(1, 5, 2, 3))
np.testing.assert_allclose(preprocess(_imgs), (_imgs - 127.0) / 128.0, atol=1e-5,
                           err_msg="lote float (1, 5, 2, 3): (x - 127) / 128 em cada pixel")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_preprocess_contract", "points": 1}
"""preprocess: saída float32 com a mesma forma, entrada não modificada (uint8 e float)."""
_imgs = np.random.default_rng(71).integers(0, 256, size=(2, 5, 7, 3)).astype(np.uint8)
_before = _imgs.copy()
_got = preprocess(_imgs)
assert np.shape(_got) == (2, 5, 7, 3), f"forma esperada (2, 5, 7, 3), obtida {np.shape(_got)}"
assert np.asarray(_got).dtype == np.float32, f"dtype esperado float32, obtido {np.asarray(_got).dtype}"
np.testing.assert_array_equal(_imgs, _before, err_msg="a entrada uint8 não deve ser modificada")
_imgs = np.random.default_rng(72).uniform(0, 255, size=(4, 3, 3)).astype(np.float32)
_before = _imgs.copy()
_got = preprocess(_imgs)
np.testing.assert_array_equal(_imgs, _before, err_msg="a entrada float32 não deve ser modificada")
assert np.asarray(_got).dtype == np.float32, f"imagem float32: dtype esperado float32, obtido {np.asarray(_got).dtype}"
### BEGIN HIDDEN TESTS
for _dtype, _shape in [(np.float64, (1, 4, 5, 3)), (np.float32, (3,)), (np.uint8, (6, 2, 3))]:
    _x_in = (np.random.default_rng(73).uniform(0, 255, size=_shape)).astype(_dtype)
    _kept = _x_in.copy()
    _out = preprocess(_x_in)
    assert np.shape(_out) == _shape, f"entrada {_dtype.__name__} {_shape}: forma obtida {np.shape(_out)}"
    assert np.asarray(_out).dtype == np.float32, (
        f"entrada {_dtype.__name__}: dtype esperado float32, obtido {np.asarray(_out).dtype}")
    np.testing.assert_array_equal(_x_in, _kept, err_msg=f"a entrada {_dtype.__name__} não deve ser modificada")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Classificando fotos reais: as 5 classes mais prováveis
#
# A EfficientNet-Lite0 completa (`include_top=True`) termina numa camada densa com 1000
# saídas, os *logits* das classes da ImageNet. A softmax (notebook 03, na forma estável:
# subtraia o maior logit de cada linha antes da exponencial) os transforma em
# probabilidades, e mostramos as $k$ classes mais prováveis — o "top-5" com que a ImageNet
# avalia os modelos.
#
# **Exemplo à mão.** Logits $(2;\ 1;\ 0{,}1;\ 3)$: $e^{z - 3} = (0{,}368;\ 0{,}135;\ 0{,}055;\ 1)$,
# soma $1{,}558$, probabilidades $(0{,}236;\ 0{,}087;\ 0{,}035;\ 0{,}642)$. O top-2 são as
# classes $3$ e $0$, com $0{,}642$ e $0{,}236$.
#
# ### Exercício 2 (2,5 pontos): `top_k`
#
# Escreva `top_k(logits, k=5)`:
#
# * `logits`: array `(N, K)` (uma linha por imagem, uma coluna por classe);
# * aplica a softmax **estável** em cada linha (eixo das classes): logits enormes, como
#   1000, não podem dar `nan`;
# * devolve `(indices, probs)`, ambos `(N, k)`, `indices` de inteiros: na linha $n$, as
#   $k$ classes mais prováveis da imagem $n$ em ordem **decrescente** de probabilidade, e as
#   suas probabilidades.

# %% nbgrader={"grade": false, "grade_id": "top_k", "solution": true}
def top_k(logits, k=5):
    """The k most probable classes of each row of logits.

    Args:
        logits: shape (N, K).
        k: how many classes to return per row.

    Returns:
        (indices, probs): int array (N, k) and float array (N, k), each row in decreasing
        order of the softmax probability of that row.
    """
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    indices = np.argsort(-probs, axis=-1, kind="stable")[:, :k]
    return indices, np.take_along_axis(probs, indices, axis=-1)
    ### END SOLUTION


# %%
print(top_k(np.array([[2.0, 1.0, 0.1, 3.0]]), k=2))

# %% nbgrader={"grade": true, "grade_id": "test_top_k_values", "points": 1.5}
"""top_k: o exemplo resolvido, e probabilidades em ordem decrescente."""
_idx, _p = top_k(np.array([[2.0, 1.0, 0.1, 3.0]]), k=2)
np.testing.assert_array_equal(_idx, [[3, 0]], err_msg="top-2 dos logits (2, 1, 0.1, 3): classes 3 e 0")
np.testing.assert_allclose(_p, [[0.6419, 0.2361]], atol=1e-3,
                           err_msg="probabilidades (softmax) das classes 3 e 0")
### BEGIN HIDDEN TESTS
_z = np.array([[0.5, -1.0, 4.0, 2.0, 3.0, -2.0, 1.0]])
_idx, _p = top_k(_z, k=7)
np.testing.assert_array_equal(_idx, [[2, 4, 3, 6, 0, 1, 5]], err_msg="todas as 7 classes em ordem decrescente")
np.testing.assert_allclose(np.sum(_p), 1.0, atol=1e-6, err_msg="com k = K as probabilidades somam 1")
_idx, _p = top_k(np.array([[1000.0, 999.0, 0.0, -1000.0]]), k=3)
assert np.all(np.isfinite(_p)), f"logits grandes devem dar probabilidades finitas, obtido {_p}"
np.testing.assert_allclose(_p, [[1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0)), 0.0]], atol=1e-6,
                           err_msg="logits (1000, 999, 0, -1000): softmax estável")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_top_k_batch", "points": 1}
"""top_k: um batch de linhas, cada uma ordenada pelo seu próprio softmax (k = 3)."""
_z = np.array([[0.1, 2.0, -1.0, 0.7, 1.5, 3.0], [4.0, -2.0, 0.0, 1.0, 3.5, -0.5]])
_idx, _p = top_k(_z, k=3)
assert np.shape(_idx) == (2, 3) and np.shape(_p) == (2, 3), (
    f"formas esperadas (2, 3) e (2, 3), obtidas {np.shape(_idx)} e {np.shape(_p)}")
_e = np.exp(_z - _z.max(axis=1, keepdims=True))
_probs = _e / _e.sum(axis=1, keepdims=True)
np.testing.assert_array_equal(_idx, [[5, 1, 4], [0, 4, 3]], err_msg="top-3 de cada linha")
np.testing.assert_allclose(_p, np.take_along_axis(_probs, np.array([[5, 1, 4], [0, 4, 3]]), 1), atol=1e-6,
                           err_msg="probabilidades: softmax de cada linha (eixo das classes)")
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(74)
for _n, _k, _kk in [(1, 10, 5), (4, 1000, 5), (3, 8, 1)]:
    _z = _rng.normal(size=(_n, _k)).astype(np.float32) * 3
    _idx, _p = top_k(_z, k=_kk)
    _expected_p = keras.ops.softmax(_z.astype(np.float64), axis=-1).numpy()
    _expected_idx = np.argsort(-_expected_p, axis=1)[:, :_kk]
    assert np.shape(_idx) == (_n, _kk), f"logits ({_n}, {_k}), k={_kk}: forma esperada {(_n, _kk)}, obtida {np.shape(_idx)}"
    np.testing.assert_array_equal(_idx, _expected_idx, err_msg=f"logits ({_n}, {_k}), k={_kk}")
    np.testing.assert_allclose(_p, np.take_along_axis(_expected_p, _expected_idx, 1), atol=1e-5,
                               err_msg=f"probabilidades, logits ({_n}, {_k}), k={_kk}")
    assert np.issubdtype(np.asarray(_idx).dtype, np.integer), f"índices devem ser inteiros, obtido {np.asarray(_idx).dtype}"
### END HIDDEN TESTS

# %% [markdown]
# Agora com a rede de verdade. `chelsea` é uma foto de gato e `coffee` uma xícara de café
# expresso (ambas do scikit-image, em `cnnlib.data.load_photo`). Recortamos o centro da foto
# num quadrado, redimensionamos para $224 \times 224$ (o tamanho do treino na ImageNet),
# aplicamos **o seu** `preprocess` e mostramos o **seu** `top_k` com os nomes das classes
# da ImageNet.

# %%
def imagenet_class_names():
    """The 1000 ImageNet class names (first synonym), read from tensorflow-datasets' files."""
    import ast
    import importlib.util
    from pathlib import Path

    root = Path(importlib.util.find_spec("tensorflow_datasets").submodule_search_locations[0])
    tree = ast.parse((root / "datasets" / "siscore" / "labels.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "IMAGENET_LABELS_LIST":
            return [name.split(",")[0] for name in ast.literal_eval(node.value)]
    raise LookupError("IMAGENET_LABELS_LIST not found in tensorflow_datasets")


if HEAVY:
    from cnnlib import transfer
    from cnnlib.data import load_photo

    CLASS_NAMES = imagenet_class_names()
    imagenet_model = transfer.load_backbone("efficientnet_lite0", input_shape=(224, 224, 3), include_top=True)
    photos = {name: transfer.center_crop_resize(load_photo(name), 224) for name in ("chelsea", "coffee")}
    logits = np.asarray(imagenet_model(preprocess(np.stack(list(photos.values()))), training=False))
    top_idx, top_p = top_k(logits, k=5)
    fig, axes = plt.subplots(2, 2, figsize=(10, 6), gridspec_kw={"width_ratios": [1, 1.4]})
    for row, name in enumerate(photos):
        axes[row, 0].imshow(photos[name].astype(np.uint8))
        axes[row, 0].set_title(name)
        axes[row, 0].axis("off")
        labels = [f"{CLASS_NAMES[i]} ({i})" for i in top_idx[row]]
        axes[row, 1].barh(labels[::-1], top_p[row][::-1], color="tab:blue")
        axes[row, 1].set_xlim(0, 1)
        axes[row, 1].set_xlabel("probabilidade")
        print(name, "->", ", ".join(f"{lab}: {p:.2f}" for lab, p in zip(labels, top_p[row])))
    fig.suptitle("EfficientNet-Lite0 (ImageNet): top-5")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# Leitura: o gato vai para as classes de gato da ImageNet (281–285: *tabby*, *tiger cat*,
# *Egyptian cat*...) e a xícara para *espresso* (967) e *cup* — a rede reconhece objetos
# que nunca viu nestas fotos, com os pesos aprendidos na ImageNet.
#
# ### Baixo nível no começo, alto nível no fim
#
# Vamos olhar as ativações do gato em duas profundidades: a saída do *stem* (a primeira
# convolução, $112 \times 112$) e a de um bloco profundo (`block6a`, $7 \times 7$).

# %%
if HEAVY:
    from cnnlib.viz import plot_feature_maps

    probe = keras.Model(imagenet_model.input, [imagenet_model.get_layer("stem_activation").output,
                                               imagenet_model.get_layer("block6a_activation").output])
    early, deep = probe(preprocess(photos["chelsea"][None]), training=False)
    plot_feature_maps(np.asarray(early)[0], max_maps=16, ncols=8, cmap="gray",
                      title="stem (camada 1): 16 de 32 mapas, 112 x 112")
    plt.show()
    plot_feature_maps(np.asarray(deep)[0], max_maps=16, ncols=8, cmap="gray",
                      title="block6a: 16 de 672 mapas, 7 x 7")
    plt.show()

# %% [markdown]
# Leitura: os mapas do *stem* ainda são o gato — bordas em várias orientações, regiões
# claras e escuras, cores —, características de **baixo nível** que serviriam para qualquer
# foto; os do `block6a` são manchas $7 \times 7$ que só dizem *onde* há algo que a rede
# aprendeu a reconhecer na ImageNet (alto nível, específico da tarefa original).

# %% [markdown]
# ## 4. Parâmetros treináveis e congelados
#
# Numa camada Keras, cada tensor de pesos é **treinável** (atualizado pelo gradiente) ou
# **não treinável**. Há dois motivos para um peso não ser treinável:
#
# * a camada foi **congelada** (`layer.trainable = False`, ou o modelo inteiro com
#   `model.trainable = False`);
# * o peso não é aprendido pelo gradiente: as **médias e variâncias móveis** da
#   *BatchNormalization* são estatísticas, atualizadas por média móvel — são sempre não
#   treináveis, mesmo com a camada descongelada.
#
# **Exemplo à mão.** Uma camada `Dense(3)` sobre 4 entradas tem $4 \cdot 3 + 3 = 15$
# parâmetros; uma `BatchNormalization` sobre 3 canais tem $3 + 3 = 6$ treináveis ($\gamma$,
# $\beta$) e $3 + 3 = 6$ não treináveis (média e variância móveis). Total 27: 21
# treináveis e 6 não. Congelando a densa: 6 treináveis e 21 não treináveis. A
# EfficientNet-Lite0 tem 4.694.024 parâmetros, dos quais 42.016 são estatísticas da BN.
#
# ### Exercício 3 (2,5 pontos): `count_params`
#
# Escreva `count_params(model, trainable=None)`, que devolve um **inteiro**: o número de
# parâmetros (a soma dos tamanhos dos tensores de pesos) de `model`: todos com
# `trainable=None`, só os treináveis com `trainable=True`, só os não treináveis com
# `trainable=False`. Deve valer também para modelos que contêm outros modelos (uma rede
# congelada dentro de um classificador). Dica: `model.weights`, `model.trainable_weights`,
# `model.non_trainable_weights`.

# %% nbgrader={"grade": false, "grade_id": "count_params", "solution": true}
def count_params(model, trainable=None):
    """Number of scalar parameters of a Keras model.

    Args:
        model: a keras.Model (or layer).
        trainable: None counts every weight; True only the trainable ones; False only the
            non-trainable ones (frozen layers and BatchNormalization moving statistics).

    Returns:
        int.
    """
    ### BEGIN SOLUTION
    if trainable is None:
        weights = model.weights
    elif trainable:
        weights = model.trainable_weights
    else:
        weights = model.non_trainable_weights
    return int(sum(int(np.prod(w.shape)) for w in weights))
    ### END SOLUTION


# %%
toy = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
print(count_params(toy), count_params(toy, trainable=True), count_params(toy, trainable=False))

# %% nbgrader={"grade": true, "grade_id": "test_count_params_total", "points": 1}
"""count_params: todos os pesos do exemplo resolvido (Dense + BatchNormalization), como int."""
_toy = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
_got = count_params(_toy)
assert isinstance(_got, (int, np.integer)) and not isinstance(_got, bool), f"esperado um inteiro, obtido {type(_got).__name__}"
assert _got == 27, f"Dense(3) sobre 4 entradas + BN(3): esperado 27 parâmetros, obtido {_got}"
### BEGIN HIDDEN TESTS
from cnnlib import efficientnet_lite

_lite = efficientnet_lite.efficientnet_lite0(input_shape=(32, 32, 3), include_top=False)
_got = count_params(_lite)
assert _got == _lite.count_params(), f"EfficientNet-Lite0 sem topo: esperado {_lite.count_params()}, obtido {_got}"
_conv = keras.Sequential([keras.Input((9, 7, 2)), keras.layers.Conv2D(5, 3), keras.layers.Flatten(),
                          keras.layers.Dense(4)])
_expected = (3 * 3 * 2 * 5 + 5) + (7 * 5 * 5 * 4 + 4)
assert count_params(_conv) == _expected, f"Conv2D + Dense: esperado {_expected}, obtido {count_params(_conv)}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_count_params_trainable", "points": 1.5}
"""count_params: treináveis vs não treináveis, estatísticas da BN e camadas congeladas."""
_toy = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
_got = (count_params(_toy, trainable=True), count_params(_toy, trainable=False))
assert _got == (21, 6), f"(treináveis, não treináveis) esperado (21, 6) — média e variância móveis da BN não são treináveis —, obtido {_got}"
_toy.layers[0].trainable = False
_got = (count_params(_toy, trainable=True), count_params(_toy, trainable=False))
assert _got == (6, 21), f"com a Dense congelada: esperado (6, 21), obtido {_got}"
### BEGIN HIDDEN TESTS
from cnnlib import efficientnet_lite

_lite = efficientnet_lite.efficientnet_lite0(input_shape=(32, 32, 3), include_top=True)
_got = (count_params(_lite, True), count_params(_lite, False))
assert _got == (4_652_008, 42_016), f"EfficientNet-Lite0: esperado (4652008, 42016), obtido {_got}"
_backbone = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c"),
                              keras.layers.BatchNormalization(name="bn")], name="backbone")
_backbone.trainable = False
_inputs = keras.Input((8, 8, 3))
_outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(_backbone(_inputs)))
_clf = keras.Model(_inputs, _outputs)
_got = (count_params(_clf, True), count_params(_clf, False), count_params(_clf))
assert _got == (10, 112 + 16, 138), (
    f"classificador com rede congelada dentro: esperado (10, 128, 138), obtido {_got}")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Congelar até um bloco
#
# A aula mostra que podemos também "fixar algumas camadas convolucionais e atualizar um
# sub-conjunto para ajustar as features extraídas de acordo com o novo dataset". Qual
# sub-conjunto? O **do topo**: as primeiras camadas (baixo nível) servem para qualquer
# problema, e as últimas (alto nível) são as mais específicas da ImageNet.
#
# A EfficientNet-Lite0 é organizada em **blocos**: `stem`, `block1a`, `block2a`, `block2b`,
# ..., `block7a`, `top`. O bloco de uma camada é o **início do seu nome, até o primeiro
# `_`**: `stem_conv` → `stem`, `block6a_dwconv` → `block6a`, `top_bn` → `top`. A ordem dos
# blocos é a ordem em que aparecem pela primeira vez em `backbone.layers`.
#
# Uma regra a mais: no ajuste fino com poucas imagens, as camadas de
# **BatchNormalization continuam congeladas** (e em modo de inferência), mesmo dentro dos
# blocos descongelados — com lotes pequenos, as estatísticas de um lote destruiriam as da
# ImageNet, e os pesos seguintes deixariam de receber o que esperam.
#
# **Exemplo.** `freeze_until(backbone, "block7a")` deixa treináveis só as convoluções do
# `block7a` e do `top` — 4 tensores: `block7a_expand_conv`, `block7a_dwconv`,
# `block7a_project_conv` e `top_conv` (sem *bias*: a BN logo depois faz esse papel) — e
# congela todo o resto, BN incluída.
#
# ### Exercício 4 (3 pontos): `freeze_until`
#
# Escreva `freeze_until(backbone, block_name)`:
#
# * as camadas dos blocos **anteriores** a `block_name` ficam congeladas;
# * as camadas de `block_name` e dos blocos seguintes ficam treináveis, **exceto** as
#   `keras.layers.BatchNormalization`, que ficam congeladas;
# * funciona também se o modelo inteiro já estava congelado (`backbone.trainable = False`,
#   a primeira fase do *transfer learning*): descongele o modelo antes de escolher camada
#   por camada, senão nenhum peso fica treinável;
# * devolve o número de tensores de pesos treináveis, `len(backbone.trainable_weights)`;
# * levanta `ValueError` se `block_name` não for um bloco do modelo.

# %% nbgrader={"grade": false, "grade_id": "freeze_until", "solution": true}
def freeze_until(backbone, block_name):
    """Freeze every block before ``block_name``; train it and the later ones, BN excluded.

    Args:
        backbone: a keras.Model whose layer names start with their block (``block6a_dwconv``).
        block_name: first block to leave trainable.

    Returns:
        int: number of trainable weight tensors of the backbone.

    Raises:
        ValueError: ``block_name`` is not one of the backbone's blocks.
    """
    ### BEGIN SOLUTION
    blocks = []
    for layer in backbone.layers:
        block = layer.name.split("_")[0]
        if block not in blocks:
            blocks.append(block)
    if block_name not in blocks:
        raise ValueError(f"block_name must be one of {blocks}. Received: block_name={block_name!r}")
    start = blocks.index(block_name)
    backbone.trainable = True
    for layer in backbone.layers:
        in_top = blocks.index(layer.name.split("_")[0]) >= start
        layer.trainable = in_top and not isinstance(layer, keras.layers.BatchNormalization)
    return len(backbone.trainable_weights)
    ### END SOLUTION


# %% [markdown]
# O que esperar, numa rede de brinquedo com os nomes da EfficientNet: congelada inteira,
# depois descongelada a partir de `block2a`.

# %%
def toy_backbone():
    """A tiny network named like EfficientNet-Lite: stem, block1a, block2a, top."""
    layers = keras.layers
    inputs = keras.Input((16, 16, 3), name="image")
    x = inputs
    for block, filters, stride in [("stem", 4, 2), ("block1a", 4, 1), ("block2a", 8, 2), ("top", 16, 1)]:
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"{block}_conv")(x)
        x = layers.BatchNormalization(name=f"{block}_bn")(x)
        x = layers.ReLU(name=f"{block}_activation")(x)
    return keras.Model(inputs, x, name="toy_backbone")


toy_net = toy_backbone()
toy_net.trainable = False
print("tensores treináveis:", freeze_until(toy_net, "block2a"))
print([(layer.name, layer.trainable) for layer in toy_net.layers if layer.weights])

# %% nbgrader={"grade": true, "grade_id": "test_freeze_until_blocks", "points": 1.5}
"""freeze_until: blocos antes de block_name congelados, ele e os seguintes treináveis (partindo do modelo congelado)."""
def _toy():
    _inputs = keras.Input((16, 16, 3), name="image")
    _x = _inputs
    for _block, _f, _s in [("stem", 4, 2), ("block1a", 4, 1), ("block2a", 8, 2), ("top", 16, 1)]:
        _x = keras.layers.Conv2D(_f, 3, strides=_s, padding="same", name=f"{_block}_conv")(_x)
        _x = keras.layers.BatchNormalization(name=f"{_block}_bn")(_x)
        _x = keras.layers.ReLU(name=f"{_block}_activation")(_x)
    return keras.Model(_inputs, _x)


_net = _toy()
_net.trainable = False
freeze_until(_net, "block2a")
_trainable_convs = sorted({w.path.split("/")[0] for w in _net.trainable_weights} - {"block2a_bn", "top_bn"})
assert _trainable_convs == ["block2a_conv", "top_conv"], (
    f"descongelando a partir de block2a: convoluções treináveis esperadas ['block2a_conv', 'top_conv'], "
    f"obtidas {_trainable_convs}")
for _name in ("stem_conv", "block1a_conv"):
    assert not _net.get_layer(_name).trainable, f"{_name} vem antes de block2a e deve ficar congelada"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

_net2 = _toy()
with forbid("cnnlib.transfer"):
    freeze_until(_net2, "stem")
_convs2 = sorted({w.path.split("/")[0] for w in _net2.trainable_weights if "_conv" in w.path})
assert _convs2 == ["block1a_conv", "block2a_conv", "stem_conv", "top_conv"], (
    f"a partir de stem: todas as convoluções treináveis, obtidas {_convs2}")
freeze_until(_net2, "top")
_convs2 = sorted({w.path.split("/")[0] for w in _net2.trainable_weights if "_conv" in w.path})
assert _convs2 == ["top_conv"], f"chamada de novo, a partir de top: esperado ['top_conv'], obtido {_convs2}"
from cnnlib import efficientnet_lite, transfer

_lite = efficientnet_lite.efficientnet_lite0(input_shape=(32, 32, 3), include_top=False)
transfer.freeze(_lite, unfreeze_from="block6c")
_expected = sorted(w.path for w in _lite.trainable_weights if "_bn/" not in w.path)
_lite.trainable = False
with forbid("cnnlib.transfer"):
    freeze_until(_lite, "block6c")
_got = sorted(w.path for w in _lite.trainable_weights if "_bn/" not in w.path)
assert _got == _expected, (f"EfficientNet-Lite0 a partir de block6c: esperados {len(_expected)} tensores "
                           f"treináveis, obtidos {len(_got)}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_freeze_until_batchnorm", "points": 1.5}
"""freeze_until: BatchNormalization continua congelada, o valor devolvido conta os tensores treináveis, nomes inválidos levantam erro."""
def _toy():
    _inputs = keras.Input((16, 16, 3), name="image")
    _x = _inputs
    for _block, _f, _s in [("stem", 4, 2), ("block1a", 4, 1), ("block2a", 8, 2), ("top", 16, 1)]:
        _x = keras.layers.Conv2D(_f, 3, strides=_s, padding="same", name=f"{_block}_conv")(_x)
        _x = keras.layers.BatchNormalization(name=f"{_block}_bn")(_x)
        _x = keras.layers.ReLU(name=f"{_block}_activation")(_x)
    return keras.Model(_inputs, _x)


_net = _toy()
_net.trainable = False
_got = freeze_until(_net, "block1a")
_bn = [w.path for w in _net.trainable_weights if "_bn" in w.path]
assert not _bn, f"as BatchNormalization devem ficar congeladas; treináveis: {_bn}"
assert _got == 6, f"a partir de block1a: esperados 6 tensores treináveis (kernel e bias de 3 convoluções), obtido {_got}"
try:
    freeze_until(_net, "block9z")
except ValueError:
    pass
else:
    raise AssertionError("freeze_until(backbone, 'block9z') deve levantar ValueError (bloco inexistente)")
### BEGIN HIDDEN TESTS
_net3 = _toy()
_n3 = freeze_until(_net3, "top")
assert _n3 == len(_net3.trainable_weights) == 2, (
    f"a partir de top: esperado 2 tensores treináveis (top_conv), obtido {_n3} / {len(_net3.trainable_weights)}")
assert not _net3.get_layer("top_bn").trainable, "top_bn deve ficar congelada"
for _bad in ("block1", "conv", "Top"):
    try:
        freeze_until(_net3, _bad)
    except ValueError as _err3:
        pass
    else:
        raise AssertionError(f"freeze_until(backbone, {_bad!r}) deve levantar ValueError")
### END HIDDEN TESTS

# %% [markdown]
# Na EfficientNet-Lite0 de verdade: quantos parâmetros cada escolha deixa treináveis? O
# gráfico mostra, bloco a bloco, os parâmetros da rede (escala log) e quais ficam
# treináveis com `freeze_until(backbone, "block6a")`.

# %%
if HEAVY:
    del imagenet_model, probe, early, deep  # free the 224 x 224 network
    backbone = transfer.load_backbone("efficientnet_lite0", input_shape=(96, 96, 3))  # also used in section 9
    n_tensors = freeze_until(backbone, "block6a")
    blocks, total, trainable = [], {}, {}
    for lyr in backbone.layers:
        blk = lyr.name.split("_")[0]
        if not lyr.weights:
            continue
        if blk not in blocks:
            blocks.append(blk)
        total[blk] = total.get(blk, 0) + count_params(lyr)
        trainable[blk] = trainable.get(blk, 0) + count_params(lyr, trainable=True)
    print(f"{n_tensors} tensores treináveis; {count_params(backbone, True):,} de "
          f"{count_params(backbone):,} parâmetros")
    fig, ax = plt.subplots(figsize=(11, 3))
    ax.bar(blocks, [total[b] for b in blocks], color="lightgray", label="congelados")
    ax.bar(blocks, [trainable[b] for b in blocks], color="tab:orange", label="treináveis")
    ax.set_yscale("log")
    ax.set_ylabel("parâmetros")
    ax.tick_params(axis="x", rotation=60)
    ax.legend()
    ax.set_title('freeze_until(backbone, "block6a")')
    plt.tight_layout()
    plt.show()

# %% [markdown]
# Leitura: os blocos do topo concentram os parâmetros (canais largos: 672 a 1280); a partir
# de `block6a` ficam treináveis cerca de 2,6 milhões dos 3,4 milhões da rede sem a camada de
# classificação da ImageNet (que tem outros 1,28 milhão) — "só o topo" já é a maior parte da
# rede, e é por isso que o ajuste fino pede uma taxa de aprendizado menor e cuidado com
# poucas imagens.

# %% [markdown]
# ## 6. A rede congelada como extrator de características
#
# Com a rede inteira congelada, ela é uma função fixa: podemos calcular as características
# de cada imagem **uma única vez** e depois treinar a cabeça nova sobre elas, quantas épocas
# quisermos, quase de graça. Para cada lote:
#
# 1. chamamos a rede (sem topo) em **modo de inferência**, `backbone(x, training=False)`:
#    a BatchNormalization usa as estatísticas da ImageNet (e o *dropout* fica desligado);
# 2. o resultado é um mapa `(n, h, w, C)` ($C = 1280$ na Lite0, $h = H/32$); o
#    *global average pooling* (notebook 03) tira a média de cada canal sobre $h \times w$,
#    dando um vetor de $C$ características por imagem.
#
# Processamos as imagens em **lotes de no máximo `batch_size`**, em ordem, para não estourar
# a memória (1000 imagens $224 \times 224$ de uma vez precisariam de vários GiB de
# ativações); o último lote pode ser menor e não pode ser descartado.
#
# **Exemplo.** 5 imagens com `batch_size=2`: três chamadas à rede, com 2, 2 e 1 imagens; a
# saída tem 5 linhas.
#
# ### Exercício 5 (3 pontos): `extract_features`
#
# Escreva `extract_features(backbone, images, batch_size=32)`:
#
# * `images`: `(N, H, W, 3)`, **já pré-processadas**;
# * chama `backbone(lote, training=False)` em lotes consecutivos de no máximo `batch_size`
#   imagens, ou `backbone.predict(images, batch_size=batch_size)`, que faz o mesmo (em
#   modo de inferência e compilado num grafo do TensorFlow: bem mais rápido);
# * devolve um array NumPy **float32** `(N, C)`: a média de cada canal do mapa final.

# %% nbgrader={"grade": false, "grade_id": "extract_features", "solution": true}
def extract_features(backbone, images, batch_size=32):
    """Global-average-pooled features of a frozen backbone, computed batch by batch.

    Args:
        backbone: callable ``backbone(x, training=False) -> (n, h, w, C)``.
        images: preprocessed images, shape (N, H, W, 3).
        batch_size: at most this many images per call.

    Returns:
        float32 array (N, C).
    """
    ### BEGIN SOLUTION
    maps = backbone.predict(np.asarray(images), batch_size=batch_size, verbose=0)  # inference mode
    return np.asarray(maps).mean(axis=(1, 2)).astype(np.float32)
    ### END SOLUTION


# %%
def toy_extractor(seed=0):
    """A tiny 'backbone' whose BatchNormalization statistics differ from a batch's."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 6, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    model = keras.Model(inputs, keras.layers.ReLU(name="stem_activation")(x))
    bn = model.get_layer("stem_bn")
    bn.set_weights([np.ones(4), np.zeros(4), np.full(4, 0.3), np.full(4, 4.0)])
    return model


toy_images = np.random.default_rng(0).normal(size=(5, 8, 6, 3)).astype(np.float32)
print(extract_features(toy_extractor(), toy_images, batch_size=2).shape)

# %% nbgrader={"grade": true, "grade_id": "test_extract_features_values", "points": 1.5}
"""extract_features: características em modo de inferência, com média sobre o mapa, float32 (N, C)."""
def _extractor(seed=0):
    keras.utils.set_random_seed(seed)
    _inputs = keras.Input((8, 6, 3))
    _x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(_inputs)
    _bn = keras.layers.BatchNormalization()
    _x = _bn(_x)
    _model = keras.Model(_inputs, keras.layers.ReLU()(_x))
    _bn.set_weights([np.ones(4), np.zeros(4), np.full(4, 0.3), np.full(4, 4.0)])
    return _model


_model = _extractor()
_x = np.random.default_rng(75).normal(size=(5, 8, 6, 3)).astype(np.float32)
_expected = np.asarray(_model(_x, training=False)).mean(axis=(1, 2))
_got = extract_features(_model, _x, batch_size=2)
assert np.shape(_got) == (5, 4), f"forma esperada (5, 4) (N imagens, C canais), obtida {np.shape(_got)}"
assert np.asarray(_got).dtype == np.float32, f"dtype esperado float32, obtido {np.asarray(_got).dtype}"
np.testing.assert_allclose(_got, _expected, rtol=1e-5, atol=1e-6,
                           err_msg="média de cada canal do mapa da rede em modo de inferência (training=False)")
### BEGIN HIDDEN TESTS
_model = _extractor(1)
for _n, _bs in [(1, 32), (7, 3), (6, 6), (4, 10)]:
    _x = np.random.default_rng(_n).normal(size=(_n, 8, 6, 3)).astype(np.float32)
    _want = np.asarray(_model(_x, training=False)).mean(axis=(1, 2))
    _feats = extract_features(_model, _x, batch_size=_bs)
    assert np.shape(_feats) == (_n, 4), f"N={_n}, batch_size={_bs}: forma esperada {(_n, 4)}, obtida {np.shape(_feats)}"
    np.testing.assert_allclose(_feats, _want, rtol=1e-5, atol=1e-6, err_msg=f"N={_n}, batch_size={_bs}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_extract_features_batches", "points": 1.5}
"""extract_features: batches consecutivos de no máximo batch_size imagens, o último mantido, modo de inferência."""
class _Spy:
    """Records the batch size and the training flag of every call of the wrapped model."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __call__(self, x, training=None, **kwargs):
        self.calls.append((int(np.shape(x)[0]), training))
        return self.model(x, training=training)

    def predict(self, x, batch_size=None, **kwargs):
        _bs = 32 if batch_size is None else batch_size
        return np.concatenate([np.asarray(self(x[_i:_i + _bs], training=False))
                               for _i in range(0, len(x), _bs)])


keras.utils.set_random_seed(3)
_inputs = keras.Input((4, 4, 3))
_model = keras.Model(_inputs, keras.layers.Conv2D(2, 1)(_inputs))
_x = np.arange(5 * 4 * 4 * 3, dtype=np.float32).reshape(5, 4, 4, 3) / 100
_spy = _Spy(_model)
_got = extract_features(_spy, _x, batch_size=2)
_sizes = [_c[0] for _c in _spy.calls]
assert _sizes == [2, 2, 1], f"5 imagens, batch_size=2: esperadas chamadas com [2, 2, 1] imagens, obtidas {_sizes}"
assert all(_c[1] in (False, None) for _c in _spy.calls), (
    f"chame a rede em modo de inferência (training=False); flags recebidas: {[_c[1] for _c in _spy.calls]}")
np.testing.assert_allclose(_got, np.asarray(_model(_x)).mean(axis=(1, 2)), rtol=1e-5, atol=1e-6,
                           err_msg="as linhas devem seguir a ordem das imagens")
### BEGIN HIDDEN TESTS
for _n, _bs, _expected_sizes in [(7, 3, [3, 3, 1]), (4, 4, [4]), (1, 8, [1]), (9, 2, [2, 2, 2, 2, 1])]:
    _x = np.random.default_rng(_n).normal(size=(_n, 4, 4, 3)).astype(np.float32)
    _spy2 = _Spy(_model)
    _feats = extract_features(_spy2, _x, batch_size=_bs)
    _sizes2 = [_call[0] for _call in _spy2.calls]
    assert _sizes2 == _expected_sizes, f"N={_n}, batch_size={_bs}: esperado {_expected_sizes}, obtido {_sizes2}"
    assert all(_call[1] in (False, None) for _call in _spy2.calls), f"N={_n}: use training=False"
    _want = np.asarray(_model(_x)).mean(axis=(1, 2))
    np.testing.assert_allclose(_feats, _want, rtol=1e-5, atol=1e-6,
                               err_msg=f"N={_n}, batch_size={_bs}: linhas na ordem das imagens")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. A nova cabeça
#
# Sobre as $F$ características, a cabeça nova é pequena: *dropout* (regulariza: com poucas
# imagens, a cabeça decora o treino facilmente) e uma camada densa com $K$ saídas e
# softmax. São $(F + 1) \cdot K$ parâmetros: $1281 \cdot 10 = 12.810$ para a Lite0 e 10
# classes — contra 4,7 milhões da rede inteira.
#
# A aula lembra que também podemos **reaproveitar o classificador** original na
# inicialização, idealmente quando as classes dos dois conjuntos (origem e destino) são as
# mesmas. No nosso experimento as classes (roupas) não são as 1000 da ImageNet, então a
# cabeça é nova, inicializada aleatoriamente.
#
# O *dropout* fica **antes** da camada densa (desliga características, não probabilidades:
# depois da softmax, as saídas deixariam de somar 1 no treino); em modo de inferência ele
# não faz nada.
#
# ### Exercício 6 (3 pontos): `build_head`
#
# Escreva `build_head(num_features, num_classes, dropout=0.2)`, que devolve um
# `keras.Model` que recebe `(N, num_features)` e devolve as probabilidades `(N,
# num_classes)`: `Dropout(dropout)` → `Dense(num_classes, activation="softmax")`, e nada
# mais (os únicos pesos são o *kernel* $F \times K$ e o *bias* $K$ da densa).

# %% nbgrader={"grade": false, "grade_id": "build_head", "solution": true}
def build_head(num_features, num_classes, dropout=0.2):
    """A new classification head: Dropout -> Dense(num_classes, softmax).

    Args:
        num_features: F, length of each input feature vector.
        num_classes: K.
        dropout: dropout rate applied to the features (training only).

    Returns:
        keras.Model mapping (N, F) to (N, K) probabilities.
    """
    ### BEGIN SOLUTION
    inputs = keras.Input((num_features,), name="features")
    x = keras.layers.Dropout(dropout, name="head_dropout")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="head")
    ### END SOLUTION


# %%
head = build_head(1280, 10)
print(head.output_shape, count_params(head))

# %% nbgrader={"grade": true, "grade_id": "test_build_head_structure", "points": 1}
"""build_head: forma da saída (N, K) e (F + 1) * K parâmetros."""
_head = build_head(1280, 10)
_got = _head(np.zeros((3, 1280), dtype=np.float32))
assert tuple(np.shape(_got)) == (3, 10), f"forma esperada (3, 10), obtida {tuple(np.shape(_got))}"
assert _head.count_params() == 12810, f"esperado (1280 + 1) * 10 = 12810 parâmetros, obtido {_head.count_params()}"
### BEGIN HIDDEN TESTS
from autograder.forbid import forbid

with forbid("cnnlib.transfer"):
    _head = build_head(7, 3, dropout=0.5)
assert _head.count_params() == 24, f"F=7, K=3: esperado 24 parâmetros, obtido {_head.count_params()}"
assert tuple(np.shape(_head(np.zeros((1, 7))))) == (1, 3), "F=7, K=3, lote de 1: forma (1, 3)"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_build_head_values", "points": 2}
"""build_head: softmax(x W + b) em modo de inferência; dropout só no treino, antes da Dense."""
_rng = np.random.default_rng(77)
_head = build_head(6, 4, dropout=0.5)
_w, _b = _rng.normal(size=(6, 4)).astype(np.float32), _rng.normal(size=(4,)).astype(np.float32)
_head.set_weights([_w, _b])
_x = _rng.normal(size=(5, 6)).astype(np.float32)
_z = _x @ _w + _b
_expected = np.exp(_z - _z.max(1, keepdims=True)) / np.exp(_z - _z.max(1, keepdims=True)).sum(1, keepdims=True)
np.testing.assert_allclose(np.asarray(_head(_x, training=False)), _expected, rtol=1e-5, atol=1e-6,
                           err_msg="inferência: softmax(x W + b), sem dropout")
keras.utils.set_random_seed(0)
_train = np.asarray(_head(np.repeat(_x, 20, axis=0), training=True))
np.testing.assert_allclose(_train.sum(axis=1), 1.0, atol=1e-5,
                           err_msg="no treino cada linha ainda soma 1 (o dropout vem antes da densa)")
assert not np.allclose(_train, np.repeat(_expected, 20, axis=0), atol=1e-4), (
    "com dropout=0.5 as saídas de treino devem diferir das de inferência")
### BEGIN HIDDEN TESTS
_head0 = build_head(6, 4, dropout=0.0)
_head0.set_weights([_w, _b])
np.testing.assert_allclose(np.asarray(_head0(_x, training=True)), _expected, rtol=1e-5, atol=1e-6,
                           err_msg="dropout=0.0: treino igual à inferência")
_head = build_head(3, 2, dropout=0.2)
_head.set_weights([np.array([[1.0, -1.0], [2.0, 0.0], [0.0, 3.0]], np.float32), np.array([0.5, -0.5], np.float32)])
_x = np.array([[1.0, 0.0, 0.0]], np.float32)
np.testing.assert_allclose(np.asarray(_head(_x, training=False)), [[1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(3.0))]],
                           rtol=1e-5, err_msg="F=3, K=2, lote de 1")
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Ajuste fino em etapas
#
# A aula mostra os casos do *transfer learning* numa figura: (a) muitas imagens e muitas
# classes → treinar a rede inteira (*deep learning*); (b) poucas imagens → congelar a rede
# e treinar só a cabeça; (c) um número médio de imagens → **ajuste fino** de parte da rede;
# (d) uma única classe → as características profundas da rede pré-treinada alimentam um
# classificador de uma classe. A receita usual do ajuste fino:
#
# 1. etapa 0: rede congelada, treina só a cabeça com a taxa `lr` (uma cabeça aleatória
#    mandaria gradientes enormes para os pesos pré-treinados);
# 2. etapa $s = 1, 2, \ldots$: descongela mais `blocks_per_stage` blocos **a partir do topo**
#    (as características de alto nível, as mais específicas da ImageNet) e divide a taxa
#    por `factor` a cada etapa: $\text{lr}_s = \text{lr} / \text{factor}^s$ — pequenos
#    ajustes, para não destruir o que foi aprendido.
#
# **Exemplo.** Blocos `["stem", "block1a", "block2a", "block3a", "top"]`, 2 etapas de 1 bloco,
# `lr = 1e-3`, `factor = 10`: `[(None, 1e-3), ("top", 1e-4), ("block3a", 1e-5)]` — cada par
# é (primeiro bloco treinável para `freeze_until`, ou `None` com a rede toda congelada; taxa).
#
# ### Exercício 7 (3,5 pontos): `fine_tune_schedule`
#
# Escreva `fine_tune_schedule(blocks, stages, blocks_per_stage=1, lr=1e-3, factor=10.0)`,
# que devolve uma lista de `stages + 1` pares `(unfreeze_from, learning_rate)`: a etapa 0 é
# `(None, lr)`; a etapa $s$ descongela a partir de `blocks[-s * blocks_per_stage]` com taxa
# `lr / factor**s`. Levanta `ValueError` se:
#
# * `stages * blocks_per_stage > len(blocks)` (não há blocos para tantas etapas), ou
# * `factor < 1` (a taxa do ajuste fino nunca é maior que a da etapa anterior).

# %% nbgrader={"grade": false, "grade_id": "fine_tune_schedule", "solution": true}
def fine_tune_schedule(blocks, stages, blocks_per_stage=1, lr=1e-3, factor=10.0):
    """Gradual unfreezing plan, from the top block down, with a decaying learning rate.

    Args:
        blocks: block names in forward order (input side first).
        stages: number of fine-tuning stages after the head-only stage 0.
        blocks_per_stage: blocks unfrozen at each stage.
        lr: learning rate of stage 0 (head only).
        factor: the learning rate is divided by ``factor`` at each stage.

    Returns:
        list of ``stages + 1`` pairs ``(unfreeze_from, learning_rate)``; stage 0 is
        ``(None, lr)``, stage s is ``(blocks[-s * blocks_per_stage], lr / factor**s)``.

    Raises:
        ValueError: more blocks asked than there are, or ``factor < 1``.
    """
    ### BEGIN SOLUTION
    if stages * blocks_per_stage > len(blocks):
        raise ValueError(f"stages * blocks_per_stage must be <= len(blocks) = {len(blocks)}. "
                         f"Received: stages={stages}, blocks_per_stage={blocks_per_stage}")
    if factor < 1:
        raise ValueError(f"factor must be >= 1. Received: factor={factor}")
    plan = [(None, lr)]
    for s in range(1, stages + 1):
        plan.append((blocks[-s * blocks_per_stage], lr / factor ** s))
    return plan
    ### END SOLUTION


# %%
print(fine_tune_schedule(["stem", "block1a", "block2a", "block3a", "top"], stages=2))

# %% nbgrader={"grade": true, "grade_id": "test_fine_tune_schedule_stages", "points": 2}
"""fine_tune_schedule: o exemplo resolvido, blocos do topo para baixo e lr / factor**s."""
def _check(_got, _expected, _what):
    assert len(_got) == len(_expected), f"{_what}: esperadas {len(_expected)} etapas, obtidas {len(_got)}: {_got}"
    for _s, ((_b, _lr), (_eb, _elr)) in enumerate(zip(_got, _expected)):
        assert _b == _eb, f"{_what}, etapa {_s}: esperado descongelar a partir de {_eb!r}, obtido {_b!r}"
        assert abs(_lr - _elr) <= 1e-9 * _elr, f"{_what}, etapa {_s}: taxa esperada {_elr:g}, obtida {_lr:g}"


_blocks = ["stem", "block1a", "block2a", "block3a", "top"]
_check(fine_tune_schedule(_blocks, 2), [(None, 1e-3), ("top", 1e-4), ("block3a", 1e-5)], "exemplo")
### BEGIN HIDDEN TESTS
_blocks = ["stem"] + [f"block{_i}a" for _i in range(1, 8)] + ["top"]
_check(fine_tune_schedule(_blocks, 3, blocks_per_stage=2, lr=0.01, factor=3.0),
       [(None, 0.01), ("block7a", 0.01 / 3), ("block5a", 0.01 / 9), ("block3a", 0.01 / 27)],
       "9 blocos, 3 etapas de 2 blocos, lr=0.01, factor=3")
_check(fine_tune_schedule(_blocks, 0, lr=5e-4), [(None, 5e-4)], "0 etapas")
_check(fine_tune_schedule(_blocks[:4], 2, blocks_per_stage=2, lr=1.0, factor=1.0),
       [(None, 1.0), ("block2a", 1.0), ("stem", 1.0)], "todos os blocos, factor=1")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_fine_tune_schedule_errors", "points": 1.5}
"""fine_tune_schedule: etapas demais para os blocos, ou factor < 1, levantam ValueError."""
for _kwargs, _why in [(dict(blocks=["stem", "block1a", "top"], stages=4), "4 etapas com 3 blocos"),
                      (dict(blocks=["stem", "block1a", "top"], stages=1, factor=0.5), "factor < 1")]:
    try:
        fine_tune_schedule(**_kwargs)
    except ValueError:
        pass
    else:
        raise AssertionError(f"fine_tune_schedule deve levantar ValueError: {_why}")
### BEGIN HIDDEN TESTS
for _kw2, _why2 in [(dict(blocks=["a", "b", "c", "d", "e"], stages=3, blocks_per_stage=2), "3 x 2 > 5 blocos"),
                    (dict(blocks=["a", "b", "c", "d"], stages=2, blocks_per_stage=2, factor=0.99), "factor=0.99")]:
    try:
        fine_tune_schedule(**_kw2)
    except ValueError as _err2:
        pass
    else:
        raise AssertionError(f"fine_tune_schedule deve levantar ValueError ({_why2})")
fine_tune_schedule(["a", "b", "c", "d"], 2, blocks_per_stage=2)  # 2 x 2 = 4 blocos cabem: sem erro
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Experimento: os três casos da aula em 1.000 imagens
#
# Fashion-MNIST (roupas em tons de cinza, $28 \times 28$) é bem diferente da ImageNet
# (fotos coloridas de objetos), e mesmo assim as características de baixo nível se
# transferem. Usamos **1.000 imagens de treino** e 1.000 de teste, ampliadas para
# $96 \times 96$ e repetidas nos 3 canais RGB. Três casos, todos com a mesma cabeça nova:
#
# 1. **rede congelada + cabeça nova** (caso (b) da aula): as características são extraídas
#    uma vez (`extract_features`) e só a cabeça treina (`build_head`), 10 épocas;
# 2. **ajuste fino** (caso (c)): continua do caso 1, descongela os blocos do topo com
#    `fine_tune_schedule` + `freeze_until` (BN congelada, modo de inferência) e treina mais
#    3 épocas com taxa 10 vezes menor;
# 3. **treino do zero** (caso (a), mas com poucas imagens): uma CNN pequena (3 convoluções
#    $3 \times 3$ + *pooling*, 24 mil parâmetros, mais que a cabeça) inicializada
#    aleatoriamente. (A Lite0 inteira do zero seria ainda pior com 1.000 imagens, e o treino
#    levaria muitos minutos neste computador.)
#
# Medimos a acurácia no teste ao fim de cada época contra o **número de imagens vistas**
# no treino.

# %%
if HEAVY:
    from cnnlib.data import load_fashion_mnist
    from cnnlib.efficientnet_lite import block_names as lite_block_names

    SIZE, N_TRAIN, N_TEST = 96, 1000, 1000
    (fm_x_train, fm_y_train), (fm_x_test, fm_y_test) = load_fashion_mnist()

    def to_rgb(images):
        """(N, 28, 28) uint8 -> (N, SIZE, SIZE, 3) float32 in [0, 255]."""
        x = tf.image.resize(images[..., None].astype(np.float32), (SIZE, SIZE)).numpy()
        return np.repeat(x, 3, axis=-1)

    xp_train, y_train = preprocess(to_rgb(fm_x_train[:N_TRAIN])), fm_y_train[:N_TRAIN].astype(np.int64)
    xp_test, y_test = preprocess(to_rgb(fm_x_test[:N_TEST])), fm_y_test[:N_TEST].astype(np.int64)
    del fm_x_train, fm_x_test
    print("treino", xp_train.shape, "teste", xp_test.shape, "| exemplos por classe:", np.bincount(y_train))

# %%
if HEAVY:
    keras.utils.set_random_seed(0)
    backbone.trainable = False  # the 96 x 96 EfficientNet-Lite0 of section 5, all frozen
    f_train = extract_features(backbone, xp_train, batch_size=50)
    f_test = extract_features(backbone, xp_test, batch_size=50)
    head = build_head(f_train.shape[1], 10)
    head.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist_frozen = head.fit(f_train, y_train, batch_size=32, epochs=10, validation_data=(f_test, y_test),
                           verbose=0)
    acc_frozen = hist_frozen.history["val_accuracy"]
    print(f"1) congelada + cabeça ({count_params(head, True):,} treináveis): acurácia de teste {acc_frozen[-1]:.3f}")

# %%
if HEAVY:
    plan = fine_tune_schedule(lite_block_names(), stages=1, blocks_per_stage=2, lr=1e-3, factor=10.0)
    print("plano:", plan)
    unfreeze_from, fine_lr = plan[1]
    inputs = keras.Input((SIZE, SIZE, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs, training=False))
    fine_model = keras.Model(inputs, head(pooled))
    freeze_until(backbone, unfreeze_from)
    fine_model.compile(keras.optimizers.Adam(fine_lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist_fine = fine_model.fit(xp_train, y_train, batch_size=32, epochs=3, validation_data=(xp_test, y_test),
                               verbose=0)
    acc_fine = hist_fine.history["val_accuracy"]
    print(f"2) ajuste fino a partir de {unfreeze_from} ({count_params(fine_model, True):,} treináveis): "
          f"acurácia de teste {acc_fine[-1]:.3f}")

# %%
if HEAVY:
    keras.utils.set_random_seed(0)
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3))
    x = inputs  # the same preprocessed pixels, (x - 127) / 128
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    scratch = keras.Model(inputs, build_head(64, 10)(x))
    scratch.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist_scratch = scratch.fit(xp_train, y_train, batch_size=32, epochs=10, validation_data=(xp_test, y_test),
                               verbose=0)
    acc_scratch = hist_scratch.history["val_accuracy"]
    print(f"3) do zero ({count_params(scratch, True):,} treináveis): acurácia de teste {acc_scratch[-1]:.3f}")

# %%
if HEAVY:
    seen = lambda n, start=0: [N_TRAIN * (start + e + 1) for e in range(n)]  # noqa: E731
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(seen(len(acc_frozen)), acc_frozen, "o-", label="1) congelada + cabeça nova")
    ax.plot(seen(len(acc_fine), len(acc_frozen)), acc_fine, "s-", label=f"2) + ajuste fino a partir de {unfreeze_from}")
    ax.plot(seen(len(acc_scratch)), acc_scratch, "^-", label="3) CNN do zero")
    ax.set_xlabel("imagens vistas no treino")
    ax.set_ylabel("acurácia no teste (1.000 imagens)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Fashion-MNIST, 1.000 imagens de treino, 96 x 96")
    plt.show()
    print(f"congelada {acc_frozen[-1]:.3f} | ajuste fino {acc_fine[-1]:.3f} | do zero {acc_scratch[-1]:.3f}")

# %% [markdown]
# Leitura: com as mesmas 1.000 imagens e o mesmo número de imagens vistas, a rede congelada
# + cabeça nova chega a cerca de 82% de acurácia no teste e a CNN do zero fica perto de 53%:
# as características da ImageNet (bordas, texturas, formas) servem também para roupas. O
# ajuste fino do `block7a` e do `top`, com taxa 10 vezes menor, adapta essas características
# ao novo conjunto e ganha mais um ponto e meio (cerca de 83%); com mais imagens,
# descongelaríamos mais blocos (do caso (c) para o (a) da aula).
#
# ## Resumo
#
# * Uma rede pré-treinada espera a entrada no formato do seu treino (`preprocess`).
# * As primeiras camadas extraem características de **baixo nível** (bordas, cores),
#   genéricas — é isso que se transfere (a aula diz "alto nível": está trocado).
# * Congelar = tirar pesos do gradiente; a BN tem estatísticas que nunca são treináveis e,
#   no ajuste fino com poucas imagens, fica congelada e em modo de inferência.
# * Poucas imagens: rede congelada + cabeça nova; um número médio: ajuste fino dos blocos do
#   topo com taxa menor; muitas: treinar tudo.
