"""The course hub for real: configurable-http-proxy + JupyterHub on loopback, real Unix
users, nbgrader's server extensions, the project's autograder, an LTI 1.1 launch and a
headless chromium. One hub for the whole module; everything removed afterwards."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HUBDIR = ROOT / "course" / "hub"
sys.path.insert(0, str(HUBDIR))
import hubctl  # noqa: E402

BIN = Path(sys.executable).parent
A = "01-convolucao"
SAMPLES = ROOT / "autograder" / "samples" / A
ARTEFACTS = ROOT / "build" / "test-artefacts"

import requests  # noqa: E402

if os.geteuid() != 0 or not shutil.which("useradd"):
    # Only where the set-up cannot create users at all (not root); as root (CI) every
    # missing piece below is a failure, never a skip.
    pytest.skip("the hub tests create Unix users: run as root", allow_module_level=True)


@pytest.fixture(scope="module", autouse=True)
def _hub_dependencies_installed():
    missing = [name for name, ok in [
        ("configurable-http-proxy", (BIN / "configurable-http-proxy").exists()),
        ("chromium", shutil.which("chromium") is not None)] if not ok]
    assert not missing, f"{missing} missing: run scripts/install-hub-deps.sh as root (make setup does)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _traverse_grants() -> list[tuple[Path, int]]:
    """o+x on the interpreter's parents that lack it (pyenv under /root); restored later."""
    out = []
    real = Path(os.path.realpath(sys.executable))
    for parent in real.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            out.append((parent, stat.S_IMODE(mode)))
            os.chmod(parent, stat.S_IMODE(mode) | 0o001)
    return out


class Hub:
    def __init__(self, base: Path, tag: str):
        self.base = base
        self.tag = tag
        self.instructor = f"prof{tag}"
        self.students = {k: f"{k[:3]}{tag}" for k in ("perfect", "buggy", "untouched")}
        self.users = [self.instructor, *self.students.values()]
        self.settings_path = base / "hub.toml"
        self.lti_key, self.lti_secret = f"moodle-{tag}", secrets.token_hex(16)
        ports = [free_port() for _ in range(3)]
        self.settings_path.write_text(f"""
[hub]
port = {ports[0]}
hub_port = {ports[1]}
proxy_api_port = {ports[2]}
state_dir = "{base / 'state'}"
[course]
root = "{base / 'course'}"
exchange = "{base / 'exchange'}"
data_dir = "{base / 'data'}"
instructors_group = "cnni{tag}"
students_group = "cnns{tag}"
assignments = ["{A}"]
[limits]
mem = "3G"
cpu = 1.0
[auth]
admin_users = []
[lti]
consumers = {{ "{self.lti_key}" = "{self.lti_secret}" }}
username_key = "ext_user_username"
""")
        self.settings = hubctl.load_settings(self.settings_path)
        self.url = hubctl.hub_url(self.settings)
        self.tokens: dict[str, str] = {}

    def ctl(self, *args, check=True):
        r = subprocess.run([sys.executable, str(HUBDIR / "hubctl.py"), "--settings",
                            str(self.settings_path), *args], capture_output=True, text=True)
        if check:
            assert r.returncode == 0, f"hubctl {args}: esperado rc 0, obtido {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def admin(self, method, path, **kw):
        h = {"Authorization": f"token {hubctl.admin_token(self.settings)}"}
        r = requests.request(method, f"{self.url}/hub/api{path}", headers=h, timeout=60, **kw)
        assert r.status_code < 400, f"{method} {path}: esperado 2xx, obtido {r.status_code}: {r.text[:500]}"
        return r

    def user_api(self, user, method, path, **kw):
        h = {"Authorization": f"token {self.tokens[user]}"}
        r = requests.request(method, f"{self.url}/user/{user}{path}", headers=h, timeout=120, **kw)
        assert r.status_code < 400, f"{user} {method} {path}: esperado 2xx, obtido {r.status_code}: {r.text[:500]}"
        return r

    def spawn_all(self):
        for u in self.users:
            self.admin("POST", f"/users/{u}")
            self.tokens[u] = self.admin("POST", f"/users/{u}/tokens", json={"note": "test"}).json()["token"]
            self.admin("POST", f"/users/{u}/server")
        deadline = time.monotonic() + 240
        pending = set(self.users)
        while pending and time.monotonic() < deadline:
            for u in list(pending):
                server = self.admin("GET", f"/users/{u}").json()["servers"].get("", {})
                if server.get("ready"):
                    pending.discard(u)
            time.sleep(0.5)
        assert not pending, f"servidores não ficaram prontos: {sorted(pending)}; veja {self.base / 'state'}"

    def server_pid(self, user) -> int:
        out = subprocess.run(["pgrep", "-u", user, "-f", "jupyterhub-singleuser"],
                             capture_output=True, text=True).stdout.split()
        assert out, f"nenhum jupyterhub-singleuser do usuário {user}"
        return int(out[0])


