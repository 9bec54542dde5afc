from contextlib import nullcontext

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError, NotFoundError, PermissionDeniedError
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.context import hospital_scope
from apps.tenancy.roles import Role

from .models import HospitalSettingValue, PlatformSettingValue
from .registry import SettingDefinition, SettingValueError, registry
from .selectors import PLATFORM, forget_local, version_key
from .versions import version_bump

_NOT_SET = object()


def _scope(hospital_id):
    return hospital_scope(hospital_id) if hospital_id is not None else nullcontext()


def _bump_version(scope) -> None:
    """Tell every process that `scope` changed; they reload within a second."""
    version_bump(version_key(scope))
    forget_local(scope)


def _refuse(*, action, actor, role, hospital_id, key, error: DomainError, outcome, attempted=None):
    audit_record(action=action, actor=actor, role=role, hospital_id=hospital_id, object_type="setting",
                 object_id=key, outcome=outcome, detail={"attempted": attempted, "reason": error.message})
    raise error


def _check(*, key: str, role: str, hospital_id: int | None, actor, action: str, attempted) -> SettingDefinition:
    definition = registry.get(key)
    if definition is None:
        _refuse(action=action, actor=actor, role=role, hospital_id=hospital_id, key=key, attempted=attempted,
                outcome=AuditOutcome.NOT_FOUND,
                error=NotFoundError(_("There is no setting %(key)s.") % {"key": key}, code="unknown_setting"))
    if hospital_id is None and role != Role.PLATFORM_ADMIN:
        _refuse(action=action, actor=actor, role=role, hospital_id=hospital_id, key=key, attempted=attempted,
                outcome=AuditOutcome.DENIED,
                error=PermissionDeniedError(_("Only platform administrators change platform-wide values.")))
    if role not in definition.editable_by:
        _refuse(action=action, actor=actor, role=role, hospital_id=hospital_id, key=key, attempted=attempted,
                outcome=AuditOutcome.DENIED,
                error=PermissionDeniedError(_("Your role may not change %(key)s.") % {"key": key}))
    if hospital_id is not None and not definition.hospital_may_override:
        _refuse(action=action, actor=actor, role=role, hospital_id=hospital_id, key=key, attempted=attempted,
                outcome=AuditOutcome.INVALID,
                error=DomainError(_("%(key)s is platform-wide; a hospital cannot override it.") % {"key": key},
                                  code="not_overridable"))
    return definition


def setting_set(*, key: str, value, actor, role: str, hospital_id: int | None) -> dict:
    """Store a value for one hospital (or platform-wide with hospital_id=None), after
    checking the key, the caller's role and the value. Audited with old and new
    value, refusals included."""
    action = "configuration.setting_set"
    definition = _check(key=key, role=role, hospital_id=hospital_id, actor=actor, action=action, attempted=value)
    try:
        cleaned = definition.clean(value)
    except SettingValueError as error:
        _refuse(action=action, actor=actor, role=role, hospital_id=hospital_id, key=key, attempted=value,
                outcome=AuditOutcome.INVALID,
                error=DomainError(str(error), code="invalid", fields={"value": [str(error)]}))
    with _scope(hospital_id), transaction.atomic():
        if hospital_id is None:
            row = PlatformSettingValue.objects.select_for_update().filter(key=key).first()
        else:
            row = HospitalSettingValue.objects.select_for_update().filter(hospital_id=hospital_id, key=key).first()
        old = row.value if row is not None else _NOT_SET
        if row is None:
            model = PlatformSettingValue if hospital_id is None else HospitalSettingValue
            extra = {} if hospital_id is None else {"hospital_id": hospital_id}
            row = model(key=key, value=cleaned, updated_by=actor, **extra)
        else:
            row.value, row.updated_by = cleaned, actor
        row.save()
        audit_record(action=action, actor=actor, role=role, hospital_id=hospital_id, object_type="setting",
                     object_id=key, detail={"old": None if old is _NOT_SET else old, "new": cleaned,
                                            "scope": PLATFORM if hospital_id is None else "hospital"})
        scope = PLATFORM if hospital_id is None else hospital_id
        transaction.on_commit(lambda: _bump_version(scope))
    return {"key": key, "value": cleaned}


def setting_reset(*, key: str, actor, role: str, hospital_id: int | None) -> bool:
    """Remove a hospital's (or the platform's) own value, falling back to the next
    level. Returns whether there was one."""
    action = "configuration.setting_reset"
    _check(key=key, role=role, hospital_id=hospital_id, actor=actor, action=action, attempted=None)
    with _scope(hospital_id), transaction.atomic():
        if hospital_id is None:
            rows = PlatformSettingValue.objects.filter(key=key)
        else:
            rows = HospitalSettingValue.objects.filter(hospital_id=hospital_id, key=key)
        old = list(rows.values_list("value", flat=True))
        rows.delete()
        if old:
            audit_record(action=action, actor=actor, role=role, hospital_id=hospital_id, object_type="setting",
                         object_id=key, detail={"old": old[0], "new": None})
            scope = PLATFORM if hospital_id is None else hospital_id
            transaction.on_commit(lambda: _bump_version(scope))
    return bool(old)
