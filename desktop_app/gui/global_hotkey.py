"""The push-to-talk key as a global hotkey: it talks while another window has the focus.

Where it works:

* **X11** (Linux/BSD desktops on Xorg, and X apps under XWayland only while an X window
  has the focus): a passive grab (``XGrabKey``) of the key on the root window, through
  python-xlib on a connection of its own. A thread reads the grabbed key's press and
  release and hands them to Qt (queued signals). While the grab is held, every
  application loses that key, so Space cannot be global: pick F8, F9, Pause...
* **Wayland**: no. A Wayland client cannot grab keys outside its own windows (by design);
  the key works while the window has the focus.
* **macOS and Windows**: not implemented; the key works while the window has the focus.

X sends a held key's autorepeat as release/press pairs with the same timestamp; a
release followed at once by such a press is dropped, so a hold is one press and one
release.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

# Qt key names (settings' push_to_talk_key) whose X keysym name differs.
_X_NAMES = {"ScrollLock": "Scroll_Lock", "NumLock": "Num_Lock", "CapsLock": "Caps_Lock", "Print": "Print", "Menu": "Menu"}
TYPING_KEYS = {"space", "return", "tab", "backspace"}


def unavailable_reason() -> str | None:
    """Why a global hotkey cannot work in this session, or None when it can."""
    if sys.platform == "darwin":
        return "a global hotkey is not available on macOS yet"
    if sys.platform == "win32":
        return "a global hotkey is not available on Windows yet"
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("wayland", "offscreen")):
        return "a global hotkey needs X11 (this window runs on Wayland or offscreen)"
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return "Wayland does not let applications grab keys for other windows"
    if not os.environ.get("DISPLAY"):
        return "no X display"
    try:
        import Xlib  # noqa: F401
    except ImportError:
        return "python-xlib is not installed"
    return None


class GlobalHotkey(QObject):
    """Grab one key on the X server; ``pressed``/``released`` arrive on the Qt thread."""

    pressed = Signal()
    released = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._display = None
        self._thread: threading.Thread | None = None
        self._running = False
        self.key_name = ""

    @property
    def active(self) -> bool:
        return self._running

    def start(self, key_name: str) -> str | None:
        """Grab ``key_name`` (a Qt key name, e.g. "F9"). None when it works, else why not."""
        self.stop()
        problem = unavailable_reason()
        if problem:
            return problem
        from Xlib import XK, X, display, error

        if key_name.strip().lower() in TYPING_KEYS:
            return f"{key_name} types in other applications: choose a key such as F9 for the global hotkey"
        keysym = XK.string_to_keysym(_X_NAMES.get(key_name, key_name))
        if not keysym:
            return f"{key_name} is not a key the X server knows"
        try:
            conn = display.Display()
        except Exception as exc:  # (Xlib raises its own DisplayError family)
            return f"cannot open the X display: {exc}"
        keycode = conn.keysym_to_keycode(keysym)
        if not keycode:
            conn.close()
            return f"{key_name} is not on this keyboard"
        root = conn.screen().root
        failed: list[str] = []
        catcher = error.CatchError(error.BadAccess)
        lock_masks = (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask)  # Caps Lock, Num Lock on or off
        for mask in lock_masks:
            root.grab_key(keycode, mask, True, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher)
        conn.sync()
        if catcher.get_error():
            failed.append("another application holds it")
        if failed:
            for mask in lock_masks:
                root.ungrab_key(keycode, mask)
            conn.close()
            return f"{key_name} cannot be grabbed: {failed[0]}"
        self._display = conn
        self._keycode = keycode
        self.key_name = key_name
        self._running = True
        self._thread = threading.Thread(target=self._run, name="global-hotkey", daemon=True)
        self._thread.start()
        log.info("global hotkey: %s grabbed (keycode %d)", key_name, keycode)
        return None

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        conn = self._display
        try:
            from Xlib import X

            root = conn.screen().root
            for mask in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):
                root.ungrab_key(self._keycode, mask)
            conn.flush()
            # wake the reader: an event to our own root window ends its wait
            conn.close()
        except Exception:  # the server went away: nothing to release
            pass
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._display = None

    def _run(self) -> None:
        from Xlib import X

        conn = self._display
        down = False
        try:
            while self._running:
                event = conn.next_event()
                if event.type not in (X.KeyPress, X.KeyRelease) or event.detail != self._keycode:
                    continue
                if event.type == X.KeyRelease and self._autorepeat(conn, event):
                    continue
                if event.type == X.KeyPress and not down:
                    down = True
                    self.pressed.emit()
                elif event.type == X.KeyRelease and down:
                    down = False
                    self.released.emit()
        except Exception as exc:  # closed by stop(), or the X server went away
            if self._running:
                log.warning("global hotkey stopped: %s", exc)
        if down:
            self.released.emit()

    def _autorepeat(self, conn, release) -> bool:
        """A release followed at once by a press of the same key at the same time: autorepeat."""
        import time

        from Xlib import X

        deadline = time.monotonic() + 0.03
        while time.monotonic() < deadline:
            if conn.pending_events():
                following = conn.next_event()
                if following.type == X.KeyPress and following.detail == release.detail and following.time == release.time:
                    return True
                # something else: not a repeat (put it back is not possible; it is not ours anyway)
                return False
            time.sleep(0.002)
        return False
