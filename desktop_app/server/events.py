"""What the server tells its listeners (the desktop app's view of connected browsers).

:meth:`~desktop_app.server.app.WebcamServer.subscribe` hands every listener these, on the
server's event loop: a browser joined (:class:`SessionAdded`), left
(:class:`SessionRemoved`), its peer connection changed state (:class:`SessionStateChanged`),
or its engine emitted an event (:class:`SessionEvent`).

A session knows nothing of these: the server makes them from its sessions' callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from desktop_app.core.events import Event

if TYPE_CHECKING:
    from desktop_app.server.session import BrowserSession


@dataclass(frozen=True)
class SessionAdded:
    session: BrowserSession


@dataclass(frozen=True)
class SessionRemoved:
    session: BrowserSession


@dataclass(frozen=True)
class SessionStateChanged:
    session: BrowserSession
    state: str  # the RTCPeerConnection's connectionState


@dataclass(frozen=True)
class SessionEvent:
    """An engine event of one session (AudioPacket included: a view may play it)."""

    session: BrowserSession
    event: Event


ServerEvent = Union[SessionAdded, SessionRemoved, SessionStateChanged, SessionEvent]
