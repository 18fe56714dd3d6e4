"""The dark, neutral look: Fusion style, a palette, and a small style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

BG = "#14171c"
PANEL = "#1a1e25"
RAISED = "#232831"
BORDER = "#2d333d"
TEXT = "#e6e9ef"
MUTED = "#8b949e"
ACCENT = "#3b82f6"

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {BG}; }}
QToolBar {{ background: {PANEL}; border: none; border-bottom: 1px solid {BORDER}; padding: 4px; spacing: 6px; }}
QToolBar QLabel {{ color: {MUTED}; }}
QToolButton {{ color: {TEXT}; padding: 4px 8px; border-radius: 6px; }}
QToolButton:hover {{ background: {RAISED}; }}
QStatusBar {{ background: {PANEL}; color: {MUTED}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
QSplitter::handle {{ background: {BG}; }}
QSplitter::handle:horizontal {{ width: 6px; }}
QSplitter::handle:vertical {{ height: 6px; }}
QTextBrowser, QListWidget {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 8px; color: {TEXT}; padding: 6px; }}
QListWidget::item {{ padding: 6px; border-radius: 6px; }}
QListWidget::item:selected {{ background: #27344a; color: {TEXT}; }}
QLabel#paneTitle {{ color: {MUTED}; font-weight: bold; font-size: 9pt; letter-spacing: 1px; text-transform: uppercase; }}
QLineEdit, QComboBox, QSpinBox, QPlainTextEdit {{ background: {RAISED}; border: 1px solid {BORDER}; border-radius: 6px; padding: 6px 8px; color: {TEXT}; selection-background-color: {ACCENT}; }}
QLineEdit:focus, QPlainTextEdit:focus {{ border: 1px solid {ACCENT}; }}
QPushButton {{ background: {RAISED}; border: 1px solid {BORDER}; border-radius: 6px; padding: 6px 12px; color: {TEXT}; }}
QPushButton:hover {{ background: #2b323d; }}
QPushButton:disabled {{ color: #5c636e; }}
QPushButton#talkButton {{ background: #1f6feb; border: 1px solid #388bfd; font-weight: bold; padding: 8px 16px; }}
QPushButton#talkButton:pressed, QPushButton#talkButton[recording="true"] {{ background: #da3633; border-color: #f85149; }}
QPushButton#talkButton:disabled {{ background: #1d2a3f; border-color: {BORDER}; color: #6e7681; }}
QPushButton#talkButton[listen="listening"]:disabled {{ background: #1a4d2e; border-color: #2ea043; color: #aff5b4; }}
QPushButton#talkButton[listen="hearing"]:disabled {{ background: #da3633; border-color: #f85149; color: white; }}
QPushButton#talkButton[listen="replying"]:disabled {{ background: #3c2a6b; border-color: #8957e5; color: #d2a8ff; }}
QPushButton#stopButton {{ padding: 8px 12px; }}
QProgressBar {{ background: {RAISED}; border: none; border-radius: 3px; max-height: 6px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QWidget#bottomBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; }}
QToolTip {{ background: {RAISED}; color: {TEXT}; border: 1px solid {BORDER}; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, BG),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, PANEL),
        (QPalette.ColorRole.AlternateBase, RAISED),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, RAISED),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, RAISED),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED),
        (QPalette.ColorRole.Link, "#6cb6ff"),
    ):
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSize(10)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
