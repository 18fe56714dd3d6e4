"""The main window: video, transcript, reply pane, conversations, talk bar."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop_app.config import AppPaths, Settings
from desktop_app.core.capture import CaptureOptions, SpeechCapture
from desktop_app.core.conversation import Conversation, TurnRecord
from desktop_app.core.events import Event, NoSpeech, ReplyDelta, TurnError, TurnFinished, TurnStarted
from desktop_app.core.turn import TurnInput
from desktop_app.errors import AppError
from desktop_app.gui.conversations_panel import ConversationsPanel
from desktop_app.gui.entry_events import apply_event, metrics_line
from desktop_app.gui.export import conversation_markdown
from desktop_app.gui.armed_microphone import ArmedMicrophone, MicStream, OpenStream
from desktop_app.gui.hands_free_controller import HandsFreeController
from desktop_app.gui.host_view import HostView
from desktop_app.gui.hotkeys import Hotkeys
from desktop_app.gui.icons import app_icon, icon
from desktop_app.gui.markdown_view import MarkdownView
from desktop_app.gui.push_to_talk import PushToTalk
from desktop_app.gui.session import Session
from desktop_app.gui.settings_dialog import SettingsDialog
from desktop_app.gui.talk_bar import TalkBar
from desktop_app.gui.transcript_view import TranscriptEntry, TranscriptView
from desktop_app.gui.video_view import VideoView
from desktop_app.media.capture import FrameSource, SourceChoice, available_sources, frame_jpeg, make_source
from desktop_app.media.devices import device_arg
from desktop_app.media.microphone import Microphone, input_device_problem
from desktop_app.storage import atomic_write_text

if TYPE_CHECKING:
    from desktop_app.media.capture import FrameSource as AnySource
    from desktop_app.server import ServerConfig

DEFAULT_SIZE = QSize(1280, 800)
# After the talk key comes up, the turn starts this much later: the device's input latency
# (PortAudio reports ~40 ms) still holds the last word, and a held key under X sends
# autorepeat release/press pairs (Qt does not always mark them): a press within the tail
# resumes the same utterance instead of cutting it into 40 ms pieces (measured under Xvfb
# with xdotool: every hold became "too short").
RELEASE_TAIL_MS = 100  # (and a 100 ms block of the idle microphone may still be in flight)


def _titled(title: str, widget: QWidget) -> QWidget:
    label = QLabel(title)
    label.setObjectName("paneTitle")
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(8, 6, 8, 8)
    layout.setSpacing(4)
    layout.addWidget(label)
    layout.addWidget(widget)
    return box


def _local_time(iso: str) -> datetime:
    try:
        return datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return datetime.now(timezone.utc).astimezone()


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: Settings,
        paths: AppPaths,
        microphone: OpenStream | None = None,  # opens the microphone stream (default: the device)
        use_speaker: bool = True,
        video: str = "auto",  # "auto": a camera if any, else the test pattern; or a SourceChoice kind
        remember_layout: bool = True,  # restore and save geometry, splitters and source
        host_config: ServerConfig | None = None,  # the Host switch's server (default: LAN, HTTPS, 8443)
    ) -> None:
        super().__init__()
        self.paths = paths
        self.setWindowTitle("AI Webcam")
        self.setWindowIcon(app_icon())
        self.resize(DEFAULT_SIZE)
        self.session = Session(settings, paths, use_speaker=use_speaker, parent=self)
        self.video_source: FrameSource | None = None
        self._following = True  # the reply pane follows the newest reply
        self._pending_image: QImage | None = None
        self._closing = False
        self._remember = remember_layout
        self._local_entries: list[TranscriptEntry] = []
        self._key_location = "keyring" if settings.llm_api_key_in_keyring else ("file" if settings.llm_api_key else "")
        self.settings_dialog: SettingsDialog | None = None

        self._own_microphone = microphone is None  # else injected (tests): settings leave it alone
        self._mic_device = settings.audio_input_device
        mic_problem = None
        if microphone is None:
            microphone, mic_problem = self._microphone_for(settings.audio_input_device)
        self._mic_problem = mic_problem
        self._build_widgets()
        self.transcript.entries = self._local_entries
        self.host = HostView(self, host_config)
        self.host.hostingChanged.connect(self._on_hosting)
        self._build_toolbar()
        self._build_status_bar(mic_problem)

        # One capture path (core.capture): the armed microphone feeds it every block; push-to-talk
        # and hands-free only switch what it does with them.
        self.capture = SpeechCapture(None, CaptureOptions(tail_ms=RELEASE_TAIL_MS), frame_source=self._frame_for_turn)
        self.microphone = ArmedMicrophone(microphone, self.capture.feed, self)
        self.microphone.lost.connect(self._on_microphone_lost)
        self.microphone.armedChanged.connect(self._on_armed)
        self.ptt = PushToTalk(self.capture, self._arm_microphone, lambda: self.session.settings.push_to_talk_key, self)
        self.ptt.recordingChanged.connect(self._on_recording)
        self.ptt.message.connect(self._show_message)
        self.talk_bar.talkPressed.connect(self._talk_pressed)
        self.talk_bar.talkReleased.connect(self.ptt.release)
        self.talk_bar.sendRequested.connect(self.send_text)
        self.talk_bar.stopRequested.connect(self.stop)
        self.hands_free = HandsFreeController(self.session, self.capture, self._arm_for_hands_free, self.microphone.level, self)
        self.hands_free.stateChanged.connect(self._on_listen_state)
        self.hands_free.message.connect(self._show_message)
        self.talk_bar.handsFreeToggled.connect(self.set_hands_free)
        self.hotkeys = Hotkeys(self, self._talk_pressed, self.ptt.release, self.stop)
        self.hotkeys.set_talk_key(settings.push_to_talk_key)
        self.talk_bar.set_talk_key_name(settings.push_to_talk_key)
        QApplication.instance().installEventFilter(self.hotkeys)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(40)
        self._meter_timer.timeout.connect(self._tick)

        self.session.event.connect(self._on_event)
        self.session.status.connect(self._show_status)
        self.session.audioStatus.connect(self.speaker_label.setText)
        self.session.ready.connect(self._on_ready)
        self.session.engineChanged.connect(lambda: self.capture.bind(self.session.engine))
        self.session.failed.connect(self._on_failed)
        self.transcript.selected.connect(self._on_selected)
        self.conversations.openRequested.connect(self.open_conversation)
        self.conversations.newRequested.connect(self.new_conversation)
        self.conversations.exportRequested.connect(self.export_dialog)

        self._restore_layout(video)
        self.refresh_conversations()
        QTimer.singleShot(0, self._arm_microphone)  # once the loop runs: the microphone opens once
        if settings.hands_free:
            self.set_hands_free(True, remember=False)

    # ---- construction ---------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.video = VideoView()
        self.transcript = TranscriptView()
        self.reply = MarkdownView()
        self.conversations = ConversationsPanel()
        self.talk_bar = TalkBar()
        self.talk_bar.set_ready(False)

        self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        self.left_splitter.setObjectName("leftSplitter")
        self.left_splitter.addWidget(_titled("Video", self.video))
        self.left_splitter.addWidget(self.conversations)
        self.left_splitter.setSizes([460, 260])
        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.setObjectName("rightSplitter")
        self.right_splitter.addWidget(_titled("Transcript", self.transcript))
        self.right_splitter.addWidget(_titled("Reply", self.reply))
        self.right_splitter.setSizes([380, 340])
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("mainSplitter")
        self.main_splitter.addWidget(self.left_splitter)
        self.main_splitter.addWidget(self.right_splitter)
        self.main_splitter.setSizes([700, 580])
        for splitter in (self.left_splitter, self.right_splitter, self.main_splitter):
            splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(0)
        layout.addWidget(self.main_splitter, 1)
        layout.addWidget(self.talk_bar)
        self.setCentralWidget(central)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(bar)
        source_label = QLabel("  Source ")
        bar.addWidget(source_label)
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("sourceCombo")
        self.source_combo.setMinimumWidth(230)
        self.source_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.source_choices: list[SourceChoice] = available_sources()
        for choice in self.source_choices:
            self.source_combo.addItem(icon("video"), choice.label)
        self.source_combo.currentIndexChanged.connect(self._on_source_index)
        bar.addWidget(self.source_combo)
        bar.addSeparator()
        self.new_action = QAction(icon("new"), "New conversation", self, shortcut=QKeySequence.StandardKey.New, triggered=self.new_conversation)
        self.export_action = QAction(icon("export"), "Export", self, shortcut=QKeySequence("Ctrl+E"), triggered=self.export_dialog)
        self.stop_action = QAction(icon("stop"), "Stop", self, triggered=self.stop)
        self.stop_action.setToolTip("Stop the reply (Esc)")
        self.stop_action.setEnabled(False)
        bar.addAction(self.new_action)
        self.settings_action = QAction(icon("settings"), "Settings", self, shortcut=QKeySequence("Ctrl+,"), triggered=self.open_settings)
        self.settings_action.setToolTip("Models, key, voice, devices, hotkey, system prompt")
        bar.addAction(self.settings_action)
        self.host_action = QAction(icon("host"), "Host", self, checkable=True)
        self.host_action.setToolTip("Let browsers on this network join: shows a link and a QR code")
        self.host_action.toggled.connect(self.set_hosting)
        bar.addAction(self.host_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.addAction(self.export_action)
        bar.addAction(self.stop_action)

    def _build_status_bar(self, mic_problem: str | None) -> None:
        status = self.statusBar()
        self.status_label = QLabel("Loading models...")
        self.status_label.setObjectName("statusLabel")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy until the models are ready
        self.progress.setFixedWidth(120)
        self.progress.setTextVisible(False)
        self.mic_label = QLabel(f"\u26a0 {mic_problem}" if mic_problem else "Opening the microphone...")
        self.mic_label.setObjectName("micLabel")
        self.speaker_label = QLabel("")
        self.speaker_label.setObjectName("speakerLabel")
        status.addWidget(self.status_label, 1)
        status.addWidget(self.progress)
        status.addPermanentWidget(self.mic_label)
        status.addPermanentWidget(self.speaker_label)

    # ---- layout memory ----------------------------------------------------------------

    def _qsettings(self) -> QSettings:
        return QSettings(str(self.paths.config_dir / "window.ini"), QSettings.Format.IniFormat)

    def _restore_layout(self, video: str) -> None:
        if not self._remember:
            self.select_source(self._pick_source(video, ""))
            return
        stored = self._qsettings()
        geometry = stored.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for splitter in (self.main_splitter, self.left_splitter, self.right_splitter):
            state = stored.value(f"splitters/{splitter.objectName()}")
            if state is not None:
                splitter.restoreState(state)
        wanted = str(stored.value("video/source", "")) if video == "auto" else ""
        self.select_source(self._pick_source(video, wanted))

    def _pick_source(self, video: str, wanted_label: str) -> int:
        labels = [c.label for c in self.source_choices]
        if wanted_label in labels:
            return labels.index(wanted_label)
        kinds = [c.kind for c in self.source_choices]
        if video == "auto":
            return kinds.index("camera") if "camera" in kinds else kinds.index("pattern")
        return kinds.index(video) if video in kinds else kinds.index("pattern")

    def save_layout(self) -> None:
        if not self._remember:
            return
        stored = self._qsettings()
        stored.setValue("geometry", self.saveGeometry())
        for splitter in (self.main_splitter, self.left_splitter, self.right_splitter):
            stored.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
        stored.setValue("video/source", self.source_combo.currentText())
        stored.sync()

    # ---- video ----------------------------------------------------------------------

    def select_source(self, index: int) -> None:
        if self.source_combo.currentIndex() == index:
            self._on_source_index(index)
        else:
            self.source_combo.setCurrentIndex(index)

    def select_source_kind(self, kind: str) -> None:
        self.select_source([c.kind for c in self.source_choices].index(kind))

    def _on_source_index(self, index: int) -> None:
        if self.video_source is not None:
            self.video_source.stop()
            self.video_source.deleteLater()
            self.video_source = None
        choice = self.source_choices[index]
        source = make_source(choice, self)
        if source is not None:
            source.failed.connect(self._show_message)
            source.start()
        self.video_source = source
        self.video.set_source(source, "Video off" if choice.kind == "off" else "Waiting for frames...")

    def _frame_for_turn(self) -> bytes | None:
        image = self.video_source.current_image() if self.video_source is not None else None
        if image is None or image.isNull():
            self._pending_image = None
            return None
        self._pending_image = image.copy()
        return frame_jpeg(image)

    # ---- talking --------------------------------------------------------------------

    def send_text(self, text: str) -> bool:
        data = TurnInput(text=text, image_jpeg=self._frame_for_turn())
        if not self.session.submit(data):
            self._show_message("Models are still loading: try again in a moment")
            return False
        self.talk_bar.input.clear()
        return True

    def stop(self) -> None:
        if self.ptt.discard():
            self._show_message("Recording discarded")
            return
        if self.session.cancel():
            self._show_message("Stopped")

    def _talk_pressed(self) -> None:
        if self.hands_free.enabled:
            self._show_message("Hands-free is on: just talk (Esc stops the reply)")
            return
        self.ptt.press()

    def _on_recording(self, recording: bool) -> None:
        self.talk_bar.set_recording(recording)
        self.video.set_recording(recording)
        self._meter_running(recording)

    def _meter_running(self, on: bool) -> None:
        if on or self.hands_free.enabled:
            self._meter_timer.start()
        else:
            self._meter_timer.stop()
            self.talk_bar.meter.set_level(0.0)

    def _tick(self) -> None:
        if self.hands_free.enabled:
            self.hands_free.poll()
        self.talk_bar.meter.set_level(self.microphone.level() if self.ptt.recording or self.hands_free.enabled else 0.0)

    # ---- the microphone -------------------------------------------------------------

    def _microphone_for(self, device: str) -> tuple[OpenStream | None, str | None]:
        problem = input_device_problem(device_arg(device))
        if problem:
            return None, problem

        def open_stream(on_block, block_ms: int) -> MicStream:
            return Microphone(device_arg(device), on_block=on_block, block_ms=block_ms)

        return open_stream, None

    def _arm_microphone(self) -> str | None:
        """Open the microphone (once; it stays open while the window can take speech)."""
        if self._closing or not self.microphone.available:
            return self._mic_problem or "no microphone"
        if self.session.settings.close_microphone_when_hidden and not self.isVisible():
            return None
        problem = self.microphone.arm()
        if problem:
            self._mic_problem = problem
            self.mic_label.setText(f"\u26a0 {problem}")
        return problem

    def _arm_for_hands_free(self, on: bool = True) -> str | None:
        """Hands-free listens on small blocks (its VAD and barge-in), push-to-talk on big ones."""
        from desktop_app.gui.armed_microphone import IDLE_BLOCK_MS, LIVE_BLOCK_MS

        if not on:
            self.microphone.set_block_ms(IDLE_BLOCK_MS)
            return None
        problem = self.microphone.set_block_ms(LIVE_BLOCK_MS)
        return problem or self._arm_microphone()

    def _on_armed(self, armed: bool) -> None:
        if armed:
            self._mic_problem = None
            self.mic_label.setText("\u25cf Microphone on")
            self.mic_label.setToolTip("The microphone is open; nothing is kept but the last 300 ms until you talk")
        elif self._mic_problem is None:
            self.mic_label.setText("Microphone closed")
            self.mic_label.setToolTip("Closed while the window is hidden (settings: close the microphone when hidden)")

    def _on_microphone_lost(self, why: str) -> None:
        self._mic_problem = why
        self.mic_label.setText(f"\u26a0 {why}")
        self.ptt.discard()
        if self.hands_free.enabled:
            self.hands_free.set_enabled(False)
            self.talk_bar.set_hands_free("off")
            self._show_status(f"\u26a0 Hands-free is off: {why}")
        else:
            self._show_status(f"\u26a0 {why}")

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self.microphone.available and not self.microphone.armed and not self._closing:
            QTimer.singleShot(0, self._arm_microphone)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.WindowStateChange and self.session.settings.close_microphone_when_hidden:
            if self.isMinimized() and not self.hands_free.enabled:
                self.ptt.discard()
                self.microphone.disarm()
            elif not self.isMinimized():
                QTimer.singleShot(0, self._arm_microphone)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().hideEvent(event)
        if self.session.settings.close_microphone_when_hidden and not self.hands_free.enabled and not event.spontaneous():
            self.ptt.discard()
            self.microphone.disarm()

    # ---- hands-free -----------------------------------------------------------------

    def set_hands_free(self, on: bool, remember: bool = True) -> bool:
        """The hands-free switch. False when the microphone could not be opened."""
        if on and self.ptt.recording:
            self.stop()  # a held push-to-talk is discarded
        ok = self.hands_free.set_enabled(on)
        self.talk_bar.set_hands_free(self.hands_free.state.value, interruptible=self.session.settings.barge_in)
        self._meter_running(self.ptt.recording)
        if ok:
            self._show_message("Hands-free: just talk; a pause sends, talking over the reply stops it" if on else "Push-to-talk")
            if remember and self.session.settings.hands_free != on:
                asyncio.ensure_future(self._keep_setting(dataclasses.replace(self.session.settings, hands_free=on)))
        return ok

    def _on_listen_state(self, state: str) -> None:
        self.talk_bar.set_hands_free(state, interruptible=self.session.settings.barge_in)
        self.video.set_recording(state == "hearing")
        if state == "off":
            self._meter_running(self.ptt.recording)

    async def _keep_setting(self, settings: Settings) -> None:
        """Keep a window-only choice (the hands-free switch) in the settings file."""
        from desktop_app.key_store import save_settings_with_key

        self.session.settings = settings
        try:
            _path, self._key_location = await asyncio.to_thread(save_settings_with_key, settings, self.paths)
        except (OSError, AppError) as exc:
            self._show_message(f"\u26a0 Not remembered: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}")

    # ---- engine events --------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """An event of this computer's engine: its entries update even while a browser is shown."""
        shown = self.host.view_id == ""
        if isinstance(event, TurnStarted):
            apply_event(self._local_entries, event, self._pending_image)
            self._pending_image = None
            if shown and self._following:
                self.transcript.selected_index = len(self._local_entries) - 1
                self.reply.set_markdown("")
            self._set_busy(True)
            if shown:
                self.transcript.refresh()
            return
        entry = apply_event(self._local_entries, event)
        if isinstance(event, TurnFinished):
            self._set_busy(False)  # (also when the turn left no entry: no speech, cut at once)
        if entry is None:
            return
        if entry not in self._local_entries and shown:  # removed: it left nothing to show
            entries = self._local_entries
            self.transcript.selected_index = len(entries) - 1 if entries else None
            self.reply.set_markdown(entries[-1].reply_text if entries else "")
        if isinstance(event, ReplyDelta):
            if shown and self._following and self._local_entries[-1] is entry:
                self.reply.set_markdown(entry.reply_text)
        elif isinstance(event, TurnError):
            self._show_message(f"Error: {event.message}")
        elif isinstance(event, NoSpeech):
            hint = "speak a little louder" if self.hands_free.enabled else f"hold {self.session.settings.push_to_talk_key} while you speak"
            self._show_message(f"No speech heard: {hint}")
        elif isinstance(event, TurnFinished):
            self.refresh_conversations()
            if entry.state == "done" and not self.session.applying:
                self._show_status("Ready")
        if shown:
            self.transcript.refresh()

    def _set_busy(self, busy: bool) -> None:
        self.talk_bar.stop_button.setEnabled(busy)
        self.stop_action.setEnabled(busy)

    def _on_selected(self, index: int) -> None:
        self._following = index == len(self.transcript.entries) - 1
        self.reply.set_markdown(self.transcript.entries[index].reply_text, from_top=True)

    def _on_ready(self) -> None:
        self.capture.bind(self.session.engine)
        self.progress.hide()
        self.talk_bar.set_ready(True)
        engine = self.session.engine
        if engine is not None:
            b = engine.backends
            self._show_status(f"Ready \u00b7 speech {b.asr.name} \u00b7 language {b.llm.name} \u00b7 voice {b.tts.name}")

    def _on_failed(self, message: str) -> None:
        self.progress.hide()
        self._show_status(f"\u26a0 {message}")

    def _show_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    show_status = _show_status
    show_message = _show_message

    # ---- settings -------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        """Show the settings dialog (not modal); saving applies without a restart."""
        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            return self.settings_dialog
        dialog = SettingsDialog(self.session.settings, self._key_location, self)
        dialog.saveRequested.connect(lambda settings: asyncio.ensure_future(self.apply_settings(settings)))
        dialog.finished.connect(dialog.deleteLater)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    async def apply_settings(self, settings: Settings) -> bool:
        """Write the settings file (the key to the keyring when one works) and apply them."""
        from desktop_app.key_store import save_settings_with_key

        try:
            _path, self._key_location = await asyncio.to_thread(save_settings_with_key, settings, self.paths)
        except (OSError, AppError) as exc:
            self._show_status(f"\u26a0 Settings not saved: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}")
            return False
        self._apply_window_settings(settings)
        self.progress.show()
        self.talk_bar.set_ready(False)
        try:
            rebind = self.host.rebind if self.host.running else None
            ok = await self.session.apply_settings(settings, rebind)
        finally:
            if self.session.is_ready:
                self.progress.hide()
                self.talk_bar.set_ready(self.host.view_id == "")
        return ok

    def _apply_window_settings(self, settings: Settings) -> None:
        self.hotkeys.set_talk_key(settings.push_to_talk_key)
        self.talk_bar.set_talk_key_name(settings.push_to_talk_key)
        if self._own_microphone and settings.audio_input_device != self._mic_device and not self.ptt.recording:
            self._mic_device = settings.audio_input_device
            open_stream, problem = self._microphone_for(settings.audio_input_device)
            self._mic_problem = problem
            self.microphone.set_open_stream(open_stream)
            if problem:
                self.mic_label.setText(f"\u26a0 {problem}")
            else:
                self._arm_microphone()
        self.hands_free.apply_settings(settings)
        if settings.hands_free != self.hands_free.enabled:
            self.set_hands_free(settings.hands_free, remember=False)

    # ---- hosting --------------------------------------------------------------------

    def set_hosting(self, on: bool) -> asyncio.Future:
        """The Host switch: start or stop the browser server (shares this window's models)."""
        return self.host.set_hosting(on)

    def _on_hosting(self, on: bool) -> None:
        self.host_action.blockSignals(True)
        self.host_action.setChecked(on)
        self.host_action.blockSignals(False)

    def show_local_view(self) -> None:
        """Back to this computer: its video source, conversation and talk bar."""
        choice = self.source_choices[self.source_combo.currentIndex()]
        self.video.set_source(self.video_source, "Video off" if choice.kind == "off" else "Waiting for frames...")
        self._show_entries(self._local_entries)
        self.source_combo.setEnabled(True)
        self.talk_bar.set_ready(self.session.is_ready and not self.session.applying)

    def show_remote_view(self, source: AnySource, entries: list[TranscriptEntry]) -> None:
        """A connected browser: its video and conversation; talking waits for "This computer"."""
        self.video.set_source(source, "Waiting for the browser's video...")
        self._show_entries(entries)
        self.source_combo.setEnabled(False)
        self.talk_bar.set_ready(False)

    def _show_entries(self, entries: list[TranscriptEntry]) -> None:
        self.transcript.entries = entries
        self.transcript.selected_index = len(entries) - 1 if entries else None
        self._following = True
        last = entries[-1] if entries else None
        self.reply.set_markdown(last.reply_text if last else "", from_top=last is not None and last.finished)
        self.transcript.refresh()

    # ---- conversations --------------------------------------------------------------

    def refresh_conversations(self) -> None:
        engine = self.session.engine
        if engine is not None:
            store, current = engine.store, engine.conversation.id
        else:
            from desktop_app.core.engine import default_store

            store, current = default_store(self.paths.data_dir), None
        self.conversations.set_conversations(store.list(), current)

    def new_conversation(self) -> None:
        self.host.show_view("")
        if self.session.new_conversation() is not None:
            self.transcript.clear_entries()
            self._local_entries = self.transcript.entries
            self._following = True
            self.reply.set_markdown("")
            self.refresh_conversations()
            self._show_message("New conversation")

    def open_conversation(self, conversation_id: str) -> None:
        self.host.show_view("")
        conversation = self.session.open_conversation(conversation_id)
        if conversation is None:
            self._show_message("Models are still loading: try again in a moment")
            return
        self.show_conversation(conversation)

    def show_conversation(self, conversation: Conversation) -> None:
        self.host.show_view("")
        self._local_entries = [self._entry_from_record(record) for record in conversation.turns]
        self.transcript.entries = self._local_entries
        self.transcript.selected_index = len(self.transcript.entries) - 1 if self.transcript.entries else None
        self.transcript.refresh()
        self._following = True
        self.reply.set_markdown(conversation.turns[-1].reply_text if conversation.turns else "", from_top=True)
        self.refresh_conversations()

    def _entry_from_record(self, record: TurnRecord) -> TranscriptEntry:
        image = None
        if record.image_file:
            from desktop_app.core.engine import default_store

            store = self.session.engine.store if self.session.engine is not None else default_store(self.paths.data_dir)
            loaded = QImage(str(store.image_path(record.image_file)))
            image = None if loaded.isNull() else loaded
        state = "interrupted" if record.interrupted else ("error" if record.error else "done")
        return TranscriptEntry(
            user_text=record.user_text,
            reply_text=record.reply_text,
            time=_local_time(record.created),
            image=image,
            metrics=metrics_line(record.metrics),
            state=state,
            error=record.error,
        )

    def export_to(self, path: Path) -> Path:
        engine = self.session.engine
        if engine is None:
            raise RuntimeError("no conversation yet")
        atomic_write_text(path, conversation_markdown(engine.conversation))
        return path

    def export_dialog(self) -> None:
        engine = self.session.engine
        if engine is None or not engine.conversation.turns:
            self._show_message("Nothing to export yet")
            return
        name, _ = QFileDialog.getSaveFileName(self, "Export conversation", str(Path.home() / f"{engine.conversation.id}.md"), "Markdown (*.md)")
        if name:
            self.export_to(Path(name))
            self._show_message(f"Exported to {name}")

    # ---- closing --------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self._closing:
            self._closing = True
            self.save_layout()
            if self.video_source is not None:
                self.video_source.stop()
            QApplication.instance().removeEventFilter(self.hotkeys)
            self.hands_free.close()
            self.ptt.discard()
            self.microphone.disarm()
            if self.host.running:
                asyncio.ensure_future(self.host.stop())
        super().closeEvent(event)

    async def aclose(self) -> None:
        """After close: stop hosting, then the engine."""
        if self.host.running:
            await self.host.stop()
        await self.capture.aclose()
        await self.session.aclose()
