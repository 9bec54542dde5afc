"""Web-admin (session) logins go through Django's auth views; their signals are the
one place to put them on the audit record. API logins are audited in services."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record

from .services import user_home_hospital_id


@receiver(user_logged_in, dispatch_uid="accounts.audit_session_login")
def audit_session_login(sender, request, user, **kwargs):
    audit_record(action="auth.session_login", actor=user, hospital_id=user_home_hospital_id(user))


@receiver(user_logged_out, dispatch_uid="accounts.audit_session_logout")
def audit_session_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.session_logout", actor=user, hospital_id=user_home_hospital_id(user))


@receiver(user_login_failed, dispatch_uid="accounts.audit_session_login_failed")
def audit_session_login_failed(sender, credentials, request=None, **kwargs):
    if request is None:  # API logins audit themselves with more context
        return
    audit_record(action="auth.session_login", hospital_id=None, outcome=AuditOutcome.DENIED,
                 detail={"username": str(credentials.get("username", ""))[:150], "reason": "bad_credentials"})