@pytest.fixture(scope="module")
def hub():
    base = Path(tempfile.mkdtemp(prefix="cnnhub-", dir="/tmp"))
    os.chmod(base, 0o755)
    grants = _traverse_grants()
    h = Hub(base, secrets.token_hex(2))
    data = base / "data"
    data.mkdir()
    (data / "MANIFEST").write_text("course data\n")
    roster = base / "roster.csv"
    roster.write_text("username,role\n" + f"{h.instructor},instructor\n"
                      + "".join(f"{s},student\n" for s in h.students.values()))
    try:
        h.ctl("users", "add", str(roster))
        h.ctl("start")
        yield h
    finally:
        h.ctl("stop", check=False)
        log = base / "state" / "jupyterhub.log"
        if log.exists():
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(log, ARTEFACTS / "jupyterhub.log")
        h.ctl("users", "remove", str(roster), check=False)
        for g in (f"cnni{h.tag}", f"cnns{h.tag}"):
            subprocess.run(["groupdel", g], stderr=subprocess.DEVNULL)
        for path, mode in grants:
            os.chmod(path, mode)
        shutil.rmtree(base, ignore_errors=True)
        leftovers = [u for u in h.users if _user_exists(u)]
        leftovers += [f"porta {port} aberta" for port in (h.settings["hub"]["port"], h.settings["hub"]["hub_port"],
                                                           h.settings["hub"]["proxy_api_port"]) if _port_open(port)]
        leftovers += [p for p in Path("/sys/fs/cgroup/cpu").glob("jupyterhub-*") if h.tag in p.name]
        assert not leftovers, f"limpeza incompleta: {leftovers}"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", int(port))) == 0


def test_users_groups_and_limits(hub):
    for u in hub.users:
        home = Path(pwd.getpwnam(u).pw_dir)
        assert stat.S_IMODE(home.stat().st_mode) == 0o700, f"home de {u} deveria ser 0700"
    hub.spawn_all()
    s = hub.students["perfect"]
    pid = hub.server_pid(s)
    env = dict(kv.split("=", 1) for kv in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in kv)
    assert env.get("CNNLIB_DATA") == str(hub.base / "data"), f"CNNLIB_DATA: obtido {env.get('CNNLIB_DATA')}"
    assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam(s).pw_uid, "o servidor deve rodar como o aluno"
    cg = Path(f"/proc/{pid}/cgroup").read_text()
    assert f"jupyterhub-{s}" in cg, f"servidor fora do cgroup do usuário:\n{cg}"
    mem = next(line.split(":", 2)[2] for line in cg.splitlines() if ":memory:" in line)
    limit = int(Path(f"/sys/fs/cgroup/memory{mem}/memory.limit_in_bytes").read_text())
    assert limit == 3 * 2**30, f"limite de memória: esperado {3 * 2**30}, obtido {limit}"
    cpu = next(line.split(":", 2)[2] for line in cg.splitlines() if ":cpu:" in line or ":cpu," in line)
    quota = int(Path(f"/sys/fs/cgroup/cpu{cpu}/cpu.cfs_quota_us").read_text())
    assert quota == 100000, f"cota de CPU (1 CPU): esperado 100000 us, obtido {quota}"
    # The idle culler runs as a hub service.
    services = hub.admin("GET", "/services").json()
    assert "idle-culler" in services, f"serviço idle-culler ausente: {sorted(services)}"
    assert subprocess.run(["pgrep", "-f", "jupyterhub_idle_culler"], capture_output=True).returncode == 0, \
        "o processo do idle-culler não está rodando"
    # Data: readable, not writable, by a student.
    r = subprocess.run(["runuser", "-u", s, "--", "sh", "-c",
                        f"cat {hub.base}/data/MANIFEST && touch {hub.base}/data/x"], capture_output=True, text=True)
    assert r.stdout == "course data\n" and r.returncode != 0, f"dados devem ser só leitura: {r}"


