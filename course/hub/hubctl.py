"""Admin command of the course hub (one machine, TLJH-style): settings, users, start/stop,
grading with the project's autograder, nbgitpuller links.

    python course/hub/hubctl.py [--settings FILE] prepare
    python course/hub/hubctl.py users add ROSTER.csv      # username,role (student|instructor)
    python course/hub/hubctl.py users remove ROSTER.csv
    python course/hub/hubctl.py start | stop | status
    python course/hub/hubctl.py grade ASSIGNMENT [--jobs N]
    python course/hub/hubctl.py link ASSIGNMENT

Run as root: it creates Unix users and groups, owns the exchange and the course root.
"""

from __future__ import annotations

import argparse
import csv
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_SETTINGS = HERE / "hub.toml"
BIN = Path(sys.executable).parent
ROLES = ("student", "instructor")


class HubError(Exception):
    """A clear, user-facing error of the admin command."""


# --------------------------------------------------------------------------- settings

def load_settings(path: str | os.PathLike | None = None) -> dict:
    """Defaults from hub.toml, overridden by ``path`` or $CNN_HUB_SETTINGS (same keys)."""
    settings = tomllib.loads(DEFAULT_SETTINGS.read_text())
    path = path or os.environ.get("CNN_HUB_SETTINGS")
    if path:
        override = tomllib.loads(Path(path).read_text())
        for section, values in override.items():
            if section not in settings or not isinstance(values, dict):
                raise HubError(f"settings {path}: unknown section [{section}]; "
                               f"expected one of {sorted(settings)}")
            unknown = set(values) - set(settings[section])
            if unknown:
                raise HubError(f"settings {path}: unknown keys {sorted(unknown)} in [{section}]; "
                               f"expected some of {sorted(settings[section])}")
            settings[section].update(values)
    settings["_path"] = str(path or DEFAULT_SETTINGS)
    return settings


def parse_memory(text: str | int) -> int:
    """'2G' / '512M' / bytes -> bytes."""
    if isinstance(text, int):
        return text
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    t = str(text).strip().upper()
    try:
        return int(float(t[:-1]) * units[t[-1]]) if t[-1] in units else int(t)
    except (ValueError, IndexError):
        raise ValueError(f"limits.mem must be bytes or a number with K/M/G/T. Received: {text!r}") from None


def state(settings: dict) -> Path:
    return Path(settings["hub"]["state_dir"])


def admin_token(settings: dict) -> str:
    """The API token of the 'course-admin' service (state_dir/admin-token, 0600)."""
    return (state(settings) / "admin-token").read_text().strip()


def hub_url(settings: dict) -> str:
    h = settings["hub"]
    return f"http://{h['ip']}:{h['port']}{h['base_url'].rstrip('/')}"


# --------------------------------------------------------------------------- prepare

def _group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True)
        return grp.getgrnam(name).gr_gid


