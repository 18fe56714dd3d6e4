"""Media helpers: Opus, audio files, images. PCM exists only at the edges."""
