"""How the user talks to this computer: the talk bar, the talk key, Esc, and the microphone behind them.

* The microphone (:mod:`desktop_app.gui.armed_microphone`) is armed once the window can
  take speech, and closed while it is hidden or minimized when the settings say so
  (unless hands-free listens, or the global talk key may need it); its line in the
  status bar says which.
* Push-to-talk (:class:`~desktop_app.gui.push_to_talk.TalkPress`) is held with the Talk
  button, the talk key while the window has the focus (:mod:`desktop_app.gui.hotkeys`)
  or, on X11, everywhere (:mod:`desktop_app.gui.global_hotkey`); Stop and Esc discard a
  held press or stop the reply.
* The Hands-free switch (:mod:`desktop_app.gui.hands_free_controller`) is exclusive with
  push-to-talk; the user's choice is kept in the settings.
* The level meter runs while the microphone's words go into a turn.

What all of this amounts to is :class:`~desktop_app.gui.talk_state.TalkStateModel`'s
state, which the window renders.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop_app.config import Settings
from desktop_app.core.capture import SpeechCapture
from desktop_app.core.turn import TurnInput
from desktop_app.gui.armed_microphone import IDLE_BLOCK_MS, LIVE_BLOCK_MS, ArmedMicrophone, OpenStream, open_device
from desktop_app.gui.global_hotkey import GlobalHotkey
from desktop_app.gui.hands_free_controller import HandsFreeController
from desktop_app.gui.hotkeys import Hotkeys
from desktop_app.gui.push_to_talk import TalkPress
from desktop_app.gui.session import WindowSession
from desktop_app.gui.talk_bar import TalkBar
from desktop_app.gui.talk_state import TalkStateModel

METER_MS = 40


class TalkControl(QObject):
    def __init__(
        self,
        window: QWidget,
        session: WindowSession,
        capture: SpeechCapture,
        talk_bar: TalkBar,
        mic_label: QLabel,
        microphone: OpenStream | None,  # None: none could be opened (``mic_problem`` says why)
        mic_problem: str | None,
        own_microphone: bool,  # False: injected (tests), the settings' device is left alone
        frame_for_turn: Callable[[], bytes | None],
        keep_setting: Callable[[Settings], None],  # the hands-free choice, kept in the settings
        show_status: Callable[[str], None],
        show_message: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        settings = session.settings
        self._window = window
        self._session = session
        self._talk_bar = talk_bar
        self._mic_label = mic_label
        self._own_microphone = own_microphone
        self._mic_device = settings.audio_input_device
        self._mic_problem = mic_problem
        self._frame_for_turn = frame_for_turn
        self._keep_setting = keep_setting
        self._show_status = show_status
        self._show_message = show_message
        self.closing = False

        self.microphone = ArmedMicrophone(microphone, capture.feed, self)
        self.microphone.lost.connect(self._on_microphone_lost)
        self.microphone.armedChanged.connect(self._on_armed)
        self.talk_press = TalkPress(capture, self.arm_microphone, lambda: session.settings.push_to_talk_key, self)
        self.talk_press.recordingChanged.connect(self._meter_running)
        self.talk_press.message.connect(show_message)
        talk_bar.talkPressed.connect(self.press)
        talk_bar.talkReleased.connect(self.talk_press.release)
        talk_bar.sendRequested.connect(self.send_text)
        talk_bar.stopRequested.connect(self.stop)
        self.hands_free = HandsFreeController(session, capture, self._arm_for_hands_free, self.microphone.level, self)
        self.hands_free.stateChanged.connect(self._on_listen_state)
        self.hands_free.message.connect(show_message)
        talk_bar.handsFreeToggled.connect(self.set_hands_free)
        self.state = TalkStateModel(session, capture, self.talk_press, self.hands_free, self)
        self.hotkeys = Hotkeys(window, self.press, self.talk_press.release, self.stop)
        self.hotkeys.set_talk_key(settings.push_to_talk_key)
        talk_bar.set_talk_key_name(settings.push_to_talk_key)
        QApplication.instance().installEventFilter(self.hotkeys)
        self.global_hotkey = GlobalHotkey(self)  # the same key while other windows have the focus (X11)
        self.global_hotkey.pressed.connect(self.press)
        self.global_hotkey.released.connect(self.talk_press.release)
        self._apply_global_hotkey(settings)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(METER_MS)
        self._meter_timer.timeout.connect(self._tick)

    # ---- talking --------------------------------------------------------------------

    def press(self) -> None:
        """The Talk button or the talk key went down."""
        if self.hands_free.enabled:
            self._show_message("Hands-free is on: just talk (Esc stops the reply)")
            return
        self.talk_press.press()

    def send_text(self, text: str) -> bool:
        data = TurnInput(text=text, image_jpeg=self._frame_for_turn())
        if not self._session.submit(data):
            self._show_message("Models are still loading: try again in a moment")
            return False
        self._talk_bar.input.clear()
        return True

    def stop(self) -> None:
        """Stop or Esc: a held press is discarded, else the reply stops."""
        if self.talk_press.discard():
            self._show_message("Recording discarded")
            return
        if self._session.cancel():
            self._show_message("Stopped")

    # ---- hands-free -----------------------------------------------------------------

    def set_hands_free(self, on: bool, remember: bool = True) -> bool:
        """The hands-free switch. False when the microphone could not be opened."""
        if on and self.talk_press.recording:
            self.stop()  # a held push-to-talk is discarded
        ok = self.hands_free.set_enabled(on)
        self.state.update()
        self._meter_running(self.talk_press.recording)
        if ok:
            self._show_message("Hands-free: just talk; a pause sends, talking over the reply stops it" if on else "Push-to-talk")
            if remember and self._session.settings.hands_free != on:
                self._keep_setting(dataclasses.replace(self._session.settings, hands_free=on))
        return ok

    def _on_listen_state(self, state: str) -> None:
        if state == "off":
            self._meter_running(self.talk_press.recording)

    # ---- the level meter ------------------------------------------------------------

    def _meter_running(self, on: bool) -> None:
        if on or self.hands_free.enabled:
            self._meter_timer.start()
        else:
            self._meter_timer.stop()
            self._talk_bar.meter.set_level(0.0)

    def _tick(self) -> None:
        if self.hands_free.enabled:
            self.hands_free.poll()
        live = self.talk_press.recording or self.hands_free.enabled
        self._talk_bar.meter.set_level(self.microphone.level() if live else 0.0)

    # ---- the microphone -------------------------------------------------------------

    def arm_microphone(self) -> str | None:
        """Open the microphone (once; it stays open while the window can take speech)."""
        if self.closing or not self.microphone.available:
            return self._mic_problem or "no microphone"
        hidden = not self._window.isVisible()
        if self._session.settings.close_microphone_when_hidden and hidden and not self.global_hotkey.active:
            return None
        problem = self.microphone.arm()
        if problem:
            self._mic_problem = problem
            self._mic_label.setText(f"\u26a0 {problem}")
        return problem

    def _arm_for_hands_free(self, on: bool = True) -> str | None:
        """Hands-free listens on small blocks (its VAD and barge-in), push-to-talk on big ones."""
        if not on:
            self.microphone.set_block_ms(IDLE_BLOCK_MS)
            return None
        problem = self.microphone.set_block_ms(LIVE_BLOCK_MS)
        return problem or self.arm_microphone()

    def _on_armed(self, armed: bool) -> None:
        label = self._mic_label
        if armed:
            self._mic_problem = None
            label.setText("\u25cf Microphone on")
            label.setToolTip("The microphone is open; nothing is kept but the last 300 ms until you talk")
        elif self._mic_problem is None:
            label.setText("Microphone closed")
            label.setToolTip("Closed while the window is hidden (settings: close the microphone when hidden)")

    def _on_microphone_lost(self, why: str) -> None:
        self._mic_problem = why
        self._mic_label.setText(f"\u26a0 {why}")
        self.talk_press.discard()
        if self.hands_free.enabled:
            self.hands_free.set_enabled(False)
            self._show_status(f"\u26a0 Hands-free is off: {why}")
        else:
            self._show_status(f"\u26a0 {why}")

    def _close_microphone(self) -> None:
        self.talk_press.discard()
        self.microphone.disarm()

    # ---- the window shown, hidden, minimized ----------------------------------------

    def window_shown(self) -> None:
        if self.microphone.available and not self.microphone.armed and not self.closing:
            QTimer.singleShot(0, self.arm_microphone)

    def window_state_changed(self) -> None:
        """Minimized or back (a ``WindowStateChange``)."""
        if self._session.settings.close_microphone_when_hidden:
            if self._window.isMinimized() and not self.hands_free.enabled:
                self._close_microphone()
            elif not self._window.isMinimized():
                QTimer.singleShot(0, self.arm_microphone)

    def window_hidden(self, spontaneous: bool) -> None:
        if self._session.settings.close_microphone_when_hidden and not self.hands_free.enabled and not spontaneous:
            self._close_microphone()

    # ---- settings -------------------------------------------------------------------

    def _apply_global_hotkey(self, settings: Settings) -> None:
        if not settings.push_to_talk_global:
            self.global_hotkey.stop()
            return
        if self.global_hotkey.active and self.global_hotkey.key_name == settings.push_to_talk_key:
            return
        problem = self.global_hotkey.start(settings.push_to_talk_key)
        if problem:
            self._show_message(f"\u26a0 Global push-to-talk is off: {problem}")

    def apply_settings(self, settings: Settings) -> None:
        """New settings: the keys, the microphone's device, hands-free."""
        self._apply_global_hotkey(settings)
        self.hotkeys.set_talk_key(settings.push_to_talk_key)
        self._talk_bar.set_talk_key_name(settings.push_to_talk_key)
        if self._own_microphone and settings.audio_input_device != self._mic_device and not self.talk_press.recording:
            self._mic_device = settings.audio_input_device
            open_stream, problem = open_device(settings.audio_input_device)
            self._mic_problem = problem
            self.microphone.set_open_stream(open_stream)
            if problem:
                self._mic_label.setText(f"\u26a0 {problem}")
            else:
                self.arm_microphone()
        self.hands_free.apply_settings(settings)
        if settings.hands_free != self.hands_free.enabled:
            self.set_hands_free(settings.hands_free, remember=False)

    # ---- closing --------------------------------------------------------------------

    def close(self) -> None:
        self.closing = True
        QApplication.instance().removeEventFilter(self.hotkeys)
        self.global_hotkey.stop()
        self.hands_free.close()
        self._close_microphone()
