from django.urls import path

from . import api

app_name = "accounts"
urlpatterns = [
    path("token/", api.TokenCreateApi.as_view(), name="token-create"),
    path("token/revoke/", api.TokenRevokeApi.as_view(), name="token-revoke"),
    path("wechat/", api.WeChatLoginApi.as_view(), name="wechat-login"),
    path("me/", api.MeApi.as_view(), name="me"),
]
