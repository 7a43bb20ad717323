"""The hub's settings, roster and links (no root needed; the real hub is test_hub_e2e.py)."""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import pytest

HUBDIR = Path(__file__).resolve().parents[1] / "course" / "hub"
sys.path.insert(0, str(HUBDIR))
import hubctl  # noqa: E402


def test_defaults_and_override(tmp_path):
    s = hubctl.load_settings(None)
    assert (s["hub"]["ip"], s["course"]["id"]) == ("127.0.0.1", "redes-convolucionais"), s["hub"]
    f = tmp_path / "hub.toml"
    f.write_text('[hub]\nport = 9999\n[limits]\nmem = "512M"\n')
    s = hubctl.load_settings(f)
    assert (s["hub"]["port"], s["hub"]["ip"], s["limits"]["mem"]) == (9999, "127.0.0.1", "512M")
    assert hubctl.hub_url(s) == "http://127.0.0.1:9999"


@pytest.mark.parametrize("text, match", [
    ("[hubb]\nport = 1\n", r"unknown section \[hubb\]"),
    ("[hub]\nprot = 1\n", r"unknown keys \['prot'\] in \[hub\]"),
])
def test_settings_typos_are_refused(tmp_path, text, match):
    f = tmp_path / "hub.toml"
    f.write_text(text)
    with pytest.raises(hubctl.HubError, match=match):
        hubctl.load_settings(f)


def test_parse_memory():
    assert [hubctl.parse_memory(x) for x in ("2G", "512M", "1024", 7)] == [2**31, 2**29, 1024, 7]
    with pytest.raises(ValueError, match="limits.mem must be bytes"):
        hubctl.parse_memory("dois gigas")


def test_roster(tmp_path):
    assert hubctl.read_roster(HUBDIR / "roster.example.csv") == [
        ("psilva", "instructor"), ("amaria", "student"), ("bjose", "student")]
    for row, match in [("Maria,student", "lowercase Unix name"), ("1abc,student", "lowercase Unix name"),
                       ("maria;rm,student", "lowercase Unix name"), ("maria,professor", "role must be one of")]:
        f = tmp_path / "r.csv"
        f.write_text(f"username,role\n{row}\n")
        with pytest.raises(hubctl.HubError, match=match):
            hubctl.read_roster(f)


def test_nbgitpuller_link():
    s = hubctl.load_settings(None)
    link = hubctl.nbgitpuller_link(s, "01-convolucao")
    url = urllib.parse.urlparse(link)
    q = urllib.parse.parse_qs(url.query)
    assert url.path == "/hub/user-redirect/git-pull", link
    assert q["repo"] == [s["nbgitpuller"]["repo"]] and q["branch"] == [s["nbgitpuller"]["branch"]], q
    assert q["urlpath"] == ["lab/tree/cnn-course/notebooks/01-convolucao/01-convolucao.ipynb"], q
