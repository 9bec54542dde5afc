from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """DRF side of BearerTokenMiddleware (which already checked the token once)."""

    keyword = "Bearer"

    def authenticate(self, request):
        django_request = request._request
        error = getattr(django_request, "api_token_error", None)
        if error is not None:
            raise exceptions.AuthenticationFailed(error.message, code=error.code)
        token = getattr(django_request, "api_token", None)
        if token is None:
            return None
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
