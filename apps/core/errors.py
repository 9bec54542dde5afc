"""One error shape for every 4xx/5xx the API returns:

    {"error": {"code": "...", "message": "...", "fields": {...}}}
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from .exceptions import DomainError


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten_field_errors(detail) -> dict:
    """DRF's nested ValidationError detail -> {"field": ["message", ...]}."""
    if isinstance(detail, dict):
        flat = {}
        for name, value in detail.items():
            if isinstance(value, dict):
                for sub_name, sub_value in _flatten_field_errors(value).items():
                    flat[f"{name}.{sub_name}"] = sub_value
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub_name, sub_value in _flatten_field_errors(item).items():
                        flat[f"{name}[{index}].{sub_name}"] = sub_value
            else:
                flat[name] = [str(item) for item in (value if isinstance(value, list) else [value])]
        return flat
    return {"non_field_errors": [str(item) for item in (detail if isinstance(detail, list) else [detail])]}


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "malformed_request",
}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_default_handler(exc, context)
    if response is None:
        return None  # An unexpected error: let Django log it and answer 500.

    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _("Some fields are invalid; correct them and try again."),
                          _flatten_field_errors(exc.detail))
    else:
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
        detail = exc.detail
        if code is None:
            code = getattr(detail, "code", None) or "error"
        elif isinstance(exc, exceptions.AuthenticationFailed) and getattr(detail, "code", None) not in (None, "authentication_failed"):
            code = detail.code  # e.g. token_expired, token_revoked
        message = str(detail) if not isinstance(detail, (dict, list)) else _("The request failed.")
        body = error_body(code, message)
        if isinstance(exc, exceptions.Throttled) and exc.wait:
            body["error"]["fields"] = {"retry_after_seconds": [str(int(exc.wait))]}
    response.data = body
    return response


def _json_error(request, code: str, message: str, http_status: int):
    return JsonResponse(error_body(code, message), status=http_status)


# Django-level handlers: the API must answer with the same shape even for URLs no view
# matched, and the web admin keeps its HTML pages.
def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return _json_error(request, "not_found", _("No such resource."), status.HTTP_404_NOT_FOUND)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return _json_error(request, "permission_denied", _("You may not do this."), status.HTTP_403_FORBIDDEN)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler400(request, exception=None):
    if _is_api(request):
        return _json_error(request, "malformed_request", _("The request could not be understood."), status.HTTP_400_BAD_REQUEST)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler500(request):
    if _is_api(request):
        return _json_error(request, "server_error", _("Something went wrong on our side; it has been logged."), 500)
    from django.views.defaults import server_error

    return server_error(request)
