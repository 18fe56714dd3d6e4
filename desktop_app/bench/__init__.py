"""``aiwebcam bench``: voice-to-voice latency of the real engine, measured end to end."""
