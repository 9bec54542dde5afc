from django import forms
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts.services import TokenError, credentials_check
from apps.core.exceptions import RateLimitedError


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's login form, checked by the accounts service so the web admin has the
    same lockout and failure audit as the API."""

    @property
    def is_locked(self) -> bool:
        return self.has_error("__all__", code="login_locked")

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = credentials_check(username=username, password=password,
                                                    action="auth.session_login")
            except RateLimitedError as error:
                raise forms.ValidationError(error.message, code="login_locked") from None
            except TokenError:
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class ServiceErrorsMixin:
    """For forms that post to a service: show a DomainError's field messages on those
    fields (others and field-less refusals at the top of the form)."""

    def add_service_error(self, error) -> None:
        for field, messages in (error.fields or {}).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        if not error.fields:
            self.add_error(None, error.message)
