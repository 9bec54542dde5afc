from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.core.errors import error_body
from apps.core.middleware import client_ip
from apps.tenancy.selectors import memberships_active_for_user

from .services import password_login, token_revoke, wechat_login


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    expires_at = serializers.DateTimeField()


def _token_response(raw, token, http_status=status.HTTP_201_CREATED, **extra):
    return Response({"token": raw, "token_type": "Bearer", "expires_at": token.expires_at, **extra},
                    status=http_status)


class TokenCreateApi(APIView):
    """Username and password in, bearer token out."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={201: TokenOutputSerializer}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw, token = password_login(ip=client_ip(request.META), **data.validated_data)
        return _token_response(raw, token)


class TokenRevokeApi(APIView):
    """Revoke the token this request was made with (log out of the API)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if request.auth is None:
            return Response(error_body("not_token_authenticated", "This request did not use a bearer token."),
                            status=status.HTTP_400_BAD_REQUEST)
        token_revoke(token=request.auth, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WeChatLoginApi(APIView):
    """The mini program's login: the `code` from wx.login and the hospital's slug."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=128)
        hospital = serializers.SlugField(max_length=64)

    @extend_schema(request=InputSerializer,
                   responses={201: inline_serializer("WeChatLoginOutput", {
                       "token": serializers.CharField(), "token_type": serializers.CharField(),
                       "expires_at": serializers.DateTimeField(), "new_account": serializers.BooleanField()})},
                   auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw, token, created = wechat_login(code=data.validated_data["code"],
                                           hospital_slug=data.validated_data["hospital"],
                                           ip=client_ip(request.META))
        return _token_response(raw, token, new_account=created)


class MeApi(APIView):
    """Who am I, and where may I act."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        hospital = serializers.CharField(allow_null=True)
        role = serializers.CharField(allow_null=True)
        memberships = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        tenant = request._request.tenant
        memberships = [{"hospital": m.hospital.slug, "role": m.role}
                       for m in memberships_active_for_user(user=request.user)]
        return Response({
            "id": request.user.pk,
            "username": request.user.get_username(),
            "hospital": tenant.hospital.slug if tenant else None,
            "role": tenant.role if tenant else None,
            "memberships": memberships,
        })