def test_release_fetch_submit_collect_grade_feedback(hub):
    if not hub.tokens:
        hub.spawn_all()
    cid = hub.settings["course"]["id"]
    i = hub.instructor
    r = hub.user_api(i, "POST", f"/formgrader/api/assignment/{A}/release").json()
    assert r["success"], f"release falhou: {r}"
    s0 = hub.students["perfect"]
    r = requests.get(f"{hub.url}/user/{s0}/formgrader/api/assignments",
                     headers={"Authorization": f"token {hub.tokens[s0]}"}, timeout=60)
    assert r.status_code == 404, f"alunos não têm formgrader: esperado 404, obtido {r.status_code}"
    for kind, s in hub.students.items():
        listed = hub.user_api(s, "GET", "/assignments", params={"course_id": cid}).json()
        assert listed["success"], listed
        assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(A, "released")], listed
        r = hub.user_api(s, "POST", "/assignments/fetch", data={"course_id": cid, "assignment_id": A}).json()
        assert r["success"], f"fetch de {s}: {r}"
        if kind != "untouched":
            nb = json.loads((SAMPLES / kind / f"{A}.ipynb").read_text())
            hub.user_api(s, "PUT", f"/api/contents/{A}/{A}.ipynb",
                         json={"type": "notebook", "format": "json", "content": nb})
        r = hub.user_api(s, "POST", "/assignments/submit", data={"course_id": cid, "assignment_id": A}).json()
        assert r["success"], f"submit de {s}: {r}"

    # Permissions: no student lists the inbound folder or reads another's work.
    p, b = hub.students["perfect"], hub.students["buggy"]
    inbound = hub.base / "exchange" / cid / "inbound"
    for cmd in (["ls", str(inbound)], ["cat", f"/home/{p}/{A}/{A}.ipynb"], ["ls", str(hub.base / "course")]):
        r = subprocess.run(["runuser", "-u", b, "--", *cmd], capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr, f"{b} não deveria conseguir {cmd}: {r}"
    subs = [x for x in os.listdir(inbound)]
    assert len(subs) == 3, f"3 entregas esperadas em inbound, obtidas {subs}"
    mode = stat.S_IMODE(inbound.stat().st_mode)
    assert mode & 0o004 == 0, f"inbound não pode ser listável por outros: modo {oct(mode)}"

    r = hub.user_api(i, "POST", f"/formgrader/api/assignment/{A}/collect").json()
    assert r["success"], f"collect: {r}"
    t0 = time.monotonic()
    g = hub.ctl("grade", A, "--jobs", "2")
    print(f"grading 3 submissions: {time.monotonic() - t0:.1f} s\n{g.stdout[-2000:]}")

    subs = hub.user_api(i, "GET", f"/formgrader/api/submissions/{A}").json()
    scores = {x["student"]: (x["score"], x["max_score"]) for x in subs}
    got = {k: scores.get(s) for k, s in hub.students.items()}
    grades_csv = hub.base / "course" / "grades.csv"
    grades_csv = grades_csv.read_text() if grades_csv.exists() else ""
    print(f"formgrader: {got}\ngrades.csv:\n{grades_csv}")
    assert got["perfect"] == (20, 20), f"perfeito: esperado 20/20, obtido {got}"
    assert 0 < got["buggy"][0] < 20, f"com erro: esperado entre 0 e 20, obtido {got}"
    assert got["untouched"][0] == 0, f"intocado: esperado 0, obtido {got}"

    r = hub.user_api(i, "POST", f"/formgrader/api/assignment/{A}/release_feedback").json()
    assert r["success"], f"release_feedback: {r}"
    for kind, s in hub.students.items():
        r = hub.user_api(s, "POST", "/assignments/fetch_feedback", data={"course_id": cid, "assignment_id": A}).json()
        assert r["success"], f"fetch_feedback de {s}: {r}"
        fb = list(Path(f"/home/{s}/{A}/feedback").glob(f"*/{A}.html"))
        assert len(fb) == 1, f"feedback de {s}: esperado 1 arquivo, obtido {fb}"
        assert f"{A}" in fb[0].read_text(), fb[0]


def _signup_and_login(page, hub, user):
    """NativeAuthenticator's sign-up form, then JupyterHub's login form, as a person would."""
    password = "senha-" + secrets.token_hex(6)
    page.goto(f"{hub.url}/hub/signup")
    page.fill("input[name=username]", user)
    page.fill("input[name=signup_password]", password)
    page.fill("input[name=signup_password_confirmation]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state()
    text = page.inner_text("body")
    assert "signup was successful" in text, f"cadastro não confirmado: {text[:500]}"
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"**/user/{user}/lab**")


def test_browser_student_signs_up_logs_in_sees_assignments_opens_notebook(hub):
    """Debian's chromium, driven by playwright: sign-up, login, assignment list, notebook."""
    from playwright.sync_api import sync_playwright

    s = hub.students["untouched"]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shots = {k: ARTEFACTS / f"hub-{k}.png" for k in ("assignments", "notebook")}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"),
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(90_000)
            visited = []
            page.on("framenavigated", lambda f: visited.append(f.url) if f == page.main_frame else None)
            page.on("requestfailed", lambda r: visited.append(f"FAILED {r.url} {r.failure}"))
            _signup_and_login(page, hub, s)
            page.wait_for_selector(".jp-LabShell", state="attached")
            page.get_by_text("Nbgrader", exact=True).first.click()
            page.get_by_text("Assignment List", exact=True).first.click()
            page.wait_for_selector(f"text={A}")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(shots["assignments"]))
            body = page.inner_text("body")
            assert A in body, f"lista de tarefas sem {A}: {body[:800]}"
            page.goto(f"{hub.url}/user/{s}/lab/tree/{A}/{A}.ipynb")
            page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
            page.wait_for_timeout(2500)
            page.screenshot(path=str(shots["notebook"]))
            cells = page.locator(".jp-Notebook .jp-Cell").count()
            assert cells > 10, f"o notebook deveria mostrar as células, obtidas {cells}"
            if (hub.base / "course" / "grades.csv").exists():  # after the end-to-end test
                ipage = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                ipage.set_default_timeout(90_000)
                _signup_and_login(ipage, hub, hub.instructor)
                ipage.goto(f"{hub.url}/user/{hub.instructor}/formgrader/manage_submissions/{A}")
                ipage.wait_for_selector(f"text={hub.students['buggy']}", state="attached")
                ipage.wait_for_timeout(1500)
                shots["formgrader"] = ARTEFACTS / "hub-formgrader.png"
                ipage.screenshot(path=str(shots["formgrader"]))
                text = ipage.inner_text("body")
                assert all(x in text for x in hub.students.values()), f"formgrader sem os alunos: {text[:800]}"
        except Exception:
            page.screenshot(path=str(ARTEFACTS / "hub-failure.png"))
            print("navegação:", visited)
            raise
        finally:
            browser.close()
    for k, p in shots.items():
        assert p.stat().st_size > 10_000, f"captura {p} vazia"


