"""The rare-case registry: the rare-disease catalogue (platform-wide) and the cases
this platform found rare (owned by the hospital that saw them).

A RareCase points at the diagnosis that made it rare; everything that leaves the
hospital (search across hospitals, partner shares) is built from it de-identified.
The sharing side (apps.partners) reads `patient`, `diagnosis`, `icd10_code`,
`category` and `retrieval_feature`; keep those names stable.

Platform-wide tables (no patient rows, no RLS): the catalogue, the rarity analyses
with their per-code aggregated counts, the de-identified cross-hospital index, the
access log over index entries, the access periods and the trend-model runs. Why the
access log is platform-wide: views and uses come from staff of every hospital (through
the de-identified index), and the access-trend model learns from all of them; the log
holds who looked at which de-identified entry, never patient data.
See docs/rarecases.md."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class RareDisease(models.Model):
    """One entry of a rare-disease catalogue (China's national list, Orphanet).
    Platform-wide reference data, not tenant-owned."""

    class Source(models.TextChoices):
        CCRD = "ccrd", _("China national rare disease list")
        ORPHANET = "orphanet", _("Orphanet")

    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    code = models.CharField(_("code"), max_length=32)  # CCRD number or ORPHA code
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    name_en = models.CharField(_("English name"), max_length=300, blank=True)
    icd10_codes = models.JSONField(_("ICD-10 codes"), default=list, blank=True)
    cross_references = models.JSONField(_("cross references"), default=dict, blank=True)  # {"orpha": [...], "omim": [...]}
    parent_code = models.CharField(_("parent entry"), max_length=32, blank=True)  # CCRD:9 for the subtype CCRD:9.1
    aliases = models.JSONField(_("aliases"), default=list, blank=True)  # other names, Chinese and English
    phenotypes = models.JSONField(_("HPO phenotypes"), default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "code"], name="rare_disease_once")]
        ordering = ["source", "code"]
        verbose_name = _("rare disease")
        verbose_name_plural = _("rare diseases")

    def __str__(self):
        return f"{self.name_zh or self.name_en} ({self.source}:{self.code})"


class RareCase(TenantOwnedModel):
    """A case whose diagnosis is rarer than the platform's preset incidence rate,
    or on a rare-disease catalogue."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("registered")
        SHARED = "shared", _("shared")
        RETIRED = "retired", _("retired")

    diagnosis = models.ForeignKey("patients.Diagnosis", on_delete=models.PROTECT, related_name="rare_cases",
                                  verbose_name=_("diagnosis"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="rare_cases",
                                verbose_name=_("patient"))
    icd10_code = models.CharField(_("ICD-10 code"), max_length=10)
    diagnosis_text = models.CharField(_("diagnosis"), max_length=200)
    category = models.CharField(_("category"), max_length=80, blank=True)  # ICD-10 chapter/block
    incidence = models.FloatField(_("incidence"))  # cases per patient over the window, platform-wide
    rare_feature = models.FloatField(_("rare feature"), default=0.0)  # how hot the case's field is
    catalogue_entry = models.ForeignKey(RareDisease, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="cases", verbose_name=_("catalogue entry"))
    # The effective feature set used for retrieval and partner matching:
    # {"codes": [...], "entities": {...}, "findings": [...], "category": "...", "rare_feature": 0.3}
    retrieval_feature = models.JSONField(_("retrieval feature"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REGISTERED)
    first_prediction_index = models.FloatField(_("first prediction index"), null=True, blank=True)
    second_prediction_index = models.FloatField(_("second prediction index"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Which models gave the indexes, and what the propagation tracking measured.
    first_model_version = models.CharField(_("first model"), max_length=160, blank=True)
    second_model_version = models.CharField(_("second model"), max_length=160, blank=True)
    propagation_index = models.FloatField(_("propagation index"), null=True, blank=True)
    predicted_at = models.DateTimeField(_("predicted at"), null=True, blank=True)
    indexed_at = models.DateTimeField(_("indexed at"), null=True, blank=True)
    analysis = models.ForeignKey("RarityAnalysis", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("last rarity analysis"))
    # Step 8: related data found by the retrieval feature ({"items": [...], "refreshed_at": ...}).
    related_data = models.JSONField(_("related data"), default=dict, blank=True)
    kept_alive_at = models.DateTimeField(_("related data refreshed at"), null=True, blank=True)

    class Meta:
        ordering = ["incidence", "-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["hospital", "diagnosis"], name="rare_case_per_diagnosis"),
                       # one case per patient and code: the earliest diagnosis stands for the rest
                       models.UniqueConstraint(fields=["hospital", "patient", "icd10_code"],
                                               name="rare_case_per_patient_code")]
        indexes = [models.Index(fields=["hospital", "icd10_code"], name="rare_case_code"),
                   models.Index(fields=["hospital", "status", "incidence"], name="rare_case_status")]
        verbose_name = _("rare case")
        verbose_name_plural = _("rare cases")

    def __str__(self):
        return f"{self.icd10_code} {self.diagnosis_text}"


class RarityAnalysis(models.Model):
    """One run of the rarity analysis (step 2) over the whole platform."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    incidence_rate = models.FloatField(_("incidence rate"))
    total_patients = models.PositiveIntegerField(_("patients"), default=0)
    total_diagnoses = models.PositiveBigIntegerField(_("diagnoses"), default=0)
    codes_seen = models.PositiveIntegerField(_("codes seen"), default=0)
    codes_rare = models.PositiveIntegerField(_("rare codes"), default=0)
    catalogue_matches = models.PositiveIntegerField(_("catalogue matches"), default=0)
    cases_registered = models.PositiveIntegerField(_("cases registered"), default=0)
    cases_updated = models.PositiveIntegerField(_("cases updated"), default=0)
    # incidence and rare feature per category (ICD-10 chapter): [{"category", "patients", "incidence", ...}]
    categories = models.JSONField(_("categories"), default=list, blank=True)
    aggregate_ms = models.FloatField(_("aggregation time (ms)"), default=0)
    total_ms = models.FloatField(_("total time (ms)"), default=0)
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("triggered by"))
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("rarity analysis")
        verbose_name_plural = _("rarity analyses")


class RareCodeStat(models.Model):
    """An ICD-10 code an analysis found rare (or on the catalogue): aggregated counts
    over every hospital, no patient rows."""

    analysis = models.ForeignKey(RarityAnalysis, on_delete=models.CASCADE, related_name="codes")
    icd10_code = models.CharField(_("ICD-10 code"), max_length=10)
    category = models.CharField(_("category"), max_length=80, blank=True)
    patients = models.PositiveIntegerField(_("patients"))
    diagnoses = models.PositiveIntegerField(_("diagnoses"))
    hospitals = models.PositiveIntegerField(_("hospitals"))
    incidence = models.FloatField(_("incidence"))
    rare_feature = models.FloatField(_("rare feature"), default=0.0)
    below_rate = models.BooleanField(_("at or below the incidence rate"), default=True)
    catalogue_entry = models.ForeignKey(RareDisease, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", verbose_name=_("catalogue entry"))
    rank = models.PositiveIntegerField(_("rank"))

    class Meta:
        ordering = ["analysis", "rank"]
        constraints = [models.UniqueConstraint(fields=["analysis", "icd10_code"], name="rare_code_once_per_analysis")]
        verbose_name = _("rare code")
        verbose_name_plural = _("rare codes")


class RareCaseIndexEntry(models.Model):
    """The de-identified face of a rare case, searchable by staff of every hospital:
    no names, identifiers or exact dates; a pseudonym, an age band, a generalised
    region and the diagnosis month. Written by the owning hospital's services."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField(RareCase, on_delete=models.CASCADE, related_name="index_entry")
    hospital = models.ForeignKey("tenancy.Hospital", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("hospital"))
    pseudonym = models.CharField(_("pseudonym"), max_length=40)
    icd10_code = models.CharField(_("ICD-10 code"), max_length=10)
    diagnosis_text = models.CharField(_("diagnosis"), max_length=200)
    category = models.CharField(_("category"), max_length=80, blank=True)
    incidence = models.FloatField(_("incidence"))
    rare_feature = models.FloatField(_("rare feature"), default=0.0)
    catalogue_entry = models.ForeignKey(RareDisease, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", verbose_name=_("catalogue entry"))
    codes = models.JSONField(_("codes"), default=list, blank=True)
    entities = models.JSONField(_("entities"), default=dict, blank=True)
    findings = models.JSONField(_("key findings"), default=list, blank=True)
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    age_band = models.CharField(_("age band"), max_length=8, blank=True)
    region = models.CharField(_("region"), max_length=8, blank=True)
    diagnosed_month = models.CharField(_("diagnosed (month)"), max_length=7, blank=True)
    search_text = models.TextField(blank=True)  # codes, diagnosis, entities and findings, for search
    # False once the case is retired. Kept here: a search must not join the case table,
    # whose row-level security hides other hospitals' cases.
    listed = models.BooleanField(_("listed"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["incidence", "-created_at"]
        indexes = [models.Index(fields=["icd10_code"], name="rare_index_code"),
                   models.Index(fields=["category", "incidence"], name="rare_index_category")]
        verbose_name = _("rare case index entry")
        verbose_name_plural = _("rare case index entries")


class AccessKind(models.TextChoices):
    VIEW = "view", _("view")
    DOWNLOAD = "download", _("download")
    CITATION = "citation", _("citation")
    FORWARD = "forward", _("forward")
    SHARE = "share", _("share")


USE_KINDS = (AccessKind.DOWNLOAD, AccessKind.CITATION, AccessKind.FORWARD, AccessKind.SHARE)
# the kinds that pass a case on: the transmission paths run through them
TRANSMISSION_KINDS = (AccessKind.FORWARD, AccessKind.SHARE, AccessKind.DOWNLOAD)


class CaseAccess(models.Model):
    """One view or use of a rare case, with who did it and the access that led to it
    (`parent`: the forward or share they came through), so transmission paths can be
    followed. Append-only."""

    append_only = True

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: the log is append-only (the application role may not UPDATE or DELETE
    # it); a case with a history is retired, not deleted.
    entry = models.ForeignKey(RareCaseIndexEntry, on_delete=models.PROTECT, related_name="accesses")
    kind = models.CharField(_("kind"), max_length=16, choices=AccessKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("actor"))
    actor_hospital = models.ForeignKey("tenancy.Hospital", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", verbose_name=_("actor's hospital"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("came through"))
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    # who the case reached: "user:<id>" for a forward or a download, "partner:<id>" for a share
    recipient = models.CharField(_("reached"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("when"), db_index=True)

    class Meta:
        ordering = ["occurred_at"]
        indexes = [models.Index(fields=["entry", "occurred_at"], name="case_access_entry_time")]
        verbose_name = _("case access")
        verbose_name_plural = _("case accesses")


class AccessPeriod(models.Model):
    """A first preset period (step 4). Periods follow one another; each one's length
    was fixed when it began, inversely proportional to the platform's visits in the
    period before, within bounds."""

    number = models.PositiveIntegerField(_("number"), unique=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    length_days = models.FloatField(_("length (days)"))
    visits_basis = models.PositiveIntegerField(_("visits it was sized on"), default=0)

    class Meta:
        ordering = ["number"]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                              name="access_period_positive")]
        verbose_name = _("access period")
        verbose_name_plural = _("access periods")


class TrendRun(models.Model):
    """One run of steps 5 and 6: the first model (trained or reused), the
    propagation selection, the incremental update and whether it was kept."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    first_artifact = models.ForeignKey("configuration.ModelArtifact", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+", verbose_name=_("first model"))
    second_artifact = models.ForeignKey("configuration.ModelArtifact", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+", verbose_name=_("second model"))
    update_accepted = models.BooleanField(_("incremental update kept"), null=True, blank=True)
    cases_scored = models.PositiveIntegerField(_("cases scored"), default=0)
    propagation_selected = models.PositiveIntegerField(_("cases selected by propagation"), default=0)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("trend run")
        verbose_name_plural = _("trend runs")


class CaseFollow(TenantOwnedModel):
    """A doctor follows a case of their hospital: keep-alive updates reach them."""

    case = models.ForeignKey(RareCase, on_delete=models.CASCADE, related_name="follows", verbose_name=_("case"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="case_follow_once")]
        verbose_name = _("case follow")
        verbose_name_plural = _("case follows")
