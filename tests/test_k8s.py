"""Kubernetes side of the hub, validated offline: the grading Jobs against Kubernetes'
OpenAPI schemas (kubernetes-validate, which ships them), and the Zero to JupyterHub values
for what the course needs. Not validated here: the values against the chart's own schema
(it is not in any package registry, and third-party files are not vendored), and anything
that needs a cluster (helm template rendering, storage classes, image pulls, the LMS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "course" / "k8s"
sys.path.insert(0, str(K8S))
import kubernetes_validate as kv  # noqa: E402
import manifests  # noqa: E402

KUBE = "1.33.0"


def test_values_say_what_the_course_needs():
    v = yaml.safe_load((K8S / "values.yaml").read_text())
    su = v["singleuser"]
    assert (su["memory"]["limit"], su["cpu"]["limit"]) == ("2G", 1), su
    assert su["extraEnv"]["CNNLIB_DATA"] == "/srv/cnnlib-data"
    mounts = {m["name"]: m for m in su["storage"]["extraVolumeMounts"]}
    assert mounts["course-data"].get("readOnly") is True, "dados do curso devem ser só leitura"
    assert mounts["exchange"]["mountPath"] == "/srv/nbgrader/exchange"
    assert "Exchange.root = \"/srv/nbgrader/exchange\"" in su["extraFiles"]["nbgrader-config"]["stringData"]
    assert v["cull"]["enabled"] is True
    assert v["hub"]["config"]["JupyterHub"]["authenticator_class"] == "ltiauthenticator.LTI11Authenticator"


def test_grading_jobs_validate_and_shard_the_class():
    docs = list(yaml.safe_load_all(subprocess.run(
        [sys.executable, str(K8S / "manifests.py"), "grading", "01-convolucao", "--shards", "4",
         "--parallelism", "2"], capture_output=True, text=True, check=True).stdout))
    assert [d["kind"] for d in docs] == ["Job", "Job"]
    for d in docs:
        kv.validate(d, KUBE, strict=True)  # raises ValidationError with the path
    grade, merge = docs
    spec = grade["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 4, 2), spec
    script = spec["template"]["spec"]["containers"][0]["command"][2]
    assert 'i=$((JOB_COMPLETION_INDEX + 1))' in script and '--shard "$i/4"' in script, script
    assert subprocess.run(["sh", "-n", "-c", script]).returncode == 0, "script de correção inválido"
    cmd = merge["spec"]["template"]["spec"]["containers"][0]["command"]
    assert cmd[:5] == ["autograder", "--course-dir", "/srv/course", "merge", "01-convolucao"], cmd
    assert cmd[5:] == [f"/srv/course/shards/01-convolucao/shard-{i}-of-4.json" for i in range(1, 5)], cmd
    # kubernetes-validate does catch a broken manifest.
    broken = yaml.safe_load(yaml.safe_dump(grade))
    broken["spec"]["completions"] = "quatro"
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBE, strict=True)


def test_storage_validates():
    for d in manifests.storage():
        kv.validate(d, KUBE, strict=True)
        assert d["spec"]["accessModes"] == ["ReadWriteMany"], d


@pytest.mark.parametrize("args, match", [
    (("01 convolucao", 4, 4), "assignment must look like NN-topic"),
    (("01-convolucao", 0, 1), "--shards must be between 1 and 1000"),
    (("01-convolucao", 4, 5), "--parallelism must be between 1 and --shards"),
])
def test_bad_input_is_refused(args, match):
    with pytest.raises(ValueError, match=match):
        manifests.grading_jobs(*args)
