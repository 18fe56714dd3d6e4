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
    assert word_error_rate(text, heard.text) <= 0.15, heard.text


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
