import re
import uuid

from .request_context import RequestInfo, reset_request_info, set_request_info

_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(meta) -> str | None:
    # Behind a proxy, the proxy must overwrite X-Forwarded-For; we take its first hop
    # only when the deployment says so (production sets USE_X_FORWARDED_FOR).
    from django.conf import settings

    if getattr(settings, "USE_X_FORWARDED_FOR", False):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return meta.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID when well-formed) that
    appears in logs, audit events and the response header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = set_request_info(
            RequestInfo(
                request_id=request_id,
                ip=client_ip(request.META),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            reset_request_info(token)
        response["X-Request-ID"] = request_id
        return response
