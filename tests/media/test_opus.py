import io
from fractions import Fraction

import av
import numpy as np

from desktop_app.media.ogg import GrowingStream, iter_ogg_opus_packets
from desktop_app.media.opus import FRAME_SAMPLES, SILENCE_PACKET, OpusEncoder, decode_packets, packet_duration_ms


def tone(rate: int, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 12000).astype(np.int16)


def test_encoder_makes_whole_20ms_packets_from_any_rate():
    encoder = OpusEncoder()
    packets = encoder.encode(tone(22050, 1.0), 22050)
    assert len(packets) == 50
    assert all(packet_duration_ms(p) == 20 for p in packets)
    pcm = decode_packets(packets)
    assert pcm.size == 50 * FRAME_SAMPLES
    # the tone survives: energy at 440 Hz dominates
    spectrum = np.abs(np.fft.rfft(pcm[4800:43200]))
    peak_hz = np.argmax(spectrum) * 48000 / len(pcm[4800:43200])
    assert abs(peak_hz - 440) < 5


def test_silence_packet_is_20ms():
    assert packet_duration_ms(SILENCE_PACKET) == 20
    assert np.abs(decode_packets([SILENCE_PACKET] * 5)).max() < 1e-3


def _ogg_bytes(packets: list[bytes]) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        encoder = OpusEncoder()  # make a real extradata header via a codec context
        codec = encoder._codec
        stream.codec_context.extradata = codec.extradata
        for i, data in enumerate(packets):
            packet = av.Packet(data)
            packet.stream = stream
            packet.pts = packet.dts = i * FRAME_SAMPLES
            packet.time_base = Fraction(1, 48000)
            packet.duration = FRAME_SAMPLES
            container.mux(packet)
    return out.getvalue()


def test_growing_ogg_stream_yields_the_same_packets_untouched():
    import threading

    packets = OpusEncoder().encode(tone(48000, 0.5), 48000)
    body = _ogg_bytes(packets)
    stream = GrowingStream()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.extend(iter_ogg_opus_packets(stream)))
    reader.start()
    for i in range(0, len(body), 700):  # arrives in pieces
        stream.feed(body[i : i + 700])
    stream.close_input()
    reader.join(10)
    assert got == packets
