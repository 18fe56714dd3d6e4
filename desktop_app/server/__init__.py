"""The browser server (aiohttp + aiortc): remote browsers join a conversation.

Nothing in ``desktop_app.core`` imports this package; it imports the core.
"""

from desktop_app.server.app import ServerConfig, WebcamServer
from desktop_app.server.events import ServerEvent, SessionAdded, SessionEvent, SessionRemoved, SessionStateChanged
from desktop_app.server.session import BrowserSession

__all__ = [
    "ServerConfig",
    "WebcamServer",
    "BrowserSession",
    "ServerEvent",
    "SessionAdded",
    "SessionRemoved",
    "SessionStateChanged",
    "SessionEvent",
]
