"""Where the API key is kept: the system keyring when one works, else the settings file.

The settings file is written readable only by the user (``save_settings``), so the
fallback is still private; with a keyring the file holds no key at all, only the flag
``llm_api_key_in_keyring``. Nothing here logs or raises the key's value.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from desktop_app.config import AppPaths, Secret, Settings, save_settings

log = logging.getLogger(__name__)

SERVICE = "aiwebcam"
ACCOUNT = "llm_api_key"


def _keyring():
    """The active keyring backend, or None when none is usable (no Secret Service, ...)."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception:  # not installed, or a broken backend plugin
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or type(backend).__module__.endswith("null"):
        return None
    if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", None):
        return None
    return backend


def keyring_usable() -> bool:
    return _keyring() is not None


def keyring_name() -> str:
    backend = _keyring()
    return getattr(backend, "name", type(backend).__name__) if backend is not None else ""


def load_api_key() -> str:
    """The key stored in the keyring ("" when none, or when the keyring fails)."""
    backend = _keyring()
    if backend is None:
        return ""
    try:
        return backend.get_password(SERVICE, ACCOUNT) or ""
    except Exception as exc:
        log.warning("cannot read the API key from the keyring (%s)", type(exc).__name__)
        return ""


def _forget_keyring_key(backend) -> None:
    try:
        if backend.get_password(SERVICE, ACCOUNT) is not None:
            backend.delete_password(SERVICE, ACCOUNT)
    except Exception as exc:
        log.warning("cannot remove the API key from the keyring (%s)", type(exc).__name__)


def save_settings_with_key(settings: Settings, paths: AppPaths) -> tuple[Path, str]:
    """Write the settings; the key goes to the keyring when one works.

    Returns the settings file and where the key is: "keyring", "file" or "" (no key).
    """
    backend = _keyring()
    key = settings.llm_api_key.get()
    if backend is not None and key:
        try:
            backend.set_password(SERVICE, ACCOUNT, key)
        except Exception as exc:  # locked or broken keyring: fall back to the private file
            log.warning("cannot store the API key in the keyring (%s): using the settings file", type(exc).__name__)
        else:
            stored = dataclasses.replace(settings, llm_api_key=Secret(""), llm_api_key_in_keyring=True)
            return save_settings(stored, paths), "keyring"
    if backend is not None and not key:
        _forget_keyring_key(backend)
    stored = dataclasses.replace(settings, llm_api_key_in_keyring=False)
    return save_settings(stored, paths), "file" if key else ""
