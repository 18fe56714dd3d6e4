"""The main window: video, transcript, reply pane, conversations, talk bar.

The window lays out its widgets and assembles the parts that give them their jobs:

* :class:`~desktop_app.gui.session.WindowSession`: this computer's engine;
* :class:`~desktop_app.gui.source_switcher.SourceSwitcher`: what the AI sees;
* :class:`~desktop_app.gui.talk_control.TalkControl`: the microphone, push-to-talk,
  hands-free and their keys, and the talk state the window renders;
* :class:`~desktop_app.gui.conversation_control.ConversationControl`: this computer's
  conversation, the saved ones, export; shown by
  :class:`~desktop_app.gui.conversation_panes.ConversationPanes`;
* :class:`~desktop_app.gui.settings_control.SettingsControl`: the settings dialog, saving
  and applying;
* :class:`~desktop_app.gui.host_switch.HostSwitch`: the Host switch and the browsers;
* :class:`~desktop_app.gui.window_layout_memory.WindowLayoutMemory`: where the user left
  the window.

Its public methods are what the user (or ``aiwebcam``'s options) can do; each is done by
its part.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
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
from desktop_app.core.conversation import Conversation
from desktop_app.gui.armed_microphone import OpenStream, open_device
from desktop_app.gui.conversation_control import ConversationControl
from desktop_app.gui.conversation_panes import ConversationPanes
from desktop_app.gui.conversations_panel import ConversationsPanel
from desktop_app.gui.host_switch import HostSwitch
from desktop_app.gui.icons import app_icon, icon
from desktop_app.gui.markdown_view import MarkdownView
from desktop_app.gui.session import WindowSession
from desktop_app.gui.settings_control import SettingsControl
from desktop_app.gui.settings_dialog import SettingsDialog
from desktop_app.gui.source_switcher import SourceSwitcher
from desktop_app.gui.status_bar import StatusBar
from desktop_app.gui.talk_bar import TalkBar
from desktop_app.gui.talk_control import TalkControl
from desktop_app.gui.talk_state import Phase, TalkState
from desktop_app.gui.transcript_view import TranscriptEntry, TranscriptView
from desktop_app.gui.video_view import VideoView
from desktop_app.gui.view_indicator import ViewIndicator
from desktop_app.gui.window_layout_memory import WindowLayoutMemory

if TYPE_CHECKING:
    from desktop_app.media.capture import FrameSource
    from desktop_app.server import ServerConfig

DEFAULT_SIZE = QSize(1280, 800)
# After the talk key comes up, the turn starts this much later: the device's input latency
# (PortAudio reports ~40 ms) still holds the last word, and a held key under X sends
# autorepeat release/press pairs (Qt does not always mark them): a press within the tail
# resumes the same utterance instead of cutting it into 40 ms pieces (measured under Xvfb
# with xdotool: every hold became "too short").
# The tail ends with the first microphone block captured after the release (30 ms at least,
# for those autorepeat pairs): on 100 ms blocks, 50 ms on average instead of 100.
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
        self.session = WindowSession(settings, paths, use_speaker=use_speaker, parent=self)
        self._closing = False
        own_microphone = microphone is None  # else injected (tests): settings leave it alone
        mic_problem = None
        if microphone is None:
            microphone, mic_problem = open_device(settings.audio_input_device)
        self._build_widgets()
        self.panes = ConversationPanes(self.transcript, self.reply)
        self.host = HostSwitch(self, host_config)
        self.host.hostingChanged.connect(self._on_hosting)
        self._build_toolbar()
        self._build_status_bar(mic_problem)
        self.source_switcher = SourceSwitcher(self.source_combo, self.video, self.view_indicator, self.session, self)
        self.source_switcher.message.connect(self.show_message)
        self.layout_memory = WindowLayoutMemory(
            self, [self.main_splitter, self.left_splitter, self.right_splitter], paths.config_dir, remember_layout
        )
        self.settings_control = SettingsControl(self.session, paths, self, self._apply_window_settings, self._rebind)
        self.settings_control.status.connect(self.show_status)
        self.settings_control.message.connect(self.show_message)

        # One capture path (core.capture): the armed microphone feeds it every block; push-to-talk
        # and hands-free only switch what it does with them.
        self.capture = SpeechCapture(None, CaptureOptions(tail_ms=RELEASE_TAIL_MS, tail_ends_with_block=True), frame_source=self.source_switcher.frame_for_turn)
        self.talk_control = TalkControl(
            self,
            self.session,
            self.capture,
            self.talk_bar,
            self.mic_label,
            microphone,
            mic_problem,
            own_microphone,
            frame_for_turn=self.source_switcher.frame_for_turn,
            keep_setting=self.settings_control.keep,
            show_status=self.show_status,
            show_message=self.show_message,
        )
        self.talk_bar.input.textEdited.connect(self.source_switcher.look_while_typing)
        self.microphone = self.talk_control.microphone
        self.talk_press = self.talk_control.talk_press
        self.hands_free = self.talk_control.hands_free
        self.talk_state = self.talk_control.state
        self.talk_state.changed.connect(self._render_state)
        self.settings_control.applied.connect(self.talk_state.update)

        self.conversation_control = ConversationControl(
            self.session,
            paths,
            self.panes,
            self.conversations,
            self,
            turn_image=self.source_switcher.take_turn_image,
            no_speech_hint=self._no_speech_hint,
            show_local=lambda: self.host.show_view(""),
        )
        self.conversation_control.message.connect(self.show_message)
        self.conversation_control.viewGiven.connect(self.view_indicator.show_view)
        self.session.status.connect(self.show_status)
        self.session.audioStatus.connect(self.speaker_label.setText)
        self.session.ready.connect(self._on_ready)
        self.session.engineChanged.connect(self._on_engine_changed)
        self.session.failed.connect(self._on_failed)
        self._connect_actions()

        stored_source = self.layout_memory.restore()
        self.source_switcher.select(self.source_switcher.pick(video, stored_source if video == "auto" else ""))
        self.conversation_control.refresh_list()
        QTimer.singleShot(0, self.talk_control.arm_microphone)  # once the loop runs: the microphone opens once
        if settings.hands_free:
            self.set_hands_free(True, remember=False)

    # ---- layout ---------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.video = VideoView()
        self.transcript = TranscriptView()
        self.reply = MarkdownView()
        self.conversations = ConversationsPanel()
        self.talk_bar = TalkBar()
        self.talk_bar.show_state(TalkState(Phase.LOADING))

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
        bar.addWidget(self.source_combo)
        self.view_indicator = ViewIndicator()
        bar.addWidget(self.view_indicator)
        bar.addSeparator()
        self.new_action = QAction(icon("new"), "New conversation", self, shortcut=QKeySequence.StandardKey.New)
        self.export_action = QAction(icon("export"), "Export", self, shortcut=QKeySequence("Ctrl+E"))
        bar.addAction(self.new_action)
        self.settings_action = QAction(icon("settings"), "Settings", self, shortcut=QKeySequence("Ctrl+,"))
        self.settings_action.setToolTip("Models, key, voice, devices, hotkey, system prompt")
        bar.addAction(self.settings_action)
        self.device_check_action = QAction(icon("mic"), "Device check", self)
        self.device_check_action.setToolTip("Check the microphone, speaker, echo, camera and a spoken turn")
        bar.addAction(self.device_check_action)
        self.host_action = QAction(icon("host"), "Host", self, checkable=True)
        self.host_action.setToolTip("Let browsers on this network join: shows a link and a QR code")
        bar.addAction(self.host_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.addAction(self.export_action)

    def _connect_actions(self) -> None:
        self.new_action.triggered.connect(self.new_conversation)
        self.export_action.triggered.connect(self.conversation_control.export_dialog)
        self.settings_action.triggered.connect(self.open_settings)
        self.device_check_action.triggered.connect(self.open_device_check)
        self.host_action.toggled.connect(self.set_hosting)

    def _build_status_bar(self, mic_problem: str | None) -> None:
        status = StatusBar(self)
        self.setStatusBar(status)
        self.status_label = status.state_label  # the talk state, else the session's last line
        self._status_note = "Loading models..."
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy until the models are ready
        self.progress.setFixedWidth(120)
        self.progress.setTextVisible(False)
        self.mic_label = QLabel(f"\u26a0 {mic_problem}" if mic_problem else "Opening the microphone...")
        self.mic_label.setObjectName("micLabel")
        self.speaker_label = QLabel("")
        self.speaker_label.setObjectName("speakerLabel")
        for label in (self.mic_label, self.speaker_label):
            label.setMinimumWidth(1)  # a long line is cut, it does not widen the window past the screen
        status.addWidget(self.progress)
        status.addPermanentWidget(self.mic_label)
        status.addPermanentWidget(self.speaker_label)

    # ---- what the user can do -------------------------------------------------------

    @property
    def video_source(self) -> FrameSource | None:
        return self.source_switcher.video_source

    def select_source_kind(self, kind: str) -> None:
        self.source_switcher.select_kind(kind)

    def select_region(self, x: int, y: int, width: int, height: int, screen: int = 0) -> None:
        """Show the AI this region of a screen (logical pixels, from the screen's top left)."""
        self.source_switcher.select_region(x, y, width, height, screen)

    def send_text(self, text: str) -> bool:
        return self.talk_control.send_text(text)

    def stop(self) -> None:
        self.talk_control.stop()

    def set_hands_free(self, on: bool, remember: bool = True) -> bool:
        """The hands-free switch. False when the microphone could not be opened."""
        return self.talk_control.set_hands_free(on, remember)

    def new_conversation(self) -> None:
        self.conversation_control.new()

    def open_conversation(self, conversation_id: str) -> None:
        self.conversation_control.open(conversation_id)

    def show_conversation(self, conversation: Conversation) -> None:
        self.conversation_control.show(conversation)

    def open_settings(self) -> SettingsDialog:
        """Show the settings dialog (not modal); saving applies without a restart."""
        return self.settings_control.open_dialog()

    def open_device_check(self):
        from desktop_app.gui.device_check_dialog import open_device_check

        return open_device_check(self)

    def set_hosting(self, on: bool) -> asyncio.Task:
        """The Host switch: start or stop the browser server (shares this window's models)."""
        return self.host.set_hosting(on)

    # ---- the parts together ---------------------------------------------------------

    def _apply_window_settings(self, settings: Settings) -> None:
        self.talk_control.apply_settings(settings)

    def _rebind(self):
        """What moves to new backends before the old ones close: a hosted server."""
        return self.host.rebind if self.host.running else None

    def _no_speech_hint(self) -> str:
        if self.hands_free.enabled:
            return "speak a little louder"
        return f"hold {self.session.settings.push_to_talk_key} while you speak"

    def _on_hosting(self, on: bool) -> None:
        self.host_action.blockSignals(True)
        self.host_action.setChecked(on)
        self.host_action.blockSignals(False)

    def show_local_view(self) -> None:
        """Back to this computer: its video source, conversation and talk bar."""
        self.source_switcher.show_on_video()
        self.panes.show(self.conversation_control.entries)
        self.source_combo.setEnabled(True)
        self.talk_state.set_remote(False)

    def show_remote_view(self, source: FrameSource, entries: list[TranscriptEntry]) -> None:
        """A connected browser: its video and conversation; talking waits for "This computer"."""
        self.video.set_source(source, "Waiting for the browser's video...")
        self.panes.show(entries)
        self.source_combo.setEnabled(False)
        self.talk_state.set_remote(True)

    def _on_ready(self) -> None:
        self.capture.bind(self.session.engine)
        self.source_switcher.show_view_source()
        engine = self.session.engine
        if engine is not None:
            b = engine.backends
            self.show_status(f"Ready \u00b7 speech {b.asr.name} \u00b7 language {b.llm.name} \u00b7 voice {b.tts.name}")

    def _on_engine_changed(self) -> None:
        self.capture.bind(self.session.engine)
        self.source_switcher.show_view_source()

    def _on_failed(self, message: str) -> None:
        self.show_status(f"\u26a0 {message}")

    # ---- the status bar -------------------------------------------------------------

    def _render_state(self, state: TalkState) -> None:
        """The talk state (gui.talk_state), on every widget that shows it."""
        self.talk_bar.show_state(state, interruptible=self.session.settings.barge_in)
        self.video.set_recording(state.recording)
        self.status_label.setText(state.status_line(self._status_note))
        self.progress.setVisible(state.phase == Phase.LOADING)

    def show_status(self, text: str) -> None:
        """The status line while nothing else is going on (the talk state comes first)."""
        self._status_note = text
        self.talk_state.update()
        self.status_label.setText(self.talk_state.state.status_line(text))

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    # ---- shown, hidden, closed ------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.talk_control.window_shown()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self.talk_control.window_state_changed()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().hideEvent(event)
        self.talk_control.window_hidden(event.spontaneous())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self._closing:
            self._closing = True
            self.layout_memory.save(self.source_combo.currentText())
            self.source_switcher.close()
            self.talk_control.close()
            self.host.close()
        super().closeEvent(event)

    async def aclose(self) -> None:
        """After close: what is being saved or applied ends, hosting stops, then the engine."""
        await self.settings_control.aclose()
        await self.host.aclose()
        await self.capture.aclose()
        await self.session.aclose()
