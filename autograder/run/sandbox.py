"""A sandbox per submission, without Docker: Linux namespaces, an unprivileged uid from a
pool, resource limits and a memory cgroup, set up in a process forked from the warm
fork server (``autograder.run.zygote``).

As root, one submission runs as:

- a fresh **network** namespace (no interface up: no TCP, not even to loopback), a
  **PID** namespace (the submission is PID 1 there: killing it kills every descendant,
  ``setsid``/double fork cannot escape), IPC and UTS namespaces;
- a private **mount** namespace where the course files are hidden under empty tmpfs
  mounts: the course root (gradebook, sources with hidden tests, other submissions,
  feedback), solutions/, the mutants and samples, the repository's .git and tests, the
  submissions folder, every sibling of the repository, /root, /home, /tmp, /var/tmp,
  /dev/shm; a new /proc shows only the sandbox's processes; the course data directory
  is bind-mounted read-only at /mnt/cnnlib-data;
- an unprivileged **uid/gid** from a pool (no groups, ``no_new_privs``), working in a
  scratch folder (mode 700, random name) that holds only that student's files and the
  assignment's files;
- **limits**: memory (a cgroup v1/v2 limit when available, otherwise RLIMIT_AS above the
  warm process' size), CPU seconds, processes, file size (caps every file and the result
  stream), open files, no core dumps.

Not root (a TA's laptop): the submission runs as the grader's own user with only the
rlimits, and :func:`missing_protections` names every protection that is missing; the
grader prints it loudly before grading.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import os
import resource
import sys
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
UID_BASE = 61000  # pool of sandbox uids: UID_BASE .. UID_BASE + POOL_SIZE - 1 (no passwd entry needed)
POOL_SIZE = 64
STATE_DIR = Path("/var/lib/autograder")
DATA_MOUNT = "/mnt/cnnlib-data"

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


@dataclasses.dataclass
class Limits:
    """Per-submission resource limits."""

    memory_bytes: int = 3 * 2**30
    cpu_seconds: int = 900
    processes: int = 512  # threads count too (TensorFlow starts a pool per process)
    file_bytes: int = 64 * 2**20
    open_files: int = 1024


def is_root() -> bool:
    return os.geteuid() == 0


def missing_protections() -> list[str]:
    """What the sandbox cannot do here (empty: full protection)."""
    if not is_root():
        return [
            "sem usuário separado: o código do aluno roda como o seu usuário e pode ler/escrever "
            "tudo o que você pode (testes ocultos, gabarito, gradebook, outras submissões)",
            "sem namespace de rede: o código do aluno tem acesso à rede",
            "sem namespace de montagem: os arquivos do curso ficam visíveis",
            "sem namespace de PID: processos em segundo plano (setsid) podem sobreviver à correção",
            "sem cgroup de memória: só RLIMIT_AS limita a memória",
        ]
    missing = []
    if memory_cgroup_parent() is None:
        missing.append("sem cgroup de memória: a memória é limitada por RLIMIT_AS")
    return missing


def memory_cgroup_parent() -> Path | None:
    """A writable cgroup folder (v1 memory controller or v2) under which we may create one."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory") / rel.lstrip("/")
            if (base / "memory.limit_in_bytes").exists() and os.access(base, os.W_OK):
                return base
    for line in lines:
        if line.startswith("0::"):
            base = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
            if (base / "cgroup.controllers").exists() and "memory" in (base / "cgroup.controllers").read_text() \
                    and os.access(base, os.W_OK):
                return base
    return None


def make_memory_cgroup(name: str, limit: int) -> Path | None:
    """Create a memory cgroup with ``limit`` bytes (swap included where possible)."""
    parent = memory_cgroup_parent()
    if parent is None:
        return None
    path = parent / name
    try:
        path.mkdir(exist_ok=True)
        if (path / "memory.limit_in_bytes").exists():
            (path / "memory.limit_in_bytes").write_text(str(limit))
            try:
                (path / "memory.memsw.limit_in_bytes").write_text(str(limit))
            except OSError:
                pass
        else:
            (path / "memory.max").write_text(str(limit))
            try:
                (path / "memory.swap.max").write_text("0")
            except OSError:
                pass
        return path
    except OSError:
        return None


