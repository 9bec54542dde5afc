"""The current hospital, for the ORM and for PostgreSQL.

`tenant_context(hospital_id)` is the one way code runs "as" a hospital. It sets a
context variable (read by the scoped managers) and opens a transaction in which, on
PostgreSQL, `app.hospital_id` is set with `set_config(..., true)` and the role drops
to the application role with `SET LOCAL ROLE`. Both are transaction-local, so they
can never leak to the next request on a reused connection: the row-level security
policies see exactly this transaction's hospital, and no hospital at all outside one.

Requests (TenantMiddleware), Celery tasks (TenantTask) and WebSocket consumers each
enter it. Code outside any context sees no tenant rows (fail closed).
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, transaction


@dataclass(frozen=True)
class TenantState:
    hospital_id: int | None = None
    platform_scope: bool = False
    active: bool = False  # False: no context entered at all.


_NO_CONTEXT = TenantState()
_state: ContextVar[TenantState] = ContextVar("tenant_state", default=_NO_CONTEXT)


def current_tenant() -> TenantState:
    return _state.get()


def current_hospital_id() -> int | None:
    return _state.get().hospital_id


def _apply_database_state(connection, state: TenantState) -> None:
    if connection.vendor != "postgresql":
        return
    role = connection.ops.quote_name(settings.DATABASE_APP_ROLE) if state.active else "NONE"
    # Parallel plans cost more than they save for the short statements of a request,
    # and compete for few cores; batch work that wants them runs outside a tenant
    # context or sets its own.
    parallel = "0" if state.active else "DEFAULT"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL ROLE {role}; SET LOCAL max_parallel_workers_per_gather = {parallel}; "
            "SELECT set_config('app.hospital_id', %s, true), set_config('app.platform_scope', %s, true)",
            [str(state.hospital_id) if state.hospital_id is not None else "", "on" if state.platform_scope else ""],
        )


@contextmanager
def _enter(state: TenantState, using: str):
    previous = _state.get()
    token = _state.set(state)
    connection = connections[using]
    try:
        outermost = not connection.in_atomic_block
        with transaction.atomic(using=using):
            _apply_database_state(connection, state)
            yield state
            if not outermost:
                # The enclosing transaction goes on (tests, nested contexts): put back
                # what it had. The outermost commit discards the settings anyway.
                _apply_database_state(connection, previous)
    finally:
        _state.reset(token)


@contextmanager
def tenant_context(hospital_id: int | None, *, using: str = "default"):
    """Run the block as `hospital_id` (None: as no hospital, seeing no tenant rows)."""
    if hospital_id is not None and not isinstance(hospital_id, int):
        raise TypeError("hospital_id must be an int or None")
    with _enter(TenantState(hospital_id=hospital_id, active=True), using) as state:
        yield state


@contextmanager
def hospital_scope(hospital_id: int, *, using: str = "default"):
    """For services that take `hospital_id` explicitly: run in that hospital's
    context, entering it only if the caller is not already in it."""
    if current_tenant().active and current_hospital_id() == hospital_id:
        yield
    else:
        with tenant_context(hospital_id, using=using):
            yield


@contextmanager
def unscoped(*, reason: str, actor=None, using: str = "default"):
    """The audited escape hatch: platform-wide work across every hospital (rarity
    analysis, the public booking catalogue). Lifts the tenant filter for the block
    and writes an audit event when the block ends. Keep blocks small and reasons
    specific.

    The event is written at the end, not the start, because writing it takes the
    platform audit chain's head row lock until the transaction commits: written
    first, every concurrent catalogue search queued behind the previous one for the
    whole block. Written last, in the same transaction, it is just as atomic with
    the work (both commit or neither) and the lock is held only until commit."""
    if not reason:
        raise ValueError("unscoped() needs a reason for the audit log")
    from django.db import connections

    from apps.privacy.services import audit_record  # privacy builds on tenancy

    try:
        with _enter(TenantState(platform_scope=True, active=True), using) as state:
            yield state
    finally:
        # A failed statement leaves the transaction unusable; it rolls back, and the
        # event with it, exactly as an event written first would have.
        if not connections[using].needs_rollback:
            audit_record(action="tenancy.unscoped", actor=actor, hospital_id=None, detail={"reason": reason})