def _lti_launch(hub, username, secret, key=None):
    """An LTI 1.1 basic launch as Moodle sends it, OAuth 1.0a HMAC-SHA1 signed in the body."""
    from oauthlib.oauth1 import SIGNATURE_TYPE_BODY, Client

    url = f"{hub.url}/hub/lti/launch"
    params = {
        "lti_message_type": "basic-lti-launch-request", "lti_version": "LTI-1p0",
        "resource_link_id": "cnn-01", "context_id": "redes-convolucionais", "roles": "Learner",
        "user_id": "moodle-4242", "ext_user_username": username,
        "lis_person_name_full": "Aluna de Teste",
    }
    client = Client(key or hub.lti_key, client_secret=secret, signature_type=SIGNATURE_TYPE_BODY)
    _, headers, body = client.sign(url, http_method="POST", body=params,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    session = requests.Session()
    r = session.post(url, data=body, headers=headers, allow_redirects=False, timeout=60)
    return session, r


def test_lti11_launch_logs_a_roster_student_in(hub):
    s = hub.students["buggy"]
    session, r = _lti_launch(hub, s, hub.lti_secret)
    assert r.status_code == 302, f"lançamento LTI: esperado 302, obtido {r.status_code}: {r.text[:300]}"
    home = session.get(f"{hub.url}/hub/home", timeout=60, allow_redirects=False)
    assert home.status_code == 200 and s in home.text, \
        f"após o LTI, /hub/home deveria mostrar {s}: {home.status_code} {home.text[:300]}"

    # A wrong signature, or a name that is not on the roster, logs nobody in.
    bad_session, bad = _lti_launch(hub, s, "segredo-errado")
    assert bad.status_code in (401, 403), f"assinatura errada: esperado 401/403, obtido {bad.status_code}"
    assert bad_session.get(f"{hub.url}/hub/home", allow_redirects=False, timeout=60).status_code == 302
    stranger_session, _ = _lti_launch(hub, "naoexiste" + hub.tag, hub.lti_secret)
    r = stranger_session.get(f"{hub.url}/hub/home", allow_redirects=False, timeout=60)
    assert r.status_code == 302 and "/hub/login" in r.headers["Location"], \
        f"fora da lista: não deveria entrar; obtido {r.status_code} {r.headers.get('Location')}"
    users = [u["name"] for u in hub.admin("GET", "/users").json()]
    assert "naoexiste" + hub.tag not in users, f"usuário fora da lista criado no hub: {users}"
