"""The fork server: a process that imports the assignment's libraries once (NumPy,
TensorFlow, Keras, cnnlib, the checker...) and forks one sandboxed worker per
submission, so no submission pays a Python start or a TensorFlow import.

Started by :class:`autograder.run.engine.Engine` as ``python -m autograder.run.zygote``.
Protocol on stdin/stdout, one JSON object per line:

- in: ``{"modules": [...], "env": {...}}`` once; out: ``{"ready": true, "failed": [...]}``;
- in: ``{"job": ID, "file": PATH}``: fork a worker for the job described in PATH (a
  root-only JSON file, read by the worker after the fork, so the server's own memory
  never holds a student's code); out: ``{"forked": ID, "pid": PID}``;
- out: ``{"exit": ID, "status": CODE}`` when that worker ended.

The server never runs student code and keeps no course files open.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import sys
import traceback


def _write(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _null_stdio() -> None:
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def _worker(job_file: str) -> int:
    """In the forked child: read the job, enter the sandbox, run the harness."""
    with open(job_file, encoding="utf-8") as fh:
        job = json.load(fh)
    out = open(job["results"], "ab", buffering=0)
    os.environ.update(job.get("env", {}))
    from autograder.run import harness, sandbox

    spec = job["sandbox"]
    if spec.get("enabled"):
        cgroup = spec.get("cgroup")
        if cgroup:
            try:
                with open(os.path.join(cgroup, "cgroup.procs"), "w") as fh:
                    fh.write(str(os.getpid()))
            except OSError:
                pass
        sandbox.enter_namespaces()
        pid = os.fork()
        if pid:
            out.write((json.dumps({"event": "pid", "pid": pid}) + "\n").encode())
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
        sandbox.setup_inside(spec)
    else:
        os.setsid()
        sandbox.apply_limits(spec["limits"], spec.get("rlimit_as"))
        os.chdir(spec["workdir"])
        out.write((json.dumps({"event": "pid", "pid": os.getpid()}) + "\n").encode())
    del spec, job["sandbox"]
    harness.run(job, out)
    return 0


def main() -> int:
    config = json.loads(sys.stdin.readline())
    os.environ.update(config.get("env", {}))
    failed = []
    for name in config.get("modules", []):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module is the notebook's error
            failed.append(name)
    import autograder.run.coerce  # noqa: F401
    import autograder.run.harness  # noqa: F401 - warm
    import autograder.run.sandbox  # noqa: F401

    _write({"ready": True, "failed": failed})
    children: dict[int, str] = {}
    stdin = sys.stdin.fileno()
    buffer = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.05)
        if ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        _null_stdio()
                        code = _worker(request["file"])
                    except BaseException:  # noqa: BLE001 - report and die, never return to the loop
                        try:
                            with open(request["file"] + ".err", "w") as fh:
                                traceback.print_exc(file=fh)
                        except OSError:
                            pass
                    finally:
                        os._exit(code)
                children[pid] = request["job"]
                _write({"forked": request["job"], "pid": pid})
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job = children.pop(pid, None)
            if job is not None:
                _write({"exit": job, "status": os.waitstatus_to_exitcode(status)})
    for pid in children:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
