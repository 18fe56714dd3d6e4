"""User-facing errors: one clear line, never a traceback, never a secret."""

from __future__ import annotations


class AppError(Exception):
    """An error the user can act on. ``str(err)`` is a complete one-line message."""


class ConfigError(AppError):
    """A setting is missing or invalid."""


class ModelNotFoundError(AppError):
    """A model named in the settings is not installed and cannot be fetched."""


class EndpointError(AppError):
    """A remote (OpenAI-compatible) endpoint failed: unreachable, bad key, bad reply."""


class AudioInputError(AppError):
    """An audio file or stream could not be read."""


class NoSpeechError(AppError):
    """The audio held no speech, so there is no turn."""


def redact(text: str, *secrets: str | None) -> str:
    """Replace every occurrence of each non-empty secret in ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
