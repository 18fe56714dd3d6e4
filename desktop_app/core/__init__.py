"""The conversation engine: plain asyncio, no Qt, no aiohttp, no aiortc."""
