"""Piper -> Opus -> decode -> Whisper: the spoken reply is intelligible."""

import numpy as np

from desktop_app.backends.asr.whisper_local import WhisperRecognizer
from desktop_app.backends.tts.piper_local import PiperSynthesizer
from desktop_app.media.opus import decode_packets, packet_duration_ms
from tests.speech import word_error_rate


def to_16k(pcm48: np.ndarray) -> np.ndarray:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
    frame = av.AudioFrame.from_ndarray(pcm48.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
    frame.sample_rate = 48000
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts)


async def test_round_trip_through_opus_is_understood(tmp_path):
    tts = PiperSynthesizer()
    asr = WhisperRecognizer("tiny.en", tmp_path)
    text = "The train to Berlin leaves at seven in the morning. Bring a warm coat."
    packets = [p async for p in tts.synthesize(text)]
    assert all(packet_duration_ms(p) == 20 for p in packets)
    seconds = len(packets) * 0.02
    assert 2.5 < seconds < 8
    heard = await asr.transcribe(to_16k(decode_packets(packets)))
    # Piper's voice varies from one synthesis to the next (VITS samples its noise), and so
    # does tiny.en's reading of it: "... leaves at 7 in the morning, bringing the warm
    # coat." (3 of 14 words off, counting the digit) was heard once in CI.
    assert word_error_rate(text, heard.text) <= 0.25, heard.text



async def test_the_voice_starts_at_once():
    """Piper begins a sentence with 30-60 ms of near silence: the first packet is the
    voice's onset, so the listener does not wait through it (the words stay whole)."""
    tts = PiperSynthesizer()
    pcm = decode_packets([p async for p in tts.synthesize("Once upon a time, there was a knight.")])
    window = 480  # 10 ms at 48 kHz
    rms = np.sqrt(np.mean(pcm[: pcm.size // window * window].reshape(-1, window) ** 2, axis=1))
    onset_ms = int(np.flatnonzero(rms > 0.01)[0]) * 10
    assert onset_ms <= 20, onset_ms  # (Opus's own look-ahead delays it a few ms)


def test_the_voices_pool_waits_asleep():
    """Piper synthesizes while llama.cpp decodes: its onnxruntime pool must not spin on a
    core between operators (llama.cpp fell from 13.6 to 7.9 tokens/s when it did)."""
    from desktop_app.backends.tts.piper_local import load_voice

    options = load_voice("joe").session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


async def test_stopping_early_stops_synthesis():
    tts = PiperSynthesizer()
    got = 0
    async for _ in tts.synthesize("One sentence here. " * 20):
        got += 1
        if got == 5:
            break
    # the worker is free again right away for the next request
    more = [p async for p in tts.synthesize("Next.")]
    assert got == 5 and len(more) > 5


_MEMORY_SCRIPT = """
import sys
from desktop_app.backends.tts.piper_local import load_voice

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

voice = load_voice("joe")
for _ in voice.synthesize("Hello there."):
    pass
before = rss_mb()
long = ", and then ".join(["the keeper climbed the stairs of the lighthouse and watched the grey sea"] * 6) + "."  # one sentence
for text in (long, "Yes.", long, "Fine, thanks."):
    for _ in voice.synthesize(text):
        pass
print(rss_mb() - before)
"""


def test_a_long_sentence_does_not_keep_its_memory():
    """onnxruntime's default CPU arena kept a long sentence's buffers for good (RSS
    +510 MB after it, and steps over a long session); the voice's session shrinks the
    arena after every run, so what a long sentence needed is given back."""
    import subprocess
    import sys

    grown_mb = float(subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT], capture_output=True, text=True, check=True).stdout.split()[-1])
    assert grown_mb < 100, f"RSS grew {grown_mb:.0f} MB after two long sentences"
