"""The OpenAI-compatible chat path against a real engine: llama-cpp-python's server.

``llm_provider=openai`` and ``llm_base_url`` pointing at ``python -m llama_cpp.server``
(SmolLM2-135M, one thread) on 127.0.0.1; speech recognition and synthesis stay embedded
(Whisper, Piper). The protocol fake (tests/openai_server.py) still covers what no local
server provides: the speech endpoints, 401 and 429.
"""

from __future__ import annotations

import json
import os
import subprocess

from desktop_app.backends.factory import make_engine
from desktop_app.core.events import AudioPacket, Event, ReplyDelta, Transcript, TurnError, TurnFinished
from desktop_app.core.turn import TurnInput
from tests.llama_server import MODEL_NAME, LlamaServer
from tests.reliability.conftest import app_paths, openai_env, openai_settings
from tests.speech import speech_pcm, word_error_rate


async def test_engine_turns_through_the_llama_cpp_server(llama_server: LlamaServer) -> None:
    """A spoken turn, then a typed follow-up: the window's path, the model remote."""
    assert llama_server.models() == [MODEL_NAME]
    engine = make_engine(openai_settings(llama_server.base_url), app_paths())
    events: list[Event] = []
    engine.subscribe(events.append)
    try:
        await engine.warm_up()
        first = await engine.run_turn(TurnInput(audio=speech_pcm("What is the capital of France?")))
        second = await engine.run_turn(TurnInput(text="Say that again in one short sentence."))
    finally:
        await engine.aclose()
    assert engine.backends.llm.name == f"openai {MODEL_NAME}"
    assert not [e for e in events if isinstance(e, TurnError)]
    assert word_error_rate("what is the capital of france", first.user_text) <= 0.2
    for turn in (first, second):
        deltas = "".join(e.text for e in events if isinstance(e, ReplyDelta) and e.turn_id == turn.id)
        assert turn.reply_text.strip() and deltas == turn.reply_text  # streamed, piece by piece
        assert sum(1 for e in events if isinstance(e, ReplyDelta) and e.turn_id == turn.id) > 3
        assert sum(1 for e in events if isinstance(e, AudioPacket) and e.turn_id == turn.id) > 25  # > 0.5 s spoken
        assert turn.metrics.llm_ttft_ms is not None and turn.metrics.llm_ttft_ms > 0
        assert not turn.interrupted
    assert [e.text for e in events if isinstance(e, Transcript)][1] == "Say that again in one short sentence."
    finished = [e for e in events if isinstance(e, TurnFinished)]
    assert [f.interrupted for f in finished] == [False, False]
    stored = engine.store.load(engine.conversation.id)
    assert [t.user_text for t in stored.turns] == [first.user_text, second.user_text]
    assert [t.reply_text for t in stored.turns] == [first.reply_text, second.reply_text]
    assert not any(t.error or t.interrupted for t in stored.turns)


def test_ask_through_the_llama_cpp_server(llama_server: LlamaServer, aiwebcam_cmd: list[str]) -> None:
    """``aiwebcam ask`` as a user runs it, then ``--continue``: two processes, one conversation."""
    env = {**os.environ, **openai_env(llama_server.base_url)}
    run = lambda *args: subprocess.run([*aiwebcam_cmd, "ask", *args, "--json"], env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)  # noqa: E731
    first = run("--text", "Name one colour of the rainbow.")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["backends"]["llm"] == f"openai {MODEL_NAME}"
    assert summary["backends"]["asr"] == "whisper tiny.en" and summary["backends"]["tts"].startswith("piper")
    assert summary["reply"].strip() and summary["audio_seconds"] > 0.5 and summary["interrupted"] is False
    second = run("--text", "And another one?", "--continue")
    assert second.returncode == 0, second.stderr
    follow = json.loads(second.stdout.strip().splitlines()[-1])
    assert follow["conversation_id"] == summary["conversation_id"] and follow["reply"].strip()
    stored = json.loads((app_paths().conversations_dir / f"{summary['conversation_id']}.json").read_text())
    assert [t["user_text"] for t in stored["turns"]] == ["Name one colour of the rainbow.", "And another one?"]
