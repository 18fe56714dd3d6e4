"""What the AI is given of the view, always in sight: "AI sees: camera", "AI reads: screen
text", or "AI cannot see". A click shows the text it read in the last turn."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from desktop_app.core.sight import View


def describe_source(seen_as: str | None, vision: bool, reads_text: bool) -> tuple[str, str]:
    """(button text, tooltip) for a source as the configured model takes it."""
    if seen_as is None:
        return "AI sees: nothing", "No video source: the AI gets only your words."
    if vision:
        extra = " and the text in it (OCR)" if reads_text else ""
        return f"AI sees: {seen_as}", f"The AI is shown the {seen_as} image with your words{extra}."
    if reads_text:
        return (
            f"AI reads: {seen_as} text",
            f"The model cannot see images: it is given the text read (OCR, offline) from the {seen_as} "
            "when you talk. Click to see the text of the last turn.",
        )
    return f"AI cannot see the {seen_as}", "The model cannot see images and reading the text in view is off (Settings)."


class ViewIndicator(QToolButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewIndicator")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.last_view: View | None = None
        self._source_text = ""
        self.clicked.connect(self.show_text)
        self.set_source(None, vision=False, reads_text=False)

    def set_source(self, seen_as: str | None, vision: bool, reads_text: bool) -> None:
        text, tip = describe_source(seen_as, vision, reads_text)
        self._source_text = text
        self.setText(text)
        self.setToolTip(tip)

    def show_view(self, view: View) -> None:
        """A turn's view: what the model got this time."""
        self.last_view = view
        if view.given == "text":
            lines = len(view.text.splitlines())
            self.setText(f"{self._source_text} ({lines} line{'s' if lines != 1 else ''})")
        elif view.given == "no text":
            self.setText(f"{self._source_text} (none in view)")
        else:
            self.setText(self._source_text)

    def show_text(self) -> None:
        dialog = ViewTextDialog(self.last_view, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()


class ViewTextDialog(QDialog):
    """The text the AI was given of the view in the last turn, as it got it."""

    def __init__(self, view: View | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewTextDialog")
        self.setWindowTitle("What the AI was given")
        self.resize(560, 360)
        layout = QVBoxLayout(self)
        if view is None:
            summary = "No turn has used the view yet."
        else:
            summary = f"Last turn: {view.describe()}"
        self.summary = QLabel(summary)
        layout.addWidget(self.summary)
        self.text = QPlainTextEdit()
        self.text.setObjectName("viewText")
        self.text.setReadOnly(True)
        if view is not None and view.text:
            self.text.setPlainText(view.text)
        else:
            self.text.setPlaceholderText("(no text)")
        layout.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
