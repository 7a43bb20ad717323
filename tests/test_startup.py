"""Start-up: NumPy-only paths of cnnlib import no TensorFlow; .keras files still load.

Each check runs in a fresh interpreter (what is imported depends on the process).
"""

import subprocess
import sys
import textwrap

import pytest

TIMEOUT_S = 300


def _run(code, *args):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"o processo falhou (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_numpy_only_modules_and_validate_do_not_import_tensorflow():
    out = _run("""
        import sys
        import cnnlib, cnnlib.reference, cnnlib.gradcheck, cnnlib.geometry, cnnlib.validation
        import cnnlib.data
        from cnnlib import cli
        rc = cli.main(["validate"])
        heavy = sorted(m for m in ("tensorflow", "keras", "tensorflow_datasets", "torch") if m in sys.modules)
        print("RC", rc, "HEAVY", ",".join(heavy) or "-")
    """)
    assert "RC 0 " in out, f"`cnnlib validate` deveria sair com 0; saída: {out}"
    assert "HEAVY -" in out, f"esperado nenhum módulo pesado importado; obtido: {out.strip()}"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A .keras file with cnnlib layers and a cnnlib block (its output saved beside it)."""
    path = tmp_path_factory.mktemp("startup") / "model.keras"
    _run("""
        import sys
        import numpy as np
        import keras
        from cnnlib import blocks, layers
        inputs = keras.Input((8, 8, 1))
        x = layers.Conv2D(2, 3, padding="same")(inputs)
        x = layers.MaxPooling2D(2)(x)
        x = blocks.VGGBlock(1, 2, layers="cnnlib")(x)
        model = keras.Model(inputs, x)
        model.save(sys.argv[1])
        np.save(sys.argv[1] + ".npy", model(np.ones((1, 8, 8, 1), "float32")).numpy())
    """, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("first", ["cnnlib", "cnnlib.layers", "cnnlib.blocks", "keras"])
def test_keras_file_loads_after_import_cnnlib(first, saved_model):
    path = saved_model
    out = _run(f"""
        import sys
        import numpy as np
        import {first}
        import cnnlib
        import keras
        model = keras.models.load_model(sys.argv[1])
        names = sorted(type(layer).__module__ for layer in model.layers)
        assert "cnnlib.blocks" in names, names
        got = model(np.ones((1, 8, 8, 1), "float32")).numpy()
        np.testing.assert_allclose(got, np.load(sys.argv[1] + ".npy"), rtol=1e-6)
        print("MODULES", names)
    """, path)
    assert "cnnlib.layers.conv2d" in out, f"esperada a Conv2D do cnnlib no modelo recarregado; saída: {out}"


def test_filter_drops_only_the_startup_info_lines():
    from cnnlib import tf_quiet

    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796027785.867752     524 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1796027786.022646     524 cpu_feature_guard.cc:227] This TensorFlow binary\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
        "with the appropriate compiler flags.\n"
    )
    kept = ("W0000 00:00:1796027499.330591   28982 google_auth_provider.cc:196] All attempts\n"
            "E0000 00:00:1.0 1 port.cc:9] a real error\n"
            "Traceback (most recent call last):\n")
    got = tf_quiet.filter_startup_lines(noise + kept + noise)
    assert got == kept, f"esperado manter só avisos/erros:\n{kept!r}\nobtido:\n{got!r}"


@pytest.mark.slow
def test_import_tensorflow_prints_no_startup_info_in_the_venv():
    import os
    import sysconfig

    from cnnlib import tf_quiet

    pth = os.path.join(sysconfig.get_paths()["purelib"], tf_quiet.PTH_NAME)
    assert os.path.exists(pth), f"{pth} ausente: o passo `make venv` deveria escrevê-lo"
    env = {k: v for k, v in os.environ.items() if k != tf_quiet.SHOW_ENV}
    quiet = subprocess.run([sys.executable, "-c", "import tensorflow as tf; print(tf.add(1, 2).numpy())"],
                           capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    assert quiet.returncode == 0 and quiet.stdout.strip() == "3", quiet.stderr[-2000:]
    assert "I0000" not in quiet.stderr and "oneDNN" not in quiet.stderr, \
        f"esperado stderr sem as linhas I0000 de início do TF; obtido:\n{quiet.stderr[-2000:]}"
    env[tf_quiet.SHOW_ENV] = "1"
    loud = subprocess.run([sys.executable, "-c", "import tensorflow"],
                          capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    assert "oneDNN custom operations are on" in loud.stderr, \
        f"com {tf_quiet.SHOW_ENV}=1 as linhas deveriam aparecer; stderr:\n{loud.stderr[-2000:]}"
