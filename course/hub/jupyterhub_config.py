"""JupyterHub configuration of the course hub (one machine, in the spirit of TLJH).

Everything comes from one settings file (course/hub/hub.toml, or $CNN_HUB_SETTINGS); start
it with ``python course/hub/hubctl.py start``. Real Unix users from the roster, servers
spawned as those users (LocalProcessSpawner) inside a memory + CPU cgroup, nbgrader
exchange and course root from the settings, the idle culler as a hub service, login by
NativeAuthenticator and LTI 1.1 (Moodle/Canvas) together.
"""

import grp
import os
import pwd
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hubctl  # noqa: E402
from jupyterhub.spawner import LocalProcessSpawner  # noqa: E402
from ltiauthenticator.lti11.auth import LTI11Authenticator  # noqa: E402
from ltiauthenticator.lti11.handlers import LTI11AuthenticateHandler, LTI11ConfigHandler  # noqa: E402
from nativeauthenticator import NativeAuthenticator  # noqa: E402
from traitlets import Dict, Unicode  # noqa: E402

S = hubctl.load_settings()
H, C, L = S["hub"], S["course"], S["limits"]
STATE = Path(H["state_dir"])
BIN = Path(sys.executable).parent


def roster_role(name: str) -> str | None:
    """'instructor' / 'student' from the Unix groups hubctl manages, None if not on the roster."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return None
    for role, group in (("instructor", C["instructors_group"]), ("student", C["students_group"])):
        try:
            g = grp.getgrnam(group)
        except KeyError:
            continue
        if name in g.gr_mem or pw.pw_gid == g.gr_gid:
            return role
    return None


class CourseAuthenticator(NativeAuthenticator):
    """NativeAuthenticator (sign-up once, password) plus LTI 1.1 launches, for roster users only."""

    lti_consumers = Dict(config=True, help="LTI 1.1 consumer key -> secret")
    lti_username_key = Unicode("ext_user_username", config=True)

    def get_handlers(self, app):
        # nativeauthenticator 1.3.0's own /login handler uses JupyterHub internals that
        # 6.x removed (handler.statsd): JupyterHub's login page is used instead (same
        # form fields); sign-up, approval and password change stay native.
        native = [(p, h) for p, h in super().get_handlers(app) if p != r"/login"]
        return native + [
            (r"/lti/launch", LTI11AuthenticateHandler),
            (r"/lti11/config", LTI11ConfigHandler),
        ]

    def _lti(self):
        return LTI11Authenticator(parent=self, consumers=self.lti_consumers,
                                  username_key=self.lti_username_key)

    def get_uri_scheme(self, request):  # used by LTI11ConfigHandler
        return self._lti().get_uri_scheme(request)

    config_description = "Redes Convolucionais: JupyterHub"
    config_icon = ""
    config_title = "Redes Convolucionais"

    async def authenticate(self, handler, data=None):
        if isinstance(handler, LTI11AuthenticateHandler):
            if not self.lti_consumers:
                self.log.warning("LTI launch refused: no [lti] consumers in the settings")
                return None
            return await self._lti().authenticate(handler, data)
        return await super().authenticate(handler, data)

    def check_allowed(self, username, authentication=None):
        return roster_role(username) is not None


class CgroupSpawner(LocalProcessSpawner):
    """LocalProcessSpawner that puts each server in a cgroup (v1 or v2) with mem_limit and
    cpu_limit *enforced* by the kernel: LocalProcessSpawner alone ignores both."""

    def _cgroup_dirs(self):
        name = f"jupyterhub-{self.user.name}"
        out = []
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, rel = line.split(":", 2)
            ctrls = ctrls.split(",")
            for ctrl in ("memory", "cpu"):
                if ctrl in ctrls:
                    base = Path("/sys/fs/cgroup") / ctrl / rel.lstrip("/")
                    if not base.is_dir():  # cpu,cpuacct mounted together
                        base = Path("/sys/fs/cgroup") / ",".join(ctrls) / rel.lstrip("/")
                    out.append((ctrl, base / name))
            if line.startswith("0::") and not any(c for c in ctrls if c):
                base = Path("/sys/fs/cgroup") / rel.lstrip("/")
                if (base / "cgroup.controllers").exists() and not out:
                    out.append(("v2", base / name))
        return out

    def make_cgroups(self):
        made = []
        for kind, path in self._cgroup_dirs():
            try:
                path.mkdir(exist_ok=True)
                if kind == "memory" and self.mem_limit:
                    (path / "memory.limit_in_bytes").write_text(str(self.mem_limit))
                elif kind == "cpu" and self.cpu_limit:
                    (path / "cpu.cfs_period_us").write_text("100000")
                    (path / "cpu.cfs_quota_us").write_text(str(int(self.cpu_limit * 100000)))
                elif kind == "v2":
                    if self.mem_limit:
                        (path / "memory.max").write_text(str(self.mem_limit))
                    if self.cpu_limit:
                        (path / "cpu.max").write_text(f"{int(self.cpu_limit * 100000)} 100000")
                made.append(path)
            except OSError as e:
                self.log.warning("cgroup %s not usable (%s): limit NOT enforced", path, e)
        return made

    def make_preexec_fn(self, name):
        setuid = super().make_preexec_fn(name)
        cgroups = self.make_cgroups()

        def preexec():
            for path in cgroups:  # join before dropping privileges; children inherit
                try:
                    (path / "cgroup.procs").write_text(str(os.getpid()))
                except OSError:
                    pass
            setuid()
        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        for _, path in self._cgroup_dirs():
            try:
                path.rmdir()
            except OSError:
                pass


def pre_spawn_hook(spawner):
    role = roster_role(spawner.user.name)
    spawner.environment["CNN_COURSE_ROLE"] = role or "none"


c = get_config()  # noqa: F821

c.JupyterHub.ip = H["ip"]
c.JupyterHub.port = int(H["port"])
c.JupyterHub.base_url = H["base_url"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(H["hub_port"])
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub-internal.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(H['proxy_api_port'])}"
c.ConfigurableHTTPProxy.auth_token = (STATE / "proxy-token").read_text().strip()
c.ConfigurableHTTPProxy.command = [str(BIN / "configurable-http-proxy")
                                   if (BIN / "configurable-http-proxy").exists()
                                   else "configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")

# Login: roster users, NativeAuthenticator sign-up (first sign-up claims the name; the
# admin resets passwords at /hub/change-password/<user>), LTI 1.1 from the LMS.
c.JupyterHub.authenticator_class = CourseAuthenticator
c.NativeAuthenticator.open_signup = True
c.NativeAuthenticator.minimum_password_length = 8
c.NativeAuthenticator.check_common_password = True
c.Authenticator.admin_users = set(S["auth"]["admin_users"])
c.Authenticator.any_allow_config = True  # check_allowed: the roster's Unix groups
c.CourseAuthenticator.lti_consumers = dict(S["lti"]["consumers"])
c.CourseAuthenticator.lti_username_key = S["lti"]["username_key"]

# Servers: the real Unix user, JupyterLab, limits enforced by cgroups.
c.JupyterHub.spawner_class = CgroupSpawner
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.ip = "127.0.0.1"
c.Spawner.mem_limit = hubctl.parse_memory(L["mem"])
c.Spawner.cpu_limit = float(L["cpu"])
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "CNNLIB_DATA": C["data_dir"],
    "JUPYTER_CONFIG_PATH": str(STATE / "jupyter"),
    "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
c.Spawner.pre_spawn_hook = pre_spawn_hook

# Services: the idle culler, and an admin token for hubctl and the tests.
c.JupyterHub.services = [
    {"name": "idle-culler",
     "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                 f"--timeout={int(S['culler']['timeout'])}", f"--cull-every={int(S['culler']['every'])}"]},
    {"name": "course-admin", "api_token": (STATE / "admin-token").read_text().strip()},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    {"name": "course-admin", "services": ["course-admin"],
     "scopes": ["admin:users", "admin:servers", "tokens", "admin-ui", "list:users", "read:users",
                 "list:services", "read:services"]},
]