def remove_cgroup(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.rmdir()
    except OSError:
        pass


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(libc().mount(source and source.encode(), str(target).encode(), fstype and fstype.encode(),
                        flags, data and data.encode()), f"mount {target}")


def _hide(path: Path) -> bool:
    """Cover a folder with an empty tmpfs (files: with /dev/null); True for a folder."""
    if path.is_dir() and not path.is_symlink():
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        return True
    if path.is_file():
        _mount("/dev/null", path, None, MS_BIND)
    return False


def _seal(path: Path) -> None:
    _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def keep_paths(repo: Path | None = None, visible: list[str] = ()) -> list[Path]:
    """Folders the worker needs even when they sit under a hidden one (pyenv's Python
    under /root, a checkout under /tmp): the interpreter's prefixes and the repository's
    visible entries (.venv, cnnlib, autograder...), not sys.path (it holds the server's
    working folder, the job folder)."""
    out = []
    for p in [sys.base_prefix, sys.prefix]:
        if p and Path(p).is_dir():
            out.append(Path(p).resolve())
    if repo is not None:
        out += [repo / name for name in visible if (repo / name).is_dir()]
    return out


def hidden_paths(repo: Path, hide: list[str], visible: list[str]) -> list[Path]:
    """Folders to cover: ``hide`` + siblings of the repo + repo entries not in ``visible``."""
    out = [Path(p) for p in hide]
    for folder, keep in ((repo.parent, {repo.name}), (repo, set(visible))):
        try:
            out += [p for p in folder.iterdir() if p.name not in keep]
        except OSError:
            pass
    out += [Path(p) for p in ("/root", "/home", "/tmp", "/var/tmp", "/dev/shm", "/srv", "/opt/conda/pkgs")]
    seen, result = set(), []
    for p in out:
        if str(p) not in seen and p.exists():
            seen.add(str(p))
            result.append(p)
    return result


def enter_namespaces() -> None:
    """In the forked child (root): new namespaces; the next fork is PID 1 of the new one."""
    libc().prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    _check(libc().unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")


def setup_inside(spec: dict) -> None:
    """In PID 1 of the new namespaces (still root): mounts, limits, then drop to the uid.

    ``spec``: workdir, uid, data_dir, repo, hide, visible, limits (Limits fields),
    rlimit_as (bytes or None).
    """
    libc().prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    data = spec.get("data_dir")
    mnt = Path("/mnt")
    _mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    if data and Path(data).is_dir():
        Path(DATA_MOUNT).mkdir()
        _mount(data, DATA_MOUNT, None, MS_BIND | MS_REC)
        _mount(None, DATA_MOUNT, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    workdir = Path(spec["workdir"])
    hidden = [p for p in hidden_paths(Path(spec["repo"]), spec.get("hide", []), spec.get("visible", []))
              if not (workdir == p or p in workdir.parents)]
    # Folders needed under a hidden one: bind them aside first, back in place after hiding.
    keep = []
    for k in keep_paths(Path(spec["repo"]), spec.get("visible", [])):
        if any(h == k or h in k.parents for h in hidden) and not any(k2 in k.parents or k2 == k for k2, _ in keep):
            stage = mnt / f"keep{len(keep)}"
            stage.mkdir()
            _mount(str(k), stage, None, MS_BIND | MS_REC)
            keep.append((k, stage))
    covered = []
    for path in hidden:
        try:
            if _hide(path):
                covered.append(path)
        except OSError:
            pass
    for k, stage in keep:
        try:
            k.mkdir(parents=True, exist_ok=True)
            _mount(str(stage), k, None, MS_BIND | MS_REC)
            _mount(None, k, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        except OSError:
            pass
    # A kept folder was staged before the hiding: cover again what must stay hidden in it
    # (autograder/mutants and autograder/samples when the checkout itself is under /tmp).
    for path in hidden:
        if any(k in path.parents for k, _ in keep):
            try:
                if _hide(path):
                    covered.append(path)
            except OSError:
                pass
    for path in covered:
        try:
            _seal(path)
        except OSError:
            pass
    apply_limits(spec["limits"], spec.get("rlimit_as"))
    uid = int(spec["uid"])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.chdir(workdir)


def apply_limits(limits: dict, rlimit_as: int | None) -> None:
    """Set the rlimits of this process (inherited by its children)."""
    pairs = [
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if rlimit_as:
        pairs.append((resource.RLIMIT_AS, rlimit_as))
    for what, value in pairs:
        try:
            resource.setrlimit(what, (value, value))
        except (ValueError, OSError):
            pass


def vm_size_of(pid: int | str = "self") -> int:
    """A process' virtual memory size in bytes (0 if unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pool_uid(slot: int) -> int:
    return UID_BASE + slot % POOL_SIZE


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (belt and braces after the PID namespace)."""
    import psutil

    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real == uid:
                proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def python_paths() -> list[str]:
    return [p for p in sys.path if p]
