"""Map errors of OpenAI-compatible endpoints to one clear line, without secrets."""

from __future__ import annotations

import openai

from desktop_app.errors import EndpointError, redact


def endpoint_error(exc: Exception, what: str, base_url: str, api_key: str = "", mid_reply: bool = False) -> EndpointError:
    """``mid_reply``: the endpoint had answered and the error came while its reply streamed."""
    where = base_url or "https://api.openai.com/v1"
    if mid_reply and isinstance(exc, openai.APITimeoutError):
        msg = f"the {what} endpoint at {where} stopped sending in the middle of the reply (timed out); the reply is cut short"
    elif mid_reply and isinstance(exc, openai.APIConnectionError):
        msg = f"the {what} endpoint at {where} closed the connection in the middle of the reply; the reply is cut short"
    elif isinstance(exc, openai.APITimeoutError):
        msg = f"the {what} endpoint at {where} timed out"
    elif isinstance(exc, openai.APIConnectionError):
        msg = f"cannot reach the {what} endpoint at {where}"
    elif isinstance(exc, openai.AuthenticationError):
        msg = f"the {what} endpoint at {where} rejected the API key (HTTP 401); check OPENAI_API_KEY"
    elif isinstance(exc, openai.PermissionDeniedError):
        msg = f"the {what} endpoint at {where} denied access (HTTP 403)"
    elif isinstance(exc, openai.NotFoundError):
        msg = f"the {what} endpoint at {where} does not know the model or path (HTTP 404)"
    elif isinstance(exc, openai.RateLimitError):
        msg = f"the {what} endpoint at {where} is rate limiting or out of quota (HTTP 429)"
    elif isinstance(exc, openai.APIStatusError):
        msg = f"the {what} endpoint at {where} failed with HTTP {exc.status_code}"
    else:
        msg = f"the {what} endpoint at {where} failed: {type(exc).__name__}"
    return EndpointError(redact(msg, api_key))
