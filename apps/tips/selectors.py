"""Reads for health tips, scoped to the current hospital: patients see published
tips, staff see drafts too."""

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.patients.models import Patient
from apps.tenancy.roles import Role

from . import recommend
from .models import Favourite, Tip, TipNeighbour, TipRead
from .providers import patient_signals

EDITORS = (Role.HOSPITAL_ADMIN, Role.DOCTOR, Role.PLATFORM_ADMIN)


def tips_for(*, tenant, category: str | None = None) -> QuerySet[Tip]:
    if tenant is None:
        return Tip.objects.none()
    tips = Tip.objects.all() if tenant.role in EDITORS else Tip.objects.filter(published=True)
    if category:
        tips = tips.filter(category=category)
    return tips


def patient_of(*, user) -> Patient | None:
    """The caller's own patient record at the current hospital."""
    return Patient.objects.filter(user=user).order_by("pk").first()


def favourites_of(*, patient) -> QuerySet[Favourite]:
    return Favourite.objects.filter(patient=patient, tip__published=True).select_related("tip")


def history_of(*, patient) -> QuerySet[TipRead]:
    return TipRead.objects.filter(patient=patient, tip__published=True).select_related("tip")


def popularity() -> dict[int, float]:
    """Reads plus three times favourites, per published tip of the hospital."""
    scores: dict[int, float] = {}
    for tip_id, reads in (TipRead.objects.filter(tip__published=True).values("tip_id")
                          .annotate(n=Count("id")).values_list("tip_id", "n")):
        scores[tip_id] = float(reads)
    for tip_id, favourites in (Favourite.objects.filter(tip__published=True).values("tip_id")
                               .annotate(n=Count("id")).values_list("tip_id", "n")):
        scores[tip_id] = scores.get(tip_id, 0.0) + recommend.FAVOURITE_WEIGHT * favourites
    return scores


def own_interactions(*, patient) -> dict[int, float]:
    weights = {tip_id: recommend.READ_WEIGHT for tip_id in
               TipRead.objects.filter(patient=patient).values_list("tip_id", flat=True)}
    for tip_id in Favourite.objects.filter(patient=patient).values_list("tip_id", flat=True):
        weights[tip_id] = weights.get(tip_id, 0.0) + recommend.FAVOURITE_WEIGHT
    return weights


def recommended_for(*, patient, limit: int = 10) -> list[tuple[Tip, recommend.Recommendation]]:
    published = {tip.pk: tip for tip in Tip.objects.filter(published=True).only("id", "title", "category", "tags",
                                                                                 "summary", "created_at")}
    own = own_interactions(patient=patient)
    neighbours: dict[int, list[tuple[int, float]]] = {}
    for tip_id, neighbour_id, score in (TipNeighbour.objects.filter(tip_id__in=list(own))
                                        .values_list("tip_id", "neighbour_id", "score")):
        if neighbour_id in published:
            neighbours.setdefault(tip_id, []).append((neighbour_id, score))
    titles = {tip_id: tip.title for tip_id, tip in published.items()}
    titles.update(Tip.objects.filter(pk__in=[pk for pk in own if pk not in titles]).values_list("id", "title"))
    ranked = recommend.rank(
        candidates={tip_id: tip.tag_names for tip_id, tip in published.items()},
        signals=patient_signals(patient), own=own, neighbours=neighbours, popularity=popularity(), titles=titles,
        tag_weight=setting_value("tips.tag_weight"), limit=limit,
        reasons={"similar": _("because you read “%(title)s”"), "popular": _("popular with patients at this hospital")})
    return [(published[item.tip_id], item) for item in ranked]
