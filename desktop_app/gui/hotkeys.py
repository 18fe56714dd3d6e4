"""Window-wide keys: hold Space (or the chosen key) to talk, unless typing; Esc stops the reply."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget


def key_from_name(name: str) -> Qt.Key:
    """A single key from its Qt name ("Space", "F9", "Pause"...); Space when unknown."""
    sequence = QKeySequence.fromString(name.strip() or "Space")
    if sequence.count() != 1:
        return Qt.Key.Key_Space
    combo = sequence[0]
    if combo.keyboardModifiers() != Qt.KeyboardModifier.NoModifier:
        return Qt.Key.Key_Space  # a held modifier chord is not a push-to-talk key
    return combo.key()


def is_text_input(widget: QWidget | None) -> bool:
    """True when Space belongs to the focused widget (it types or edits)."""
    if widget is None:
        return False
    if isinstance(widget, (QLineEdit, QPlainTextEdit, QAbstractSpinBox)):
        return not getattr(widget, "isReadOnly", lambda: False)()
    if isinstance(widget, QTextEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return False


class Hotkeys(QObject):
    """An application event filter active while ``window`` is the active (or only) window."""

    def __init__(
        self,
        window: QWidget,
        talk_press: Callable[[], None],
        talk_release: Callable[[], None],
        stop: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._press = talk_press
        self._release = talk_release
        self._stop = stop
        self._talk_key_held = False  # the talk key is down
        self.talk_key = Qt.Key.Key_Space

    def set_talk_key(self, name: str) -> None:
        self.talk_key = key_from_name(name)

    def _mine(self, target: QObject) -> bool:
        if not isinstance(target, QWidget):
            return False
        top = target.window()
        return top is self._window

    def eventFilter(self, target: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            return False
        if not isinstance(event, QKeyEvent) or not self._mine(target):
            return False
        key = event.key()
        if key == self.talk_key and event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier):
            focus = QApplication.focusWidget()
            types_text = key == Qt.Key.Key_Space  # other talk keys (F9...) type nothing
            if types_text and is_text_input(focus) and not self._talk_key_held:
                return False
            if kind == QEvent.Type.ShortcutOverride:
                event.accept()
                return True
            if event.isAutoRepeat():
                return True
            if kind == QEvent.Type.KeyPress:
                self._talk_key_held = True
                self._press()
            else:
                self._talk_key_held = False
                self._release()
            return True
        if key == Qt.Key.Key_Escape and kind == QEvent.Type.KeyPress:
            self._stop()
            return True
        return False
