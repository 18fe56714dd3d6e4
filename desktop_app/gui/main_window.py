"""The main window: video, transcript, reply pane, conversations, talk bar."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

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
from desktop_app.core.conversation import Conversation, TurnRecord
from desktop_app.core.events import (
    ChunkSpoken,
    Event,
    MetricsReady,
    NoSpeech,
    ReplyDelta,
    Transcript,
    TurnCancelled,
    TurnError,
    TurnFinished,
    TurnStarted,
)
from desktop_app.core.metrics import TurnMetrics
from desktop_app.core.turn import TurnInput
from desktop_app.gui.conversations_panel import ConversationsPanel
from desktop_app.gui.export import conversation_markdown
from desktop_app.gui.hotkeys import Hotkeys
from desktop_app.gui.icons import app_icon, icon
from desktop_app.gui.markdown_view import MarkdownView
from desktop_app.gui.push_to_talk import PushToTalk
from desktop_app.gui.session import Session
from desktop_app.gui.talk_bar import TalkBar
from desktop_app.gui.transcript_view import TranscriptEntry, TranscriptView
from desktop_app.gui.video_view import VideoView
from desktop_app.media.capture import FrameSource, SourceChoice, available_sources, frame_jpeg, make_source
from desktop_app.media.microphone import AudioSource, Microphone, input_device_problem
from desktop_app.storage import atomic_write_text

DEFAULT_SIZE = QSize(1280, 800)


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


def _metrics_line(metrics: TurnMetrics | dict) -> str:
    if isinstance(metrics, dict):
        known = {k: v for k, v in metrics.items() if k in TurnMetrics.__dataclass_fields__}
        metrics = TurnMetrics(**known)
    return metrics.summary()


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
        audio_source: AudioSource | None = None,
        use_speaker: bool = True,
        video: str = "auto",  # "auto": a camera if any, else the test pattern; or a SourceChoice kind
        remember_layout: bool = True,  # restore and save geometry, splitters and source
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

        mic_problem = None
        if audio_source is None:
            mic_problem = input_device_problem()
            audio_source = None if mic_problem else Microphone()
        self._build_widgets()
        self._build_toolbar()
        self._build_status_bar(mic_problem)

        self.ptt = PushToTalk(audio_source, self._frame_for_turn, self.session.submit, self.session.cancel, self)
        self.ptt.recordingChanged.connect(self._on_recording)
        self.ptt.message.connect(self._show_message)
        self.talk_bar.talkPressed.connect(self.ptt.press)
        self.talk_bar.talkReleased.connect(self.ptt.release)
        self.talk_bar.sendRequested.connect(self.send_text)
        self.talk_bar.stopRequested.connect(self.stop)
        self.hotkeys = Hotkeys(self, self.ptt.press, self.ptt.release, self.stop)
        QApplication.instance().installEventFilter(self.hotkeys)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(40)
        self._meter_timer.timeout.connect(lambda: self.talk_bar.meter.set_level(self.ptt.level()))

        self.session.event.connect(self._on_event)
        self.session.status.connect(self._show_status)
        self.session.audioStatus.connect(self.speaker_label.setText)
        self.session.ready.connect(self._on_ready)
        self.session.failed.connect(self._on_failed)
        self.transcript.selected.connect(self._on_selected)
        self.conversations.openRequested.connect(self.open_conversation)
        self.conversations.newRequested.connect(self.new_conversation)
        self.conversations.exportRequested.connect(self.export_dialog)

        self._restore_layout(video)
        self.refresh_conversations()

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
        self.mic_label = QLabel(f"\u26a0 {mic_problem}" if mic_problem else "Microphone ready")
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
        if self.ptt.recording:
            self.ptt.recording = False
            if self.ptt.source is not None:
                self.ptt.source.stop()
            self._on_recording(False)
            self._show_message("Recording discarded")
            return
        if self.session.cancel():
            self._show_message("Stopped")

    def _on_recording(self, recording: bool) -> None:
        self.talk_bar.set_recording(recording)
        self.video.set_recording(recording)
        if recording:
            self._meter_timer.start()
        else:
            self._meter_timer.stop()
            self.talk_bar.meter.set_level(0.0)

    # ---- engine events --------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            entry = TranscriptEntry(turn_id=event.turn_id, user_text=event.typed_text or "", image=self._pending_image, state="thinking")
            self._pending_image = None
            index = self.transcript.add(entry)
            if self._following:
                self.transcript.selected_index = index
                self.reply.set_markdown("")
            self._set_busy(True)
            return
        entry = self.transcript.find(getattr(event, "turn_id", ""))
        if entry is None:
            return
        if isinstance(event, Transcript):
            entry.user_text = event.text
        elif isinstance(event, ReplyDelta):
            entry.reply_text += event.text
            entry.state = "speaking"
            if self._following and self.transcript.entries and self.transcript.entries[-1] is entry:
                self.reply.set_markdown(entry.reply_text)
        elif isinstance(event, ChunkSpoken):
            entry.state = "speaking"
        elif isinstance(event, MetricsReady):
            entry.metrics = _metrics_line(event.metrics)
        elif isinstance(event, TurnError):
            entry.error = event.message
            entry.state = "error"
            self._show_message(f"Error: {event.message}")
        elif isinstance(event, NoSpeech):
            entry.state = "no-speech"
            self._show_message("No speech heard: hold Space while you speak")
        elif isinstance(event, TurnCancelled):
            entry.state = "interrupted"
        elif isinstance(event, TurnFinished):
            if event.interrupted:
                entry.state = "interrupted"
            elif entry.state not in ("error", "no-speech"):
                entry.state = "done"
            entry.metrics = entry.metrics or _metrics_line(event.metrics)
            self._set_busy(False)
            self.refresh_conversations()
            if entry.state == "done":
                self._show_status("Ready")
        self.transcript.refresh()

    def _set_busy(self, busy: bool) -> None:
        self.talk_bar.stop_button.setEnabled(busy)
        self.stop_action.setEnabled(busy)

    def _on_selected(self, index: int) -> None:
        self._following = index == len(self.transcript.entries) - 1
        self.reply.set_markdown(self.transcript.entries[index].reply_text)

    def _on_ready(self) -> None:
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
        if self.session.new_conversation() is not None:
            self.transcript.clear_entries()
            self._following = True
            self.reply.set_markdown("")
            self.refresh_conversations()
            self._show_message("New conversation")

    def open_conversation(self, conversation_id: str) -> None:
        conversation = self.session.open_conversation(conversation_id)
        if conversation is None:
            self._show_message("Models are still loading: try again in a moment")
            return
        self.show_conversation(conversation)

    def show_conversation(self, conversation: Conversation) -> None:
        self.transcript.clear_entries()
        for record in conversation.turns:
            self.transcript.entries.append(self._entry_from_record(record))
        self.transcript.selected_index = len(self.transcript.entries) - 1 if self.transcript.entries else None
        self.transcript.refresh()
        self._following = True
        self.reply.set_markdown(conversation.turns[-1].reply_text if conversation.turns else "")
        self.refresh_conversations()

    def _entry_from_record(self, record: TurnRecord) -> TranscriptEntry:
        image = None
        if record.image_file and self.session.engine is not None:
            loaded = QImage(str(self.session.engine.store.image_path(record.image_file)))
            image = None if loaded.isNull() else loaded
        state = "interrupted" if record.interrupted else ("error" if record.error else "done")
        return TranscriptEntry(
            user_text=record.user_text,
            reply_text=record.reply_text,
            time=_local_time(record.created),
            image=image,
            metrics=_metrics_line(record.metrics),
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
        super().closeEvent(event)
