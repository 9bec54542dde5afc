from django.db import models

from .context import current_tenant


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """The default manager of every tenant-owned model: rows of the current hospital
    only, and none at all when no hospital is set (fail closed)."""

    def get_queryset(self):
        queryset = super().get_queryset()
        state = current_tenant()
        if state.platform_scope:
            return queryset
        if state.hospital_id is None:
            return queryset.none()
        return queryset.filter(hospital_id=state.hospital_id)
