"""Model backends, each behind a small interface; :mod:`.factory` picks them from settings."""
