"""A full disk while saving: the data dir on a 64 KiB tmpfs, filled to the last byte.

The user gets one line (the engine's TurnError, stage "save"; ``aiwebcam ask``'s
stderr); no conversation file is corrupt or half written, earlier conversations are
byte for byte intact, no temporary file is left behind, and once space is free again
the next save of the same engine writes every turn, the one that failed included.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from desktop_app.backends.factory import make_engine
from desktop_app.config import AppPaths, Settings
from desktop_app.core.events import Event, TurnError, TurnFinished
from desktop_app.core.turn import TurnInput

FAST = Settings(llm_provider="embedded", llm_model="smollm2-135m", llm_max_tokens=30, llm_temperature=0.0, smart_turn=False)
FAST_ENV = {"AIWEBCAM_LLM_PROVIDER": "embedded", "AIWEBCAM_LLM_MODEL": "smollm2-135m", "AIWEBCAM_LLM_MAX_TOKENS": "30"}


@pytest.fixture
def tiny_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 64 KiB tmpfs as the app's data dir (needs root to mount)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root: the test mounts a 64 KiB tmpfs to fill (mount -t tmpfs -o size=64k)")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    monkeypatch.setenv("AIWEBCAM_DATA_DIR", str(mount_point / "data"))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk says ENOSPC; the file, to delete later."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (4096, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    assert shutil.disk_usage(disk).free == 0
    return filler


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


async def test_full_disk_while_saving_is_one_line_and_loses_nothing(tiny_disk: Path) -> None:
    paths = AppPaths.from_env()
    conversations = paths.conversations_dir
    engine = make_engine(FAST, paths)
    events: list[Event] = []
    engine.subscribe(events.append)
    try:
        await engine.warm_up()
        await engine.run_turn(TurnInput(text="Say hi."))
        earlier = engine.conversation.id
        engine.new_conversation()
        await engine.run_turn(TurnInput(text="Say hello."))
        current = engine.conversation.id
        before = snapshot(conversations)
        assert set(before) == {f"{earlier}.json", f"{current}.json"}

        filler = fill(tiny_disk)
        failed = await engine.run_turn(TurnInput(text="Say goodbye."))
        errors = [e for e in events if isinstance(e, TurnError)]
        assert len(errors) == 1 and errors[0].turn_id == failed.id and errors[0].stage == "save"
        assert errors[0].message == f"could not save the conversation to {conversations / (current + '.json')}: No space left on device"
        assert [e.turn_id for e in events if isinstance(e, TurnFinished)][-1] == failed.id  # the turn ended
        assert failed.reply_text.strip()  # the reply itself was given
        assert snapshot(conversations) == before  # no half file, no temp file, earlier ones intact
        for name in before:
            json.loads((conversations / name).read_text())
        assert len(engine.store.list()) == 2

        filler.unlink()  # space again: the next turn saves everything, the failed one too
        await engine.run_turn(TurnInput(text="Say thanks."))
    finally:
        await engine.aclose()
    assert len([e for e in events if isinstance(e, TurnError)]) == 1
    stored = engine.store.load(current).turns
    assert [t.user_text for t in stored] == ["Say hello.", "Say goodbye.", "Say thanks."]
    assert stored[1].reply_text == failed.reply_text
    assert (conversations / f"{earlier}.json").read_bytes() == before[f"{earlier}.json"]


def test_ask_on_a_full_disk_is_one_line(tiny_disk: Path, aiwebcam_cmd: list[str]) -> None:
    env = {**os.environ, **FAST_ENV}
    run = lambda *args: subprocess.run([*aiwebcam_cmd, "ask", *args], env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)  # noqa: E731
    first = run("--text", "Say hi.", "--json")
    assert first.returncode == 0, first.stderr
    conversations = AppPaths.from_env().conversations_dir
    before = snapshot(conversations)
    [path] = [conversations / name for name in before]
    filler = fill(tiny_disk)
    result = run("--text", "Say goodbye.", "--continue")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1:] == [f"aiwebcam: error: could not save the conversation to {path}: No space left on device"], result.stderr
    assert all(e.startswith("aiwebcam: Waiting for the model (") for e in lines[:-1]), result.stderr  # a slow first token
    assert result.stdout.startswith("AI: ") and len(result.stdout.strip()) > len("AI:")  # the reply was shown
    assert snapshot(conversations) == before
    filler.unlink()
    after = run("--text", "Say thanks.", "--continue", "--json")
    assert after.returncode == 0, after.stderr
    assert [t["user_text"] for t in json.loads(path.read_text())["turns"]] == ["Say hi.", "Say thanks."]