def prepare(settings: dict) -> None:
    """Folders, groups, secrets and the jupyter/nbgrader config every user server reads."""
    c = settings["course"]
    st = state(settings)
    st.mkdir(parents=True, exist_ok=True)
    os.chmod(st, 0o700)
    for name in ("cookie_secret", "proxy-token", "admin-token"):
        p = st / name
        if not p.exists():
            p.write_text(secrets.token_hex(32) + "\n")
            os.chmod(p, 0o600)
    instructors = _group(c["instructors_group"])
    _group(c["students_group"])

    # nbgrader exchange: world-writable with the sticky bit (nbgrader's documented set-up;
    # nbgrader itself makes <course>/inbound 733 so students cannot list submissions).
    ex = Path(c["exchange"])
    ex.mkdir(parents=True, exist_ok=True)
    os.chmod(ex, 0o1777)

    # Course root: root:instructors, setgid, no access for others (students, TAs outside).
    root = Path(c["root"])
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, 0, instructors)
    os.chmod(root, 0o2770)
    (root / "nbgrader_config.py").write_text(
        '"""nbgrader configuration of the course hub (written by course/hub/hubctl.py)."""\n'
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
        "from autograder.nbconfig import configure\n\n"
        "c = get_config()  # noqa: F821\nconfigure(c)\n"
        f"c.Exchange.root = {str(ex)!r}\n"
        f"c.CourseDirectory.course_id = {c['id']!r}\n")
    # The committed student release is what instructors hand out.
    for a in c["assignments"]:
        src = REPO / "notebooks" / a
        if not src.is_dir():
            raise HubError(f"course.assignments: {a!r} has no release folder {src}")
        dest = root / "release" / a
        if not dest.exists():
            shutil.copytree(src, dest)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            os.chown(p, 0, instructors, follow_symlinks=False)
            os.chmod(p, 0o2770 if p.is_dir() else 0o660)

    # Jupyter config path shared by every server: the exchange and the course id.
    jcfg = st / "jupyter"
    jcfg.mkdir(exist_ok=True)
    os.chmod(st, 0o711)  # users traverse to jupyter/ only; secrets stay 0600
    os.chmod(jcfg, 0o755)
    (jcfg / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(ex)!r}\n"
        f"c.CourseDirectory.course_id = {c['id']!r}\n"
        "c.Exchange.path_includes_course = False\n")
    os.chmod(jcfg / "nbgrader_config.py", 0o644)

    data = Path(c["data_dir"])
    if not data.is_dir():
        print(f"WARNING: course.data_dir {data} does not exist: run "
              f"'CNNLIB_DATA={data} cnnlib prepare' (servers get CNNLIB_DATA={data})", file=sys.stderr)
    elif data.stat().st_uid == 0 and data.stat().st_mode & 0o022:
        print(f"WARNING: course.data_dir {data} is writable by group/others", file=sys.stderr)
    _check_interpreter()


def _check_interpreter() -> None:
    """Unprivileged users must be able to run this Python (not under /root, 0700)."""
    p = Path(os.path.realpath(sys.executable))
    for parent in [p, *p.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise HubError(
                f"users cannot run {p}: {parent} is not executable by others (mode "
                f"{oct(mode & 0o777)}). Install the environment under /opt or /usr "
                "(conda env create -p /opt/cnn-course -f environment.yml).")


# --------------------------------------------------------------------------- users

def read_roster(path: str | os.PathLike) -> list[tuple[str, str]]:
    """CSV with a header ``username,role``; role is student or instructor."""
    rows = []
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            name = (row.get("username") or "").strip()
            role = (row.get("role") or "student").strip()
            if not name or not name.replace("-", "").replace("_", "").isalnum() or not name[0].isalpha() \
                    or name != name.lower() or len(name) > 32:
                raise HubError(f"{path}:{i}: username must be a lowercase Unix name "
                               f"(letters, digits, - and _; starts with a letter). Received: {name!r}")
            if role not in ROLES:
                raise HubError(f"{path}:{i}: role must be one of {ROLES}. Received: {role!r}")
            rows.append((name, role))
    return rows


def add_users(settings: dict, roster: str) -> list[str]:
    c = settings["course"]
    prepare(settings)
    done = []
    for name, role in read_roster(roster):
        group = c["instructors_group"] if role == "instructor" else c["students_group"]
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash",
                            "--key", "HOME_MODE=0700", "--gid", group, name], check=True)
        subprocess.run(["usermod", "-a", "-G", group, name], check=True)
        pw = pwd.getpwnam(name)
        home = Path(pw.pw_dir)
        os.chmod(home, 0o700)
        jdir = home / ".jupyter"
        jdir.mkdir(exist_ok=True)
        os.chown(jdir, pw.pw_uid, pw.pw_gid)
        if role == "instructor":
            link = home / "course"
            if not link.is_symlink():
                link.symlink_to(c["root"])
            os.chown(link, pw.pw_uid, pw.pw_gid, follow_symlinks=False)
            cfg = jdir / "nbgrader_config.py"
            cfg.write_text("c = get_config()  # noqa: F821\n"
                           f"c.CourseDirectory.root = {str(link)!r}\n")
            os.chown(cfg, pw.pw_uid, pw.pw_gid)
        else:
            # Students: no formgrader / course list (their files are protected by
            # permissions anyway; this keeps the menus honest).
            cfg = jdir / "jupyter_server_config.json"
            cfg.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
                "nbgrader.server_extensions.formgrader": False,
                "nbgrader.server_extensions.course_list": False}}}, indent=1))
            os.chown(cfg, 0, 0)
            os.chmod(cfg, 0o644)
            labcfg = jdir / "labconfig"
            labcfg.mkdir(exist_ok=True)
            (labcfg / "page_config.json").write_text(json.dumps({"disabledExtensions": {
                "@jupyter/nbgrader:create-assignment": True,
                "@jupyter/nbgrader:formgrader": True,
                "@jupyter/nbgrader:course-list": True,
                "@jupyterlab/apputils-extension:announcements": True}}, indent=1))
        done.append(name)
    return done


