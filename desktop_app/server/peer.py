"""One browser's RTCPeerConnection: its mic and camera in, the reply's voice out.

The browser makes the offer (mic sendrecv, camera/screen sendonly); :meth:`BrowserPeer.answer`
returns the answer once ICE gathering is complete (aiortc has no trickle ICE). Incoming
audio is resampled to 16 kHz mono float32 and handed to ``on_audio``; the latest video
frame is kept for vision and for the desktop app's view.

No STUN server is configured: nothing leaves the machine to learn a public address (the
server is for a LAN; behind NAT the host candidates are what a LAN peer needs).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.media.audio_file import StreamResampler
from desktop_app.server.audio_track import OpusAudioTrack

log = logging.getLogger(__name__)


def restrict_ice_host_addresses(addresses: list[str] | None) -> None:
    """Make aioice offer exactly these host addresses (``--ice-host``), or undo it (None).

    aioice gathers host candidates from every interface and never offers 127.0.0.1;
    a multi-homed machine or a hermetic loopback test needs to say which ones. This
    patches aioice's module-level ``get_host_addresses``: process-wide.
    """
    import aioice.ice

    original = getattr(restrict_ice_host_addresses, "_original", None)
    if original is None:
        original = aioice.ice.get_host_addresses
        restrict_ice_host_addresses._original = original  # type: ignore[attr-defined]
    if not addresses:
        aioice.ice.get_host_addresses = original
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


class MicrophoneResampler:
    """aiortc's 48 kHz stereo s16 frames -> 16 kHz mono float32 (the ASR's input).

    The channels are averaged here (the browser sends mono Opus; aiortc decodes it to two
    equal channels): swresample's downmix would add them at -3 dB each, 3 dB too loud.
    """

    def __init__(self) -> None:
        self._resampler = StreamResampler(SAMPLE_RATE, "flt")

    def convert(self, frame: av.AudioFrame) -> np.ndarray:
        channels = len(frame.layout.channels)
        data = frame.to_ndarray()
        if frame.format.is_planar:
            mono = data.reshape(channels, -1).mean(axis=0) if channels > 1 else data.reshape(-1)
        else:
            mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
        if data.dtype == np.int16:
            mono = mono / 32768.0
        return self._resampler.push(mono, frame.sample_rate)


class BrowserPeer:
    def __init__(
        self,
        audio_out: OpusAudioTrack,
        on_audio: Callable[[np.ndarray], None],
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.audio_out = audio_out
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.latest_frame: av.VideoFrame | None = None
        self.video_frames = 0
        self.audio_frames = 0
        self._on_audio = on_audio
        self._on_state = on_state
        self._tasks: set[asyncio.Task] = set()
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._state_changed)

    async def answer(self, offer_sdp: str) -> str:
        """Apply the browser's offer and return the answer SDP (candidates included).

        Raises ``ValueError`` (or aiortc's errors) on an SDP it cannot use.
        """
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        if not any(t.kind == "audio" for t in self.pc.getTransceivers()):
            raise ValueError("the offer has no audio section")
        self.pc.addTrack(self.audio_out)  # takes the offered audio transceiver: sendrecv
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)  # gathers ICE candidates
        return self.pc.localDescription.sdp

    def _on_track(self, track: MediaStreamTrack) -> None:
        consume = self._consume_audio if track.kind == "audio" else self._consume_video
        task = asyncio.ensure_future(consume(track))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        resampler = MicrophoneResampler()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.audio_frames += 1
            pcm = resampler.convert(frame)
            if pcm.size:
                self._on_audio(pcm)

    async def _consume_video(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.video_frames += 1
            self.latest_frame = frame

    async def _state_changed(self) -> None:
        state = self.pc.connectionState
        log.info("peer connection %s", state)
        if self._on_state is not None:
            self._on_state(state)

    async def close(self) -> None:
        self._on_state = None  # whoever closes it knows: no "closed" echo
        for task in list(self._tasks):
            task.cancel()
        await self.pc.close()
