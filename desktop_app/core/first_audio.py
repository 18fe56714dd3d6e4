"""The first audio of a reply gets the CPU.

On two cores, a local voice synthesizing the reply's first chunk while a local model
decodes the next tokens takes about twice as long as alone. The first audio is what the
user waits for; the next tokens are not (the first chunk plays for a second or more). So
while the first packet is made, the model waits between tokens (``ChatModel.hold``,
which never lasts longer than the model allows).
"""

from __future__ import annotations

from typing import AsyncIterator

from desktop_app.core.ports import ChatModel


async def model_held_until_first_packet(packets: AsyncIterator[bytes], llm: ChatModel, hold: bool = True) -> AsyncIterator[bytes]:
    """``packets``, with ``llm`` held until the first one (``hold=False``: as they are)."""
    if hold:
        llm.hold(True)
    try:
        async for packet in packets:
            if hold:
                llm.hold(False)
                hold = False
            yield packet
    finally:
        if hold:
            llm.hold(False)