def remove_users(settings: dict, roster: str) -> list[str]:
    done = []
    for name, _ in read_roster(roster):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", "--remove", name], check=False,
                       stderr=subprocess.DEVNULL)
        done.append(name)
    return done


# --------------------------------------------------------------------------- start/stop

def _pid(settings: dict) -> int | None:
    try:
        pid = int((state(settings) / "jupyterhub.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(settings: dict, wait: float = 120.0) -> int:
    if _pid(settings):
        raise HubError(f"the hub is already running (pid {_pid(settings)}); 'hubctl stop' first")
    prepare(settings)
    st = state(settings)
    chp = BIN / "configurable-http-proxy"
    if not chp.exists() and not shutil.which("configurable-http-proxy"):
        raise HubError("configurable-http-proxy not found: run scripts/install-hub-deps.sh")
    env = dict(os.environ, CNN_HUB_SETTINGS=settings["_path"],
               PATH=f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    log = open(st / "jupyterhub.log", "ab")
    proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(HERE / "jupyterhub_config.py")],
                            cwd=st, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    (st / "jupyterhub.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + wait
    url = hub_url(settings) + "/hub/api/"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HubError(f"jupyterhub exited with {proc.returncode}; see {st / 'jupyterhub.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc.pid
        except OSError:
            time.sleep(0.3)
    stop(settings)
    raise HubError(f"the hub did not answer on {url} within {wait:.0f} s; see {st / 'jupyterhub.log'}")


def stop(settings: dict, wait: float = 30.0) -> bool:
    """SIGTERM the hub (it stops the user servers and the proxy it started), then the group."""
    pid = _pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            time.sleep(0.2)
        except OSError:
            break
    try:
        os.killpg(pid, signal.SIGKILL)  # anything left in the hub's session (proxy)
    except OSError:
        pass
    (state(settings) / "jupyterhub.pid").unlink(missing_ok=True)
    _remove_empty_server_cgroups()
    return True


def _remove_empty_server_cgroups(wait: float = 10.0) -> None:
    """rmdir the per-server cgroups (``jupyterhub-<user>``, v1 or v2) once their processes
    have exited: the spawner removes them on a clean stop, not when the hub is killed."""
    deadline = time.monotonic() + wait
    while True:
        left = [p for p in Path("/sys/fs/cgroup").glob("*jupyterhub-*") if p.is_dir()]
        left += [p for p in Path("/sys/fs/cgroup").glob("*/jupyterhub-*") if p.is_dir()]
        for path in left:
            try:
                path.rmdir()  # fails while a process is still in it
            except OSError:
                pass
        if not any(p.exists() for p in left) or time.monotonic() > deadline:
            return
        time.sleep(0.2)


# --------------------------------------------------------------------------- grading

def grade(settings: dict, assignment: str, jobs: int | None = None) -> int:
    """Grade what nbgrader collected (<root>/submitted/<student>/<A>/) with the project's
    autograder (sandboxed, parallel), into the course root's gradebook and feedback/."""
    c = settings["course"]
    root = Path(c["root"])
    submitted = sorted(p for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())
    if not submitted:
        raise HubError(f"nothing collected for {assignment!r} in {root / 'submitted'}: "
                       "collect first (formgrader or 'nbgrader collect')")
    with tempfile.TemporaryDirectory(prefix=f"hub-grade-{assignment}-") as tmp:
        for p in submitted:
            shutil.copytree(p, Path(tmp) / p.parent.name)
        cmd = [str(BIN / "autograder"), "--root", str(REPO), "--course-dir", str(root),
               "grade", assignment, tmp]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        # The grader records nbgrader's timestamp.txt of each collected submission in the
        # gradebook and copies it and submission_secret.txt to autograded/ and feedback/
        # (as nbgrader autograde does), so the formgrader and release_feedback work.
        rc = subprocess.run(cmd, cwd=REPO).returncode
    instructors = grp.getgrnam(c["instructors_group"]).gr_gid
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            if not p.is_symlink():
                os.chown(p, -1, instructors)
                mode = (p.stat().st_mode & 0o777) | (0o2770 if p.is_dir() else 0o660)
                if "feedback" in p.relative_to(root).parts[:1]:
                    # release_feedback copies these into the exchange under a secret
                    # name; students must be able to read their own copy there.
                    mode |= 0o005 if p.is_dir() else 0o004
                os.chmod(p, mode)
    return rc


def nbgitpuller_link(settings: dict, assignment: str) -> str:
    g = settings["nbgitpuller"]
    query = urllib.parse.urlencode({
        "repo": g["repo"], "branch": g["branch"],
        "urlpath": f"lab/tree/{Path(g['repo']).name}/notebooks/{assignment}/{assignment}.ipynb"})
    return f"{hub_url(settings)}/hub/user-redirect/git-pull?{query}"


# --------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hubctl", description=__doc__.split("\n")[0])
    ap.add_argument("--settings", help="settings TOML (default: $CNN_HUB_SETTINGS or course/hub/hub.toml)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    u = sub.add_parser("users")
    u.add_argument("action", choices=["add", "remove"])
    u.add_argument("roster")
    sub.add_parser("start")
    sub.add_parser("stop")
    sub.add_parser("status")
    g = sub.add_parser("grade")
    g.add_argument("assignment")
    g.add_argument("--jobs", type=int)
    lk = sub.add_parser("link")
    lk.add_argument("assignment")
    args = ap.parse_args(argv)
    try:
        settings = load_settings(args.settings)
        if args.settings:
            settings["_path"] = str(Path(args.settings).resolve())
        if args.cmd != "link" and os.geteuid() != 0:
            raise HubError("hubctl must run as root (it manages Unix users and the hub)")
        if args.cmd == "prepare":
            prepare(settings)
        elif args.cmd == "users":
            fn = add_users if args.action == "add" else remove_users
            print(" ".join(fn(settings, args.roster)))
        elif args.cmd == "start":
            pid = start(settings)
            print(f"hub running (pid {pid}) on {hub_url(settings)}/")
        elif args.cmd == "stop":
            print("stopped" if stop(settings) else "not running")
        elif args.cmd == "status":
            pid = _pid(settings)
            print(f"running (pid {pid})" if pid else "not running")
            return 0 if pid else 3
        elif args.cmd == "grade":
            return grade(settings, args.assignment, args.jobs)
        elif args.cmd == "link":
            print(nbgitpuller_link(settings, args.assignment))
    except (HubError, ValueError) as e:
        print(f"hubctl: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
