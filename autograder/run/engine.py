"""Grader side of running submissions: one warm fork server per run, one sandboxed
worker per submission, per-cell and wall timeouts, crash recovery, parallel slots.

A worker that dies or hangs (``os._exit``, a segfault, a loop that ignores Ctrl+C, the
memory limit) loses only the cell it was running: the grader starts a new worker that
skips the grade cells already graded and that cell, so points earned before and after
the crash are kept.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.run import sandbox

MAX_RESTARTS = 3
INTERRUPT_GRACE = 5.0
MAX_RESULT_BYTES = 16 * 2**20
REPO_VISIBLE = [".venv", "cnnlib", "autograder", "notebooks", "pyproject.toml", "README.md",
                "cnn_course.egg-info", "environment.yml"]


@dataclasses.dataclass
class CellOutcome:
    index: int
    ok: bool
    error: dict | None = None
    output: str = ""
    flags: list = dataclasses.field(default_factory=list)
    dropped: list = dataclasses.field(default_factory=list)
    problem: str = ""  # set when the worker died or hung in this cell


@dataclasses.dataclass
class RunOutcome:
    cells: dict[int, CellOutcome]
    notes: list[str]
    seconds: float
    wall_timed_out: bool = False


def data_dir() -> str:
    return os.environ.get("CNNLIB_DATA") or str(Path.home() / ".cache" / "cnnlib")


class Engine:
    """A warm fork server plus bookkeeping for the jobs it runs.

    Args:
        modules: modules the server imports before any submission arrives.
        sandboxed: None = as root only; False = never (tests of the harness only).
        hide: extra folders to hide inside the sandbox (course root, submissions...).
        limits: per-submission :class:`sandbox.Limits`.
    """

    def __init__(self, modules: list[str], *, sandboxed: bool | None = None, hide: list[Path] = (),
                 limits: sandbox.Limits | None = None, repo: Path | None = None):
        self.sandboxed = sandbox.is_root() if sandboxed is None else (sandboxed and sandbox.is_root())
        self.modules = list(modules)
        self.hide = [str(p) for p in hide]
        self.limits = limits or sandbox.Limits()
        self.repo = Path(repo or Path(__file__).resolve().parents[2])
        self._lock = threading.Lock()
        self._events: dict[str, dict] = {}
        self._cond = threading.Condition()
        self._running: dict[str, int] = {}  # job -> pid to kill
        self.proc: subprocess.Popen | None = None
        self.closed = False
        self.ready_info: dict = {}
        if self.sandboxed:
            base = sandbox.STATE_DIR
            base.mkdir(parents=True, exist_ok=True)
            os.chmod(base, 0o711)
            self.work_base = base / "sandbox"
            self.work_base.mkdir(exist_ok=True)
            os.chmod(self.work_base, 0o711)
            self.jobs_dir = Path(tempfile.mkdtemp(prefix="jobs-", dir=base))
        else:
            self.work_base = Path(tempfile.mkdtemp(prefix="autograder-work-"))
            self.jobs_dir = Path(tempfile.mkdtemp(prefix="autograder-jobs-"))
        os.chmod(self.jobs_dir, 0o700)

    # ------------------------------------------------------------------ server

    def start(self) -> "Engine":
        env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2", NBGRADER_EXECUTION="autograde",
                   PYTHONDONTWRITEBYTECODE="1")
        self.log = open(self.jobs_dir / "server.log", "wb")  # TensorFlow's start-up chatter
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder.run.zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=str(self.jobs_dir),
                                     start_new_session=True, text=True, bufsize=1)
        self.proc.stdin.write(json.dumps({"modules": self.modules}) + "\n")
        self.proc.stdin.flush()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def wait_ready(self, timeout: float = 600) -> dict:
        """Wait for the server's imports; AutograderError (with its log) if it died."""
        from autograder.errors import AutograderError

        with self._cond:
            self._cond.wait_for(lambda: "ready" in self._events or "eof" in self._events, timeout)
        if "ready" not in self._events:
            try:
                log = (self.jobs_dir / "server.log").read_text(errors="replace").strip().splitlines()[-15:]
            except OSError:
                log = []
            raise AutograderError("the grading server (autograder.run.zygote) did not start:\n" + "\n".join(log))
        return self._events["ready"]

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._cond:
                if "ready" in msg:
                    self._events["ready"] = msg
                elif "forked" in msg:
                    self._events[f"forked:{msg['forked']}"] = msg
                elif "exit" in msg:
                    self._events[f"exit:{msg['exit']}"] = msg
                self._cond.notify_all()
        with self._cond:
            self._events["eof"] = {}
            self._cond.notify_all()

    def close(self) -> None:
        """Kill every running worker and the server; remove scratch folders (idempotent)."""
        if self.closed:
            return
        self.closed = True
        with self._lock:
            pids = list(self._running.values())
        for pid in pids:
            _kill(pid)
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        if self.proc:
            self.log.close()
        with self._cond:
            self._events["eof"] = {}
            self._cond.notify_all()
        shutil.rmtree(self.jobs_dir, ignore_errors=True)
        if not self.sandboxed:
            shutil.rmtree(self.work_base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ one submission

    def run(self, cells: list[dict], files: list[tuple[Path, str]], *, cell_timeout: float,
            wall_timeout: float, mode: str = "definitions") -> RunOutcome:
        """Run ``cells`` (dicts: kind, source, grade_id) with ``files`` ((source, relative
        name) pairs) in the working folder; restart after a crash skipping what is done."""
        start = time.monotonic()
        outcomes: dict[int, CellOutcome] = {}
        notes: list[str] = []
        skip: set[int] = set()
        wall_out = False
        for attempt in range(MAX_RESTARTS + 1):
            if self.closed:
                notes.append("correção interrompida")
                break
            remaining = wall_timeout - (time.monotonic() - start)
            if remaining <= 1:
                wall_out = True
                break
            result = self._attempt(cells, files, skip, cell_timeout, remaining, mode)
            for index, outcome in result["done"].items():
                outcomes[index] = outcome
            if result["finished"]:
                break
            bad = result["current"]
            if result["wall"]:
                wall_out = True
                notes.append(f"tempo total de {wall_timeout:g} s por submissão esgotado")
                if bad is not None:
                    outcomes[bad] = CellOutcome(bad, False, problem=result["problem"])
                break
            if bad is None:
                notes.append("o processo de correção terminou antes de começar: " + result["problem"])
                break
            outcomes[bad] = CellOutcome(bad, False, problem=result["problem"])
            notes.append(f"célula {bad}: {result['problem']}; a correção continuou nas células seguintes")
            skip = {i for i, o in outcomes.items() if cells[i]["kind"] == "grade"} | {bad}
        else:
            notes.append(f"mais de {MAX_RESTARTS} reinícios; células restantes com nota 0")
        return RunOutcome(outcomes, notes, time.monotonic() - start, wall_out)

    def _attempt(self, cells, files, skip, cell_timeout, wall_timeout, mode) -> dict:
        job = secrets.token_hex(8)
        uid = 200000 + secrets.randbelow(1800000)
        workdir = self.work_base / secrets.token_hex(12)
        workdir.mkdir(mode=0o700)
        for src, rel in files:
            dest = workdir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(src, dest)
            except OSError:
                pass
        results = self.jobs_dir / f"{job}.jsonl"
        results.touch(mode=0o600)
        cgroup = None
        if self.sandboxed:
            for path in [workdir, *workdir.rglob("*")]:
                os.lchown(path, uid, uid)
            cgroup = sandbox.make_memory_cgroup(f"autograder-{job}", self.limits.memory_bytes)
        env = {"HOME": str(workdir), "TMPDIR": str(workdir), "USER": "aluno", "LOGNAME": "aluno",
               "MPLCONFIGDIR": str(workdir / ".mpl"), "KERAS_HOME": str(workdir / ".keras"),
               "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg",
               "CNNLIB_DATA": sandbox.DATA_MOUNT if self.sandboxed else data_dir()}
        limits = dataclasses.asdict(self.limits)
        spec = {"enabled": self.sandboxed, "workdir": str(workdir), "uid": uid, "data_dir": data_dir(),
                "repo": str(self.repo), "hide": self.hide + [str(self.jobs_dir)], "visible": REPO_VISIBLE,
                "limits": limits, "cgroup": str(cgroup) if cgroup else None,
                # RLIMIT_AS fails a big allocation at once (MemoryError); the cgroup also
                # bounds what RLIMIT_AS does not see (page cache, children).
                "rlimit_as": sandbox.vm_size_of(self.proc.pid) + self.limits.memory_bytes}
        job_file = self.jobs_dir / f"{job}.json"
        fd = os.open(job_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"results": str(results), "env": env, "sandbox": spec, "cells": cells,
                       "skip": sorted(skip), "mode": mode, "modules": self.modules}, fh)
        try:
            return self._watch(job, job_file, results, cells, cell_timeout, wall_timeout)
        finally:
            pid = self._running.pop(job, None)
            if pid:
                _kill(pid)
            if self.sandboxed:
                sandbox.kill_uid(uid)
                self._wait_exit(job, 10)
                sandbox.remove_cgroup(cgroup)
            for path in (job_file, results, Path(str(job_file) + ".err")):
                path.unlink(missing_ok=True)
            shutil.rmtree(workdir, ignore_errors=True)

    def _wait_exit(self, job: str, timeout: float):
        with self._cond:
            self._cond.wait_for(lambda: f"exit:{job}" in self._events or "eof" in self._events, timeout)
            return self._events.pop(f"exit:{job}", None)

    def _watch(self, job, job_file, results, cells, cell_timeout, wall_timeout) -> dict:
        with self._lock:
            self.proc.stdin.write(json.dumps({"job": job, "file": str(job_file)}) + "\n")
            self.proc.stdin.flush()
        start = time.monotonic()
        done: dict[int, CellOutcome] = {}
        current, cell_start, pid, interrupted_at = None, None, None, None
        finished, wall, problem = False, False, ""
        offset, pending = 0, b""
        exited = None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: f"exit:{job}" in self._events or "eof" in self._events, 0.02)
                exited = self._events.get(f"exit:{job}")
            try:
                with open(results, "rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read(MAX_RESULT_BYTES)
                offset += len(chunk)
            except OSError:
                chunk = b""
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if not isinstance(msg, dict):
                    continue
                event = msg.get("event")
                if event == "pid" and pid is None:
                    pid = int(msg["pid"])
                    self._running[job] = pid
                elif event == "cell":
                    current, cell_start, interrupted_at = int(msg["index"]), time.monotonic(), None
                elif event == "done" and isinstance(msg.get("index"), int) and 0 <= msg["index"] < len(cells):
                    index = msg["index"]
                    done[index] = CellOutcome(index, bool(msg.get("ok")), msg.get("error"), str(msg.get("output", "")),
                                              list(msg.get("flags", [])), list(msg.get("dropped", [])))
                    if interrupted_at is not None:
                        done[index].problem = f"interrompida após {cell_timeout:g} s (tempo limite por célula)"
                    current = None
                elif event == "end":
                    finished = True
            if offset > MAX_RESULT_BYTES:
                problem = "saída excessiva"
                break
            if finished or exited is not None or "eof" in self._events:
                if not finished:
                    err = Path(str(job_file) + ".err")
                    problem = _death_reason(exited, err)
                break
            now = time.monotonic()
            if now - start > wall_timeout:
                wall, problem = True, "tempo total esgotado"
                break
            if current is not None and pid and now - cell_start > cell_timeout:
                if interrupted_at is None:
                    interrupted_at = now
                    _signal(pid, signal.SIGINT)
                elif now - interrupted_at > INTERRUPT_GRACE:
                    problem = (f"passou do tempo limite de {cell_timeout:g} s e não parou ao ser interrompida "
                               "(laço infinito que ignora Ctrl+C?); processo encerrado")
                    break
        return {"done": done, "finished": finished, "current": current, "problem": problem, "wall": wall}


def _death_reason(exited: dict | None, err: Path) -> str:
    status = exited.get("status") if exited else None
    if err.is_file():
        text = err.read_text(errors="replace").strip().splitlines()
        return "o processo de correção falhou: " + (text[-1] if text else "?")
    if status is not None and (status < 0 or status > 128):
        sig = -status if status < 0 else status - 128
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return "o processo morreu (SIGKILL: limite de memória ou de CPU?)"
        return f"o processo morreu com o sinal {name}"
    if status in (137, 128 + 9):
        return "o processo morreu (SIGKILL: limite de memória ou de CPU?)"
    return f"o processo terminou no meio da célula (código {status}: os._exit, sys.exit em thread, falha?)"


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _kill(pid: int) -> None:
    """SIGKILL a worker: PID 1 of its namespace (takes all with it) or a session leader."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass
