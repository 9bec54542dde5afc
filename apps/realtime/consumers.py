"""The one WebSocket endpoint, /ws/v1/events/.

Authentication: the web admin's session cookie (then the Origin must be one of
ALLOWED_HOSTS, as cookies are ambient credentials), or a bearer token from the
mini program (`Authorization: Bearer ...` header, or `?token=` where a client cannot
set headers). The hospital is resolved exactly as for HTTP (`?hospital=<slug>` picks
among memberships). The client joins `user.<id>` and, for staff, its
hospital-and-role group (platform administrators also `platform.admins`); it cannot
choose groups itself.

Close codes: 4401 not authenticated, 4403 not allowed at the requested hospital.
"""

from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http.request import validate_host

from apps.accounts.services import TokenError, token_authenticate
from apps.configuration.monitoring.connections import websocket_closed, websocket_opened
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from apps.tenancy.selectors import TenantAccessDenied, tenant_access_resolve

from .groups import PLATFORM_ADMINS_GROUP, staff_group, user_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _origin_allowed(scope) -> bool:
    origin = _header(scope, b"origin")
    if not origin:
        return False
    host = urlparse(origin).hostname or ""
    return validate_host(host, settings.ALLOWED_HOSTS)


def authenticate_connection(scope):
    """(user, tenant access) for a connection, or raises PermissionError(close code)."""
    query = parse_qs(scope.get("query_string", b"").decode())
    raw_token = ""
    scheme, _, value = _header(scope, b"authorization").partition(" ")
    if scheme.lower() == "bearer":
        raw_token = value.strip()
    raw_token = raw_token or (query.get("token") or [""])[0]
    if raw_token:
        try:
            user = token_authenticate(raw=raw_token).user
        except TokenError:
            raise PermissionError(CLOSE_UNAUTHENTICATED)
    else:
        user = scope.get("user")
        if user is None or not user.is_authenticated or not _origin_allowed(scope):
            raise PermissionError(CLOSE_UNAUTHENTICATED)
    try:
        tenant = tenant_access_resolve(user=user, requested_slug=(query.get("hospital") or [None])[0])
    except TenantAccessDenied:
        raise PermissionError(CLOSE_FORBIDDEN)
    return user, tenant


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.joined_groups = []
        try:
            self.user, self.tenant = await database_sync_to_async(authenticate_connection)(self.scope)
        except PermissionError as refusal:
            await self.close(code=refusal.args[0])
            return
        self.joined_groups.append(user_group(self.user.pk))
        if self.tenant is not None and self.tenant.is_staff_role:
            self.joined_groups.append(staff_group(self.tenant.hospital_id, self.tenant.role))
        if self.tenant is not None and self.tenant.role == Role.PLATFORM_ADMIN:
            self.joined_groups.append(PLATFORM_ADMINS_GROUP)
        for group in self.joined_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        websocket_opened()
        self.counted = True
        await self.send_json({
            "type": "connection.ready",
            "data": {
                "user": self.user.pk,
                "hospital": self.tenant.hospital.slug if self.tenant else None,
                "role": self.tenant.role if self.tenant else None,
            },
        })

    async def disconnect(self, code):
        if getattr(self, "counted", False):
            websocket_closed()
            self.counted = False
        for group in getattr(self, "joined_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "data": {"code": "unknown_message",
                                                            "message": "Only {\"type\": \"ping\"} is accepted."}})

    async def realtime_event(self, message):
        await self.send_json(message["event"])

    def in_tenant(self, function):
        """Wrap a sync DB function to run in this connection's hospital context; use
        with database_sync_to_async from handlers that read tenant data."""
        hospital_id = self.tenant.hospital_id if self.tenant else None

        def run(*args, **kwargs):
            with tenant_context(hospital_id):
                return function(*args, **kwargs)

        return run
