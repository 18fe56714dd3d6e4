"""Any OpenAI-compatible chat endpoint (OpenAI, Ollama, llama.cpp server, vLLM), streamed."""

from __future__ import annotations

from typing import AsyncIterator

import openai

from desktop_app.backends.llm.base import ChatModel, Message, text_only
from desktop_app.backends.openai_client import make_client
from desktop_app.backends.openai_errors import endpoint_error


class OpenAIChatModel(ChatModel):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        vision: bool = False,
        max_tokens: int = 512,
        temperature: float = 0.7,
    ) -> None:
        self.name = f"openai {model}"
        self.vision = vision
        self._base_url = base_url
        self._api_key = api_key
        self._model = model
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._client = make_client(base_url, api_key)

    async def load(self) -> None:
        return None  # nothing to warm: a remote server

    async def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        payload = messages if self.vision else text_only(messages)
        try:
            stream = await self._client.chat.completions.create(
                model=self._model,
                messages=payload,
                stream=True,
                temperature=self._temperature,
                **self._limit(),
            )
        except openai.OpenAIError as exc:
            raise endpoint_error(exc, "chat", self._base_url, self._api_key) from None
        try:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content
                if delta:
                    yield delta
        except openai.OpenAIError as exc:  # the server went away (or stalled) while streaming
            raise endpoint_error(exc, "chat", self._base_url, self._api_key, mid_reply=True) from None
        finally:
            await stream.close()

    def _limit(self) -> dict[str, int]:
        # api.openai.com wants max_completion_tokens; other servers know max_tokens.
        key = "max_tokens" if self._base_url else "max_completion_tokens"
        return {key: self._max_tokens}

    async def aclose(self) -> None:
        await self._client.close()
