"""The browser server (aiohttp + aiortc): remote browsers join a conversation.

Nothing in ``desktop_app.core`` imports this package; it imports the core.
"""

from desktop_app.server.app import ServerConfig, WebcamServer
from desktop_app.server.session import Session, SessionAdded, SessionEvent, SessionRemoved, SessionStateChanged

__all__ = ["ServerConfig", "WebcamServer", "Session", "SessionAdded", "SessionRemoved", "SessionStateChanged", "SessionEvent"]
