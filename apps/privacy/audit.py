"""Audit for DRF views over patient data, by mixin rather than by memory.

A view sets `audit_object_type` and, when its objects belong to a patient,
`audit_patient_field` (an attribute path such as "pk" for Patient itself or
"patient_id" for a report). The mixin then writes one event for every read (one
object, or a list page with the ids shown) and for every refused or failed request
(denied, not found, invalid) with the id that was asked for. Successful writes are
audited by the service that makes them, which knows what changed and is also
called from tasks and commands.
"""

from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record

_ACTIONS = {"list": "list", "retrieve": "read", "create": "create", "update": "update",
            "partial_update": "update", "destroy": "delete"}


def _outcome_for_status(status_code: int) -> str:
    if status_code < 400:
        return AuditOutcome.SUCCESS
    if status_code in (401, 403):
        return AuditOutcome.DENIED
    if status_code == 404:
        return AuditOutcome.NOT_FOUND
    if status_code < 500:
        return AuditOutcome.INVALID
    return AuditOutcome.ERROR


class AuditedViewMixin:
    audit_object_type: str = ""
    audit_patient_field: str | None = None

    _audit_objects: list

    def initial(self, request, *args, **kwargs):
        self._audit_objects = []
        super().initial(request, *args, **kwargs)

    def get_object(self):
        obj = super().get_object()
        self._audit_objects = [obj]
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._audit_objects = list(page)
        return page

    def audit_action_name(self) -> str:
        verb = _ACTIONS.get(getattr(self, "action", None) or "", (self.request.method or "").lower())
        return f"{self.audit_object_type}.{verb}"

    def _patient_id_of(self, obj) -> int | None:
        if not self.audit_patient_field:
            return None
        value = obj
        for part in self.audit_patient_field.split("."):
            value = getattr(value, part, None)
        return value

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Render now, not after the view returns: the audit append locks the hospital's
        # chain head until the request commits, so nothing slow should follow it.
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        is_read = getattr(self, "action", None) in ("list", "retrieve")
        if request.user.is_authenticated and (is_read or response.status_code >= 400):
            self._write_audit_event(request, response)
        return response

    def _write_audit_event(self, request, response):
        objects = getattr(self, "_audit_objects", [])
        tenant = getattr(request._request, "tenant", None)
        lookup_value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        detail = {}
        object_id, patient_id = lookup_value, None
        if len(objects) == 1 and getattr(self, "action", "") != "list":
            object_id, patient_id = objects[0].pk, self._patient_id_of(objects[0])
        elif objects:
            detail["object_ids"] = [obj.pk for obj in objects]
            detail["patient_ids"] = sorted({pid for pid in map(self._patient_id_of, objects) if pid is not None})
        api_token = getattr(request._request, "api_token", None)
        if api_token is not None:
            # Which token made the request: the compliance rules spot one token used
            # from several countries (a stolen or shared token).
            detail["token_id"] = api_token.pk
        audit_record(
            action=self.audit_action_name(),
            actor=request.user,
            role=tenant.role if tenant else "",
            object_type=self.audit_object_type,
            object_id=object_id,
            patient_id=patient_id,
            outcome=_outcome_for_status(response.status_code),
            detail=detail,
        )
