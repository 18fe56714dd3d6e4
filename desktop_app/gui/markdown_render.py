"""Markdown -> HTML for Qt's rich-text engine: highlighted code with copy links.

No Qt here: the result is HTML that QTextBrowser understands (inline styles, tables
with border attributes) plus the raw text of each code block, which the view copies
when a ``copy:N`` link is clicked.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name, guess_lexer
from pygments.util import ClassNotFound

CODE_STYLE = "github-dark"
CODE_BACKGROUND = "#0d1117"
CODE_HEADER = "#161b22"
TEXT_COLOR = "#e6e9ef"
LINK_COLOR = "#6cb6ff"


@dataclass
class RenderedMarkdown:
    html: str
    code_blocks: list[str] = field(default_factory=list)


def _lexer(language: str, code: str):
    if language:
        try:
            return get_lexer_by_name(language)
        except ClassNotFound:
            pass
    try:
        return guess_lexer(code) if len(code) > 40 else TextLexer()
    except ClassNotFound:
        return TextLexer()


_FORMATTER = HtmlFormatter(style=CODE_STYLE, noclasses=True, nowrap=True)


def highlight_code(code: str, language: str) -> str:
    """Pygments HTML spans with inline colours (no wrapping <pre>)."""
    return highlight(code, _lexer(language, code), _FORMATTER)


def _code_block(index: int, code: str, language: str) -> str:
    label = html.escape(language or "code")
    body = highlight_code(code, language).rstrip("\n")
    return (
        f'<table width="100%" cellspacing="0" cellpadding="6" border="0" style="margin-top:6px; margin-bottom:8px;">'
        f'<tr><td bgcolor="{CODE_HEADER}"><span style="color:#8b949e; font-size:small;">{label}</span>'
        f'&nbsp;&nbsp;&nbsp;<a href="copy:{index}" style="color:{LINK_COLOR}; text-decoration:none; font-size:small;">Copy</a></td></tr>'
        f'<tr><td bgcolor="{CODE_BACKGROUND}"><pre style="font-family:\'DejaVu Sans Mono\',monospace; color:#e6edf3;">{body}</pre></td></tr>'
        f"</table>"
    )


def code_title(code: str, language: str) -> str:
    """A code block in one line: "python code, 12 lines" ("code, 3 lines" when the fence names no language)."""
    lines = len(code.rstrip("\n").splitlines()) or 1
    return f"{language + ' ' if language else ''}code, {lines} line{'s' if lines != 1 else ''}"


def _collapsed_block(code: str, language: str, link: str) -> str:
    title = html.escape(code_title(code, language))
    text = f'<span style="color:#8b949e;">\u25b8 {title}</span>'
    if link:
        text = f'<a href="{html.escape(link)}" style="text-decoration:none;">{text}</a>'
    return (
        f'<table cellspacing="0" cellpadding="4" border="0" style="margin-top:4px; margin-bottom:4px;">'
        f'<tr><td bgcolor="{CODE_HEADER}">{text}</td></tr></table>'
    )


def _fence(_renderer, tokens, idx, _options, env) -> str:
    token = tokens[idx]
    info = token.info.strip()
    language = info.split()[0] if info else ""
    blocks: list[str] = env["code_blocks"]
    blocks.append(token.content)
    if env.get("collapse_code"):
        return _collapsed_block(token.content, language, env.get("link", ""))
    return _code_block(len(blocks) - 1, token.content, language)


def _table_open(_renderer, _tokens, _idx, _options, _env) -> str:
    return '<table border="1" cellspacing="0" cellpadding="5" style="border-color:#3b4252; margin-top:6px; margin-bottom:6px;">\n'


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _fence)
    md.add_render_rule("table_open", _table_open)
    return md


_PARSER = _make_parser()


def render_markdown(text: str, collapse_code: bool = False, link: str = "") -> RenderedMarkdown:
    """HTML for ``text`` (raw HTML in the source is escaped) and its code blocks.

    ``collapse_code``: each code block becomes its one-line title (the transcript's
    view of a reply), a link to ``link`` when given; else highlighted, with Copy.
    """
    env: dict = {"code_blocks": [], "collapse_code": collapse_code, "link": link}
    body = _PARSER.render(text, env)
    return RenderedMarkdown(f'<div style="color:{TEXT_COLOR};">{body}</div>', env["code_blocks"])
