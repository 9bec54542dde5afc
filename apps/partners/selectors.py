"""Reads of the partners app: partners and their tags, the matching rule, the
population behind a share's quasi-identifiers, decisions, shares, external cases."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import NotFoundError
from apps.tenancy.context import hospital_scope, unscoped
from apps.tenancy.models import Hospital

from .feature_tags import FeatureTag, case_matches_tag, categories_to_send, partner_tag, tags_can_talk
from .models import ExternalRareCase, OutboundShare, ShareDecision, SharingPartner


def platform_feature_tag() -> FeatureTag:
    """This platform's own tag, from the platform-wide settings."""
    return FeatureTag.build(protocols=setting_value("partners.platform_protocols"),
                            research_focus=setting_value("partners.platform_research_focus"),
                            data_categories=setting_value("partners.platform_data_categories"))


def partner_list(*, status: str = "") -> QuerySet[SharingPartner]:
    queryset = SharingPartner.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def partner_get(*, partner_id) -> SharingPartner:
    partner = SharingPartner.objects.filter(pk=partner_id).first() if str(partner_id).isdigit() else None
    if partner is None:
        raise NotFoundError(_("No such partner."), code="partner_not_found")
    return partner


def partner_share_counts(*, partner_ids) -> dict[int, dict[str, int]]:
    """Shares per partner and status, of the current hospital."""
    counts: dict[int, dict[str, int]] = {}
    rows = (OutboundShare.objects.filter(partner_id__in=list(partner_ids)).values("partner_id", "status")
            .annotate(n=Count("id")))
    for row in rows:
        counts.setdefault(row["partner_id"], {})[row["status"]] = row["n"]
    return counts


@dataclass(frozen=True)
class PartnerMatch:
    partner: SharingPartner
    why: list[str]
    categories: list[str]

    def as_record(self) -> dict:
        return {"id": self.partner.pk, "code": self.partner.code, "name": self.partner.name, "why": self.why,
                "categories": self.categories}


def partners_matching_case(*, case) -> list[PartnerMatch]:
    """The partners a rare case may go to (step 7): active, interconnected, speaking a
    protocol we speak and accepting at least the diagnosis, with a research focus
    that covers the case's ICD-10 code, one of its retrieval feature's codes, or its
    category (feature_tags.case_matches_tag). Ordered by name."""
    ours = platform_feature_tag()
    matches = []
    candidates = SharingPartner.objects.filter(status=SharingPartner.Status.ACTIVE, interconnected=True)
    for partner in candidates.order_by("name", "id"):
        theirs = partner_tag(partner)
        if not tags_can_talk(ours, theirs):
            continue
        why = case_matches_tag(theirs, icd10_code=case.icd10_code, category=case.category,
                               retrieval_feature=case.retrieval_feature)
        if why:
            matches.append(PartnerMatch(partner=partner, why=why, categories=categories_to_send(theirs)))
    return matches


# --- the population behind a share's quasi-identifiers ------------------------------------


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birth_dates_for_band(band: str, *, today: datetime.date) -> tuple[datetime.date | None, datetime.date]:
    """(exclusive lower, inclusive upper) birth dates of the people whose age is in
    `band` today ("40-44", "90+")."""
    if band.endswith("+"):
        return None, _years_before(today, int(band[:-1]))
    low, high = (int(part) for part in band.split("-"))
    return _years_before(today, high + 1), _years_before(today, low)


def hospitals_in_region(*, region: str, generalise) -> list[int]:
    """Active hospitals whose `hospital.region_code` generalises to `region`.
    One short settings read per hospital (cached per process); hospitals are few."""
    ids = []
    for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True):
        with hospital_scope(hospital_id):
            own = setting_value("hospital.region_code")
        if own and generalise(own) == region:
            ids.append(hospital_id)
    return ids


def population_with_quasi_identifiers(*, sex: str, age_band: str | None, region_hospital_ids: list[int] | None,
                                      today: datetime.date | None = None) -> int:
    """How many patients on the whole platform share these quasi-identifiers: one
    COUNT in the database across every hospital (through the audited `unscoped`),
    no patient row leaves it."""
    from apps.patients.models import Patient

    today = today or timezone.localdate()
    filters = Q(sex=sex)
    if age_band:
        after, until = birth_dates_for_band(age_band, today=today)
        filters &= Q(birth_date__lte=until) & (Q(birth_date__gt=after) if after else Q())
    if region_hospital_ids is not None:
        filters &= Q(hospital_id__in=region_hospital_ids)
    with unscoped(reason="partners: k-anonymity of a share over the platform's population"):
        return Patient.unscoped_objects.filter(filters).count()


# --- decisions, shares, external cases ----------------------------------------------------


def decision_list(*, case_id=None, outcome: str = "") -> QuerySet[ShareDecision]:
    queryset = ShareDecision.objects.select_related("case", "actor").prefetch_related("shares__partner")
    if case_id is not None:
        queryset = queryset.filter(case_id=case_id)
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    return queryset


def decision_get(*, decision_id) -> ShareDecision:
    decision = decision_list().filter(pk=decision_id).first() if str(decision_id).isdigit() else None
    if decision is None:
        raise NotFoundError(_("No such decision."), code="decision_not_found")
    return decision


def share_list(*, status: str = "", partner_id=None, case_id=None) -> QuerySet[OutboundShare]:
    queryset = OutboundShare.objects.select_related("partner", "case", "reviewed_by", "origin")
    if status:
        queryset = queryset.filter(status=status)
    if partner_id is not None:
        queryset = queryset.filter(partner_id=partner_id)
    if case_id is not None:
        queryset = queryset.filter(case_id=case_id)
    return queryset


def share_get(*, share_pk) -> OutboundShare:
    share = share_list().filter(pk=share_pk).first() if str(share_pk).isdigit() else None
    if share is None:
        raise NotFoundError(_("No such share."), code="share_not_found")
    return share


def external_case_list(*, icd10_prefix: str = "", partner_id=None) -> QuerySet[ExternalRareCase]:
    queryset = ExternalRareCase.objects.select_related("partner").defer("bundle")
    if icd10_prefix:
        queryset = queryset.filter(icd10_code__istartswith=icd10_prefix)
    if partner_id is not None:
        queryset = queryset.filter(partner_id=partner_id)
    return queryset


def external_case_get(*, case_id) -> ExternalRareCase:
    case = ExternalRareCase.objects.select_related("partner").filter(pk=case_id).first() \
        if str(case_id).isdigit() else None
    if case is None:
        raise NotFoundError(_("No such external case."), code="external_case_not_found")
    return case


def our_focus_covers(*, icd10_code: str, category: str, related_codes=()) -> bool:
    return bool(case_matches_tag(platform_feature_tag(), icd10_code=icd10_code, category=category,
                                 retrieval_feature={"codes": list(related_codes)}))


def case_sharing(*, case_id: int, limit: int = 10) -> dict:
    """What the registry's case page shows about sharing (templates/partners/case_sharing.html):
    the latest decisions with their shares, and every share of the case."""
    return {"decisions": list(decision_list(case_id=case_id)[:limit]),
            "shares": list(share_list(case_id=case_id)[:50])}
