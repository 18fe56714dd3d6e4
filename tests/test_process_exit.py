"""The ``aiwebcam`` command ends its process without interpreter finalization (see desktop_app/process_exit.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A process with what finalization would trip on: a non-daemon thread that never ends
# (finalization joins it: the process would hang), an atexit handler, and output still
# in the buffers of a pipe.
_SCRIPT = textwrap.dedent(
    """
    import atexit, threading, time, sys
    from desktop_app.process_exit import exit_process

    threading.Thread(target=lambda: time.sleep(3600), daemon=False).start()
    atexit.register(lambda: print("atexit ran", flush=True))
    sys.stdout.write("the result")
    exit_process({code!r})
    """
)


def _run(code: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _SCRIPT.format(code=code)], capture_output=True, text=True, timeout=60)


def test_the_process_ends_with_its_status_its_output_and_its_atexit_handlers() -> None:
    proc = _run(3)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "the resultatexit ran\n"
    assert proc.stderr == ""


def test_sys_exit_rules_for_the_status() -> None:
    assert _run(None).returncode == 0
    proc = _run("usage: wrong")
    assert (proc.returncode, proc.stderr) == (1, "usage: wrong\n")


def test_the_console_command_exits_as_argparse_says(aiwebcam_cmd) -> None:
    version = subprocess.run([*aiwebcam_cmd, "--version"], capture_output=True, text=True, timeout=60)
    assert (version.returncode, version.stdout.startswith("aiwebcam ")) == (0, True), version.stderr
    wrong = subprocess.run([*aiwebcam_cmd, "--no-such-option"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "unrecognized arguments" in wrong.stderr
