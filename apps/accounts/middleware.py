from .services import TokenError, token_authenticate


def bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class BearerTokenMiddleware:
    """Resolve `Authorization: Bearer <token>` once per request, before tenancy, so
    the tenant middleware knows the user. A bad token leaves the user anonymous and
    records why; the DRF authentication class turns that into a 401 with the code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.api_token = None
        request.api_token_error = None
        raw = bearer_token(request)
        if raw is not None:
            from django.contrib.auth.models import AnonymousUser

            try:
                request.api_token = token_authenticate(raw=raw)
                request.user = request.api_token.user
            except TokenError as error:
                request.api_token_error = error
                request.user = AnonymousUser()
        return self.get_response(request)
