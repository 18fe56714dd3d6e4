"""Smart Turn v3 (Daily, BSD-2-Clause): an audio end-of-turn model, in-process, offline.

The ONNX model (8.7 MB, a Whisper-tiny encoder with a classifier) ships inside the
``pipecat-ai`` wheel, which the setup installs without its dependencies; nothing of
pipecat is imported, only the file is read. Input: the last 8 s of the utterance at
16 kHz, normalized to zero mean and unit variance, as Whisper's 80-bin log-mel features
(faster-whisper's extractor gives the same features as pipecat's own, to 4e-6).
Output: the probability that the speaker has finished. It hears prosody: "I would like to
know, um" (0.01) against "What is the capital of France?" (0.95). About 45 ms per call
on one core of the 2-core reference machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from desktop_app.bundled_models import package_dir
from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.core.threads import ModelThread
from desktop_app.errors import ModelNotFoundError

WINDOW_S = 8
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"


def bundled_model_path() -> Path | None:
    """The ONNX file inside the installed ``pipecat-ai`` wheel (found without importing it;
    in the desktop bundle, the same path under the bundle's ``pipecat`` data folder)."""
    try:
        path = package_dir("pipecat") / "audio" / "turn" / "smart_turn" / "data" / MODEL_FILE
    except ModelNotFoundError:
        return None
    return path if path.is_file() else None


class SmartTurnModel:
    name = "smart-turn v3.2"

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._session = None
        self._features = None
        self._thread = ModelThread("turn")

    async def load(self) -> None:
        if self._session is None:
            self._session = await self._thread.run(self._load_blocking)

    def _load_blocking(self):
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor

        path = self._path or bundled_model_path()
        if path is None or not Path(path).is_file():
            raise ModelNotFoundError("the end-of-turn model (Smart Turn v3) is not installed: run the setup again")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # 45 ms on one core; the other stays with the LLM
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(os.fspath(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(feature_size=80)
        self._probability_blocking(np.zeros(SAMPLE_RATE, dtype=np.float32), session)  # warm-up
        return session

    async def probability(self, pcm: np.ndarray) -> float:
        """Probability (0..1) that the speech in ``pcm`` (16 kHz mono float32) is a finished turn."""
        await self.load()
        return await self._thread.run(self._probability_blocking, np.asarray(pcm, dtype=np.float32))

    def _probability_blocking(self, pcm: np.ndarray, session=None) -> float:
        window = WINDOW_S * SAMPLE_RATE
        audio = pcm[-window:] if pcm.size > window else np.pad(pcm, (window - pcm.size, 0))
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        features = self._features(audio, padding=0)[None].astype(np.float32)
        out = (session or self._session).run(None, {"input_features": features})[0]
        return float(np.asarray(out).reshape(-1)[0])

    async def aclose(self) -> None:
        self._thread.shutdown()
