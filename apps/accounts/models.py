from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.privacy.fields import BlindIndexField, EncryptedTextField


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored: a database dump yields no usable
    token. Tokens expire, and a revoked token is refused at once."""

    class Kind(models.TextChoices):
        PASSWORD = "password", _("password login")
        WECHAT = "wechat", _("WeChat mini program")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token in a list.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_token_user_active")]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class WeChatAccount(models.Model):
    """A mini-program user (openid under our app id) mapped to a patient account.

    The openid identifies a person across sessions, so it is stored encrypted and
    found through its blind index; WeChat's session_key (needed to decrypt data the
    mini program sends later) is encrypted too."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wechat_account")
    app_id = models.CharField(max_length=64)
    openid = EncryptedTextField()
    openid_index = BlindIndexField(source="openid", kind="wechat_openid")
    unionid = EncryptedTextField(blank=True)
    session_key = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app_id", "openid_index"], name="wechat_openid_unique_per_app")]
