"""Kubernetes manifests of the course, from one command (validated offline by the tests
with kubernetes-validate):

    python course/k8s/manifests.py storage > storage.yaml
    python course/k8s/manifests.py grading 01-convolucao --shards 8 --parallelism 8 > grade.yaml
    kubectl apply -n cnn-course -f storage.yaml -f grade.yaml

``grading`` writes an Indexed Job (one pod per shard: ``autograder grade A SUBMISSIONS
--shard i/N`` into its own scratch course root, shard file on the shared course volume)
and a merge Job (waits for the N shard files, then ``autograder merge`` into the course
root: gradebook.db, grades.csv, feedback/).
"""

from __future__ import annotations

import argparse
import re
import sys

import yaml

IMAGE = "ghcr.io/example/cnn-course:latest"   # built with repo2docker from this repo
COURSE_PVC = "cnn-course-root"                # nbgrader course root (RWX)
EXCHANGE_PVC = "cnn-course-exchange"          # nbgrader exchange (RWX)
DATA_PVC = "cnn-course-data"                  # CNNLIB_DATA, prepared once (ROX)
COURSE_MOUNT = "/srv/course"
DATA_MOUNT = "/srv/cnnlib-data"
NAME_RE = re.compile(r"^[0-9]{2}-[a-z0-9-]+$")


def _check(assignment: str, shards: int, parallelism: int) -> None:
    if not NAME_RE.match(assignment):
        raise ValueError(f"assignment must look like NN-topic (lowercase, digits, dashes). Received: {assignment!r}")
    if not 1 <= shards <= 1000:
        raise ValueError(f"--shards must be between 1 and 1000. Received: {shards}")
    if not 1 <= parallelism <= shards:
        raise ValueError(f"--parallelism must be between 1 and --shards ({shards}). Received: {parallelism}")


def _labels(assignment: str, part: str) -> dict:
    return {"app.kubernetes.io/name": "cnn-course-grading", "app.kubernetes.io/component": part,
            "cnn-course/assignment": assignment}


def _volumes() -> list[dict]:
    return [
        {"name": "course", "persistentVolumeClaim": {"claimName": COURSE_PVC}},
        {"name": "data", "persistentVolumeClaim": {"claimName": DATA_PVC, "readOnly": True}},
        {"name": "scratch", "emptyDir": {"sizeLimit": "4Gi"}},
    ]


def _mounts() -> list[dict]:
    return [
        {"name": "course", "mountPath": COURSE_MOUNT},
        {"name": "data", "mountPath": DATA_MOUNT, "readOnly": True},
        {"name": "scratch", "mountPath": "/scratch"},
    ]


def grading_jobs(assignment: str, shards: int, parallelism: int, image: str = IMAGE,
                 cpu: str = "2", memory: str = "4Gi", deadline_s: int = 3600) -> list[dict]:
    """The Indexed grading Job and the merge Job for ``assignment``."""
    _check(assignment, shards, parallelism)
    a = assignment
    shard_dir = f"{COURSE_MOUNT}/shards/{a}"
    # nbgrader's collect layout submitted/<student>/<A>/ -> <student>/<A>.ipynb folders.
    grade_script = f"""set -eu
i=$((JOB_COMPLETION_INDEX + 1))
mkdir -p /scratch/subs {shard_dir}
for d in {COURSE_MOUNT}/submitted/*/{a}; do
  [ -d "$d" ] && cp -r "$d" "/scratch/subs/$(basename "$(dirname "$d")")"
done
exec autograder --course-dir /scratch/course grade {a} /scratch/subs \\
  --shard "$i/{shards}" --shard-file "{shard_dir}/shard-$i-of-{shards}.json" --jobs 2
"""
    env = [{"name": "CNNLIB_DATA", "value": DATA_MOUNT}, {"name": "TF_CPP_MIN_LOG_LEVEL", "value": "2"}]
    resources = {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}}
    grade = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"grade-{a}", "labels": _labels(a, "grade")},
        "spec": {
            "completionMode": "Indexed", "completions": shards, "parallelism": parallelism,
            "backoffLimitPerIndex": 2, "maxFailedIndexes": 0,
            "activeDeadlineSeconds": deadline_s, "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": _labels(a, "grade")},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100},
                    "containers": [{
                        "name": "grade", "image": image, "command": ["/bin/sh", "-c", grade_script],
                        "env": env, "resources": resources, "volumeMounts": _mounts(),
                    }],
                    "volumes": _volumes(),
                },
            },
        },
    }
    wait_script = (f"until [ \"$(ls {shard_dir}/shard-*-of-{shards}.json 2>/dev/null | wc -l)\" -ge {shards} ]; "
                   "do sleep 10; done")
    merge_cmd = ["autograder", "--course-dir", COURSE_MOUNT, "merge", a] + \
        [f"{shard_dir}/shard-{i}-of-{shards}.json" for i in range(1, shards + 1)]
    merge = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"merge-{a}", "labels": _labels(a, "merge")},
        "spec": {
            "completions": 1, "parallelism": 1, "backoffLimit": 2,
            "activeDeadlineSeconds": deadline_s + 600, "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": _labels(a, "merge")},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100},
                    "initContainers": [{
                        "name": "wait-for-shards", "image": image,
                        "command": ["/bin/sh", "-c", wait_script],
                        "volumeMounts": [{"name": "course", "mountPath": COURSE_MOUNT}],
                    }],
                    "containers": [{
                        "name": "merge", "image": image, "command": merge_cmd, "env": env,
                        "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                                      "limits": {"cpu": "1", "memory": "2Gi"}},
                        "volumeMounts": _mounts(),
                    }],
                    "volumes": _volumes(),
                },
            },
        },
    }
    return [grade, merge]


def storage(course_size: str = "50Gi", exchange_size: str = "20Gi", data_size: str = "5Gi",
            rwx_class: str = "nfs-client") -> list[dict]:
    """PVCs, all ReadWriteMany (NFS, Filestore, EFS, Azure Files...): course root, exchange,
    and the course data (filled once by a `cnnlib prepare` pod, mounted read-only after)."""
    def pvc(name, mode, size):
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "cnn-course"}},
                "spec": {"accessModes": [mode], "storageClassName": rwx_class,
                         "resources": {"requests": {"storage": size}}}}
    return [pvc(COURSE_PVC, "ReadWriteMany", course_size),
            pvc(EXCHANGE_PVC, "ReadWriteMany", exchange_size),
            pvc(DATA_PVC, "ReadWriteMany", data_size)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="manifests.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grading", help="Indexed grading Job + merge Job")
    g.add_argument("assignment")
    g.add_argument("--shards", type=int, required=True)
    g.add_argument("--parallelism", type=int)
    g.add_argument("--image", default=IMAGE)
    g.add_argument("--cpu", default="2")
    g.add_argument("--memory", default="4Gi")
    s = sub.add_parser("storage", help="the course's PersistentVolumeClaims")
    s.add_argument("--storage-class", default="nfs-client")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "grading":
            docs = grading_jobs(args.assignment, args.shards, args.parallelism or args.shards,
                                args.image, args.cpu, args.memory)
        else:
            docs = storage(rwx_class=args.storage_class)
    except ValueError as e:
        print(f"manifests.py: {e}", file=sys.stderr)
        return 2
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
