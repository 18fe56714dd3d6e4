"""Two real WebRTC peers over loopback: an aiortc client plays the browser's part.

ICE is restricted to 127.0.0.1 and no STUN server is configured on either side, so no
packet leaves the machine. Models are stubs: the check is the media path itself.
"""

from __future__ import annotations

import asyncio
import fractions
import json

import aiohttp
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

import av
from desktop_app.server.peer import restrict_ice_host_addresses
from tests.speech import speech_pcm
from tests.server.conftest import base_url, receive_json, receive_until, running_server, ws_url


class SpeechTrack(MediaStreamTrack):
    """Piper speech on a loop, 20 ms mono frames at 48 kHz, paced like a microphone.

    Real speech, because the server's voice activity detection (real Silero) decides
    what reaches the speech recognizer.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pts = 0
        self._start: float | None = None
        speech16 = speech_pcm("Hello from the microphone, can you hear me?")
        self._speech = (np.repeat(speech16, 3) * 32767).astype(np.int16)  # 16 -> 48 kHz

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        delay = self._start + self._pts / 48000 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        start = self._pts % (self._speech.size - 960)
        samples = self._speech[start : start + 960]
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        self._pts += 960
        return frame


async def _offer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())  # gathers: complete, no trickle
    return pc.localDescription.sdp


async def test_browser_like_peer_talks_and_hears_the_reply(stub_backends, paths):
    restrict_ice_host_addresses(["127.0.0.1"])
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        async with running_server(stub_backends, paths, ice_hosts=["127.0.0.1"]) as server, aiohttp.ClientSession() as http:
            ws = await http.ws_connect(ws_url(server), headers={"Origin": base_url(server)})
            await receive_json(ws)
            # An offer aiortc cannot use: an error, and the session can still connect.
            await ws.send_str(json.dumps({"type": "offer", "sdp": "v=0\r\nm=audio 9 RTP/AVP 0\r\nnonsense\r\n"}))
            error = await receive_json(ws)
            assert error["type"] == "error" and error["code"] == "sdp"

            client.addTransceiver(SpeechTrack(), direction="sendrecv")
            received: list[np.ndarray] = []
            got_track = asyncio.Event()

            @client.on("track")
            def on_track(track):
                async def read():
                    while True:
                        try:
                            frame = await track.recv()
                        except Exception:
                            return
                        received.append(frame.to_ndarray().reshape(-1).astype(np.float32) / 32768)

                asyncio.ensure_future(read())
                got_track.set()

            await ws.send_str(json.dumps({"type": "offer", "sdp": await _offer(client)}))
            answer = (await receive_until(ws, "answer"))[-1]
            assert "a=candidate" in answer["sdp"] and "127.0.0.1" in answer["sdp"]
            await client.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            states = await receive_until(ws, "peer", timeout=60)
            while states[-1]["state"] != "connected":
                states = await receive_until(ws, "peer", timeout=60)
            await asyncio.wait_for(got_track.wait(), 30)

            # Idle: the server's track sends silence packets.
            await asyncio.sleep(1.0)
            assert len(received) > 10
            assert max(float(np.abs(f).max()) for f in received) < 0.01

            # Push-to-talk over the speech: the server hears it (the stub ASR says so).
            session = server.sessions[0]
            await ws.send_str('{"type": "ptt", "action": "start"}')
            await asyncio.sleep(2.5)
            await ws.send_str('{"type": "ptt", "action": "stop"}')
            got = await receive_until(ws, "finished", timeout=60)
            transcripts = [m["text"] for m in got if m["type"] == "transcript"]
            # one stub text per phrase the server's VAD found (the speech loops, with pauses)
            assert len(transcripts) == 1 and transcripts[0].startswith("hello from the microphone")
            assert session.peer.audio_frames > 40

            # The reply's packets reach the client as audio (the stub TTS speaks a tone).
            before = len(received)
            await asyncio.sleep(1.5)
            reply_audio = np.concatenate(received[before - 100 :]) if before > 100 else np.concatenate(received)
            assert float(np.abs(reply_audio).max()) > 0.05
            assert session.audio_track.packets_sent > 0
            await ws.close()
    finally:
        await client.close()
        restrict_ice_host_addresses(None)
