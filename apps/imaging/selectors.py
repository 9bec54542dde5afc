from django.db.models import Count, QuerySet

from apps.patients.selectors import patient_list_for
from apps.tenancy.roles import Role
from apps.tenancy.selectors import TenantAccess
from ml.imaging.index import cosine_rank

from .models import Finding, ImagingStudy

STAFF_READERS = (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)


def imaging_study_list_for(*, user, tenant: TenantAccess | None) -> QuerySet[ImagingStudy]:
    """Studies the caller may see: staff the hospital's, a patient their own (fail closed)."""
    if tenant is None or tenant.role not in STAFF_READERS + (Role.PATIENT,):
        return ImagingStudy.objects.none()
    patients = patient_list_for(user=user, tenant=tenant)
    return (ImagingStudy.objects.filter(patient__in=patients).select_related("patient")
            .annotate(finding_count=Count("findings")))


def findings_visible(*, study: ImagingStudy, tenant: TenantAccess) -> QuerySet[Finding]:
    """Preliminary findings are for staff; a patient sees them only once signed off."""
    if tenant.role == Role.PATIENT and study.status != ImagingStudy.Status.SIGNED_OFF:
        return Finding.objects.none()
    return study.findings.exclude(verdict=Finding.Verdict.REJECTED) if tenant.role == Role.PATIENT \
        else study.findings.all()


def similar_studies(*, study: ImagingStudy, limit: int) -> list[tuple[ImagingStudy, float]]:
    """Earlier analysed studies of this hospital, most similar first (cosine over the
    classifier backbone's pooled features). Runs inside the tenant scope, so another
    hospital's studies never take part."""
    if not study.embedding or limit <= 0:
        return []
    import numpy as np

    candidates = list(ImagingStudy.objects.exclude(pk=study.pk).filter(embedding__isnull=False,
                                                                       created_at__lte=study.created_at)
                      .select_related("patient").only("id", "embedding", "status", "created_at", "patient__name",
                                                      "lesion_probability", "hospital_id", "patient_id"))
    candidates = [c for c in candidates if c.embedding and len(c.embedding) == len(study.embedding)]
    if not candidates:
        return []
    vectors = np.array([c.embedding for c in candidates], np.float32)
    query = np.array(study.embedding, np.float32)
    order = cosine_rank(query, vectors)[:limit]
    norms = np.linalg.norm(vectors[order], axis=1) * max(np.linalg.norm(query), 1e-12)
    scores = (vectors[order] @ query) / np.maximum(norms, 1e-12)
    return [(candidates[i], float(s)) for i, s in zip(order, scores)]
