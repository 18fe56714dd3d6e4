"""``aiwebcam serve`` as a user runs it: a subprocess that loads the models, prints the
join URL, serves the page to the token only, and stops cleanly on Ctrl+C."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

FAST_ENV = {"AIWEBCAM_LLM_PROVIDER": "embedded", "AIWEBCAM_LLM_MODEL": "smollm2-135m", "AIWEBCAM_LLM_MAX_TOKENS": "40"}


def _can_cut_network() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_serve_prints_the_join_url_and_serves_only_the_token(aiwebcam_cmd, tmp_path):
    if not _can_cut_network():
        pytest.skip("needs root and unshare -n: the check runs the server and the client in a loopback-only namespace")
    # Server and client share one namespace: a shell starts the server, waits for its URL,
    # probes it with a small Python client, then sends Ctrl+C.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys, urllib.request, urllib.error\n"
        "def status(u):\n"
        "    try:\n"
        "        return urllib.request.urlopen(u, timeout=30).status\n"
        "    except urllib.error.HTTPError as e:\n"
        "        return e.code\n"
        "url = sys.argv[1]\n"
        "base = url.split('/?')[0]\n"
        "print('STATUS', status(url), status(base + '/'), status(base + '/?token=wrong'))\n"
    )
    out = tmp_path / "serve.out"
    cmd = " ".join(aiwebcam_cmd)
    script = (
        "ip link set lo up; "
        f"{cmd} serve --no-tls --host 127.0.0.1 --port 0 --token secret-token-123456 --ice-host 127.0.0.1 > {out} 2>{tmp_path}/serve.err & pid=$!; "
        f"for i in $(seq 600); do grep -q token= {out} && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done; "
        f"url=$(head -1 {out}); echo URL $url; "
        f"[ -n \"$url\" ] && {sys.executable} {probe} $url; "
        "kill -INT $pid; wait $pid; echo EXIT $?"
    )
    env = {**os.environ, **FAST_ENV}
    result = subprocess.run(["unshare", "-n", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=600)
    stderr = (tmp_path / "serve.err").read_text() if (tmp_path / "serve.err").exists() else ""
    assert "URL http://127.0.0.1:" in result.stdout, result.stdout + result.stderr + stderr
    url = re.search(r"URL (\S+)", result.stdout).group(1)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=secret-token-123456", url)
    assert "STATUS 200 401 403" in result.stdout, result.stdout + stderr
    assert "EXIT 0" in result.stdout, result.stdout + stderr
    assert "models ready" in stderr
    assert "Traceback" not in stderr


def test_serve_option_errors_are_one_line(aiwebcam_cmd, tmp_path):
    env = {**os.environ, **FAST_ENV}
    for args, fragment in (
        (["--cert", str(tmp_path / "c.pem")], "both --cert and --key"),
        (["--no-tls", "--cert", "a", "--key", "b"], "--no-tls cannot be combined"),
        (["--max-sessions", "0"], "at least 1"),
    ):
        result = subprocess.run([*aiwebcam_cmd, "serve", *args], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("aiwebcam: error:") and fragment in lines[0], result.stderr


def test_serve_is_in_the_help(aiwebcam_cmd):
    result = subprocess.run([*aiwebcam_cmd, "serve", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for option in ("--host", "--port", "--token", "--no-tls", "--cert", "--key", "--ice-host", "--max-sessions"):
        assert option in result.stdout
