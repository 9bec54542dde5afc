from django.db.models import Avg, Count, QuerySet

from .models import ModelArtifact, ModelDeployment, ShadowComparison


def model_artifacts(*, task: str | None = None) -> QuerySet[ModelArtifact]:
    queryset = ModelArtifact.objects.all()
    return queryset.filter(task=task) if task else queryset


def model_deployments_current() -> QuerySet[ModelDeployment]:
    """The current hospital's serving models (scoped by the tenant context)."""
    return ModelDeployment.objects.select_related("artifact").filter(retired_at__isnull=True)


def model_deployment_history(*, task: str) -> QuerySet[ModelDeployment]:
    return ModelDeployment.objects.select_related("artifact", "activated_by").filter(task=task)


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def shadow_summary(*, task: str, recent: int = 20) -> dict:
    """How the shadow model differs from the active one at the current hospital:
    overall agreement, latency side by side, and the latest disagreements."""
    current = {d.mode: d for d in model_deployments_current().filter(task=task)}
    shadow = current.get(ModelDeployment.Mode.SHADOW)
    comparisons = ShadowComparison.objects.filter(task=task)
    if shadow is not None:
        comparisons = comparisons.filter(shadow_artifact=shadow.artifact)
    totals = comparisons.aggregate(count=Count("id"), mean_agreement=Avg("agreement"))
    latencies = list(comparisons.order_by("-created_at").values_list("active_ms", "shadow_ms")[:1000])
    disagreements = comparisons.filter(agreement__lt=1.0).select_related("active_artifact", "shadow_artifact")[:recent]
    return {
        "task": task,
        "active": str(current[ModelDeployment.Mode.ACTIVE].artifact) if ModelDeployment.Mode.ACTIVE in current else None,
        "shadow": str(shadow.artifact) if shadow else None,
        "comparisons": totals["count"],
        "mean_agreement": totals["mean_agreement"],
        "active_ms_p50": _percentile([a for a, _ in latencies], 0.5),
        "shadow_ms_p50": _percentile([s for _, s in latencies], 0.5),
        "recent_disagreements": [
            {"subject_type": c.subject_type, "subject_id": c.subject_id, "agreement": c.agreement,
             "active_output": c.active_output, "shadow_output": c.shadow_output, "created_at": c.created_at}
            for c in disagreements
        ],
    }
