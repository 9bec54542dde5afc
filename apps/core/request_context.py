"""Per-request facts (request id, client address, user agent) that deep layers such
as the audit service need without every caller passing them down."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


_current: ContextVar[RequestInfo] = ContextVar("request_info", default=RequestInfo())


def current_request_info() -> RequestInfo:
    return _current.get()


def set_request_info(info: RequestInfo):
    return _current.set(info)


def reset_request_info(token) -> None:
    _current.reset(token)
