"""Domain errors raised by services and turned into the API's one error shape.

Services raise these (not DRF exceptions) so they stay usable from tasks and
commands; the API layer maps them to 4xx responses with a stable `code`.
"""


class DomainError(Exception):
    status_code = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class PermissionDeniedError(DomainError):
    status_code = 403
    code = "permission_denied"


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"


class RateLimitedError(DomainError):
    status_code = 429
    code = "rate_limited"


class UpstreamUnavailableError(DomainError):
    """A remote service we depend on (WeChat, a partner) failed; the caller may retry."""

    status_code = 503
    code = "upstream_unavailable"
