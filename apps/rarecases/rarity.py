"""Step 2, the rarity analysis: which ICD-10 codes are rare on this platform.

One statement aggregates every hospital's diagnoses per code inside the database
(distinct patients, diagnoses, hospitals, recent and previous activity) and returns
only the codes at or below the preset incidence rate, or on the rare-disease
catalogue, ordered by incidence. It runs in `unscoped()` (audited) and returns
aggregated counts only: no patient row leaves its hospital. Each hospital then
registers its own cases in its own tenant context (row-level security applies) with
one INSERT ... SELECT, idempotently.

Incidence = distinct patients with the code / distinct patients with any diagnosis,
both over the window. Rare feature (how hot the field is) = the category's share of
its diagnoses made in the last `hot_field_days` against the same span before,
smoothed: (recent + 1) / (recent + previous + 2); 0.5 is steady, above is growing.
"""

import datetime
import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from apps.configuration.selectors import setting_value
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context, unscoped
from apps.tenancy.models import Hospital

from .declared_settings import HOT_FIELD_DAYS, INCIDENCE_RATE, WINDOW_DAYS
from .icd10 import CHAPTERS, chapter_label
from .models import RareCase, RareCodeStat, RareDisease, RarityAnalysis

logger = logging.getLogger(__name__)

UNSCOPED_REASON = "rarity analysis: diagnoses counted per ICD-10 code over every hospital (aggregates only)"


def _catalogue_codes() -> list[tuple[str, int]]:
    """(ICD-10 code, catalogue entry) pairs; China's list before Orphanet, then by id."""
    pairs: dict[str, int] = {}
    entries = (RareDisease.objects.exclude(icd10_codes=[]).order_by("source", "id")
               .values_list("id", "source", "icd10_codes"))
    ordered = sorted(entries, key=lambda row: (row[1] != RareDisease.Source.CCRD, row[0]))
    for disease_id, _source, codes in ordered:
        for code in codes or []:
            pairs.setdefault(code, disease_id)
    return sorted(pairs.items())


def _values(rows: list[tuple], placeholders: str) -> tuple[str, list]:
    sql = ", ".join(f"({placeholders})" for _row in rows)
    return sql, [value for row in rows for value in row]


def _aggregate_sql(catalogue: list[tuple[str, int]]) -> tuple[str, list]:
    chapters_sql, chapter_params = _chapters_sql()
    # a sentinel row keeps the VALUES list valid when the catalogue is empty
    catalogue_sql, catalogue_params = _values([("#", 0), *catalogue], "%s, %s")
    sql = f"""
WITH chapters(first_code, last_code, label) AS (VALUES {chapters_sql}),
catalogue(code, disease_id) AS (VALUES {catalogue_sql}),
per_code AS (
    SELECT d.icd10_code AS code,
           COUNT(DISTINCT CASE WHEN d.diagnosed_at >= %s THEN d.patient_id END) AS patients,
           SUM(CASE WHEN d.diagnosed_at >= %s THEN 1 ELSE 0 END) AS diagnoses,
           COUNT(DISTINCT CASE WHEN d.diagnosed_at >= %s THEN d.hospital_id END) AS hospitals,
           SUM(CASE WHEN d.diagnosed_at >= %s THEN 1 ELSE 0 END) AS recent,
           SUM(CASE WHEN d.diagnosed_at < %s THEN 1 ELSE 0 END) AS previous
    FROM patients_diagnosis d
    WHERE d.diagnosed_at >= %s AND d.diagnosed_at < %s
    GROUP BY d.icd10_code
),
coded AS (
    SELECT p.*, COALESCE((SELECT c.label FROM chapters c
                          WHERE SUBSTR(p.code, 1, 3) BETWEEN c.first_code AND c.last_code), '') AS category,
           (SELECT MIN(k.disease_id) FROM catalogue k
            WHERE k.disease_id > 0 AND (k.code = p.code OR k.code = SUBSTR(p.code, 1, 3))) AS catalogue_id
    FROM per_code p
    WHERE p.patients > 0
),
heat AS (
    SELECT category, (SUM(recent) + 1.0) / (SUM(recent) + SUM(previous) + 2.0) AS rare_feature
    FROM coded GROUP BY category
),
total AS (
    SELECT COUNT(DISTINCT d.patient_id) AS patients, COUNT(*) AS diagnoses
    FROM patients_diagnosis d WHERE d.diagnosed_at >= %s AND d.diagnosed_at < %s
)
SELECT coded.code, coded.category, coded.patients, coded.diagnoses, coded.hospitals,
       CAST(coded.patients AS DOUBLE PRECISION) / total.patients AS incidence, heat.rare_feature,
       coded.catalogue_id, total.patients, total.diagnoses, (SELECT COUNT(*) FROM coded) AS codes_seen
FROM coded JOIN heat ON heat.category = coded.category CROSS JOIN total
WHERE CAST(coded.patients AS DOUBLE PRECISION) / total.patients <= %s OR coded.catalogue_id IS NOT NULL
ORDER BY incidence, coded.code
"""
    return sql, [*chapter_params, *catalogue_params]


def _chapters_sql() -> tuple[str, list]:
    return _values([(first, last, chapter_label(first, last, zh)) for first, last, zh, _en in CHAPTERS],
                   "%s, %s, %s")


def _category_sql() -> tuple[str, list]:
    """Incidence and heat per ICD-10 chapter: distinct patients cannot be summed over
    codes (one patient may have several codes of a chapter), so a second pass."""
    chapters_sql, params = _chapters_sql()
    return f"""
WITH chapters(first_code, last_code, label) AS (VALUES {chapters_sql})
SELECT c.label,
       COUNT(DISTINCT CASE WHEN d.diagnosed_at >= %s THEN d.patient_id END) AS patients,
       SUM(CASE WHEN d.diagnosed_at >= %s THEN 1 ELSE 0 END) AS recent,
       SUM(CASE WHEN d.diagnosed_at < %s THEN 1 ELSE 0 END) AS previous
FROM patients_diagnosis d JOIN chapters c ON SUBSTR(d.icd10_code, 1, 3) BETWEEN c.first_code AND c.last_code
WHERE d.diagnosed_at >= %s AND d.diagnosed_at < %s
GROUP BY c.label
""", params


def rarity_aggregate(*, window_start: datetime.datetime, window_end: datetime.datetime, hot_days: int,
                     rate: float, actor=None) -> tuple[list[dict], dict, list[dict]]:
    """The rare (and catalogue) codes with their aggregated counts, the totals, and
    incidence and heat per category (ICD-10 chapter), rarest first."""
    catalogue = _catalogue_codes()
    sql, params = _aggregate_sql(catalogue)
    adapt = connection.ops.adapt_datetimefield_value
    recent_from = window_end - datetime.timedelta(days=hot_days)
    scan_from = min(window_start, window_end - datetime.timedelta(days=2 * hot_days))
    params += [adapt(window_start)] * 3 + [adapt(recent_from)] * 2 + [adapt(scan_from), adapt(window_end)]
    params += [adapt(window_start), adapt(window_end), rate]
    with unscoped(reason=UNSCOPED_REASON, actor=actor), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 2; SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        if rows:
            totals = {"patients": rows[0][8], "diagnoses": rows[0][9], "codes_seen": rows[0][10]}
        else:
            cursor.execute("SELECT COUNT(DISTINCT patient_id), COUNT(*), COUNT(DISTINCT icd10_code) "
                           "FROM patients_diagnosis WHERE diagnosed_at >= %s AND diagnosed_at < %s",
                           [adapt(window_start), adapt(window_end)])
            patients, diagnoses, codes_seen = cursor.fetchone()
            totals = {"patients": patients or 0, "diagnoses": diagnoses or 0, "codes_seen": codes_seen or 0}
        category_sql, category_params = _category_sql()
        cursor.execute(category_sql, category_params + [adapt(window_start), adapt(recent_from), adapt(recent_from),
                                                        adapt(scan_from), adapt(window_end)])
        category_rows = cursor.fetchall()
    categories = sorted(({"category": label, "patients": patients,
                          "incidence": round(patients / totals["patients"], 6) if totals["patients"] else 0.0,
                          "rare_feature": round((recent + 1) / (recent + previous + 2), 4)}
                         for label, patients, recent, previous in category_rows if patients),
                        key=lambda row: (row["incidence"], row["category"]))
    codes = [{"icd10_code": code, "category": category, "patients": patients, "diagnoses": diagnoses,
              "hospitals": hospitals, "incidence": float(incidence), "rare_feature": round(float(heat), 4),
              "catalogue_entry_id": catalogue_id, "below_rate": float(incidence) <= rate}
             for code, category, patients, diagnoses, hospitals, incidence, heat, catalogue_id, *_t in rows]
    return codes, totals, categories


_REGISTER_SQL = """
INSERT INTO rarecases_rarecase
    (hospital_id, diagnosis_id, patient_id, icd10_code, diagnosis_text, category, incidence, rare_feature,
     catalogue_entry_id, retrieval_feature, status, created_at, updated_at, first_model_version,
     second_model_version, related_data, analysis_id)
SELECT d.hospital_id, d.id, d.patient_id, d.icd10_code, d.text, r.category, r.incidence, r.rare_feature,
       r.catalogue_entry_id, %s, %s, %s, %s, '', '', %s, r.analysis_id
FROM patients_diagnosis d
JOIN (SELECT MIN(x.id) AS id FROM patients_diagnosis x
      JOIN rarecases_rarecodestat s ON s.analysis_id = %s AND s.icd10_code = x.icd10_code
      WHERE x.hospital_id = %s AND x.diagnosed_at >= %s AND x.diagnosed_at < %s
        AND NOT EXISTS (SELECT 1 FROM rarecases_rarecase c WHERE c.hospital_id = x.hospital_id
                        AND c.patient_id = x.patient_id AND c.icd10_code = x.icd10_code)
      GROUP BY x.patient_id, x.icd10_code) earliest ON earliest.id = d.id
JOIN rarecases_rarecodestat r ON r.analysis_id = %s AND r.icd10_code = d.icd10_code
WHERE true
ON CONFLICT DO NOTHING
"""

_UPDATE_SQL = """
UPDATE rarecases_rarecase
SET incidence = r.incidence, category = r.category, rare_feature = r.rare_feature,
    catalogue_entry_id = r.catalogue_entry_id, analysis_id = r.analysis_id, updated_at = %s
FROM rarecases_rarecodestat r
WHERE r.analysis_id = %s AND r.icd10_code = rarecases_rarecase.icd10_code AND rarecases_rarecase.hospital_id = %s
  AND (rarecases_rarecase.incidence <> r.incidence OR rarecases_rarecase.rare_feature <> r.rare_feature
       OR rarecases_rarecase.category <> r.category
       OR rarecases_rarecase.catalogue_entry_id IS DISTINCT FROM r.catalogue_entry_id)
"""


def rare_cases_register(*, hospital_id: int, analysis: RarityAnalysis) -> tuple[int, int]:
    """Register the hospital's cases with the analysis's codes (the earliest diagnosis
    per patient and code in the window) and refresh the figures of its existing cases
    where they changed (their `analysis` is the run that last changed them).
    Idempotent; runs as the hospital. Returns (registered, updated)."""
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    empty = "{}"
    with tenant_context(hospital_id), connection.cursor() as cursor:
        cursor.execute(_REGISTER_SQL, [empty, RareCase.Status.REGISTERED, now, now, empty, analysis.pk, hospital_id,
                                       adapt(analysis.window_start), adapt(analysis.window_end), analysis.pk])
        registered = max(cursor.rowcount, 0)
        cursor.execute(_UPDATE_SQL, [now, analysis.pk, hospital_id])
        updated = max(cursor.rowcount, 0)
        if registered or updated:
            audit_record(action="rarecases.cases_register", hospital_id=hospital_id, object_type="rarity_analysis",
                         object_id=analysis.pk, detail={"registered": registered, "updated": updated})
    return registered, updated


def rarity_analyse(*, actor=None, now: datetime.datetime | None = None,
                   hospital_ids: list[int] | None = None) -> RarityAnalysis:
    """Run step 2 over the platform and register every hospital's rare cases."""
    now = now or timezone.now()
    rate = float(setting_value(INCIDENCE_RATE))
    window_start = now - datetime.timedelta(days=int(setting_value(WINDOW_DAYS)))
    analysis = RarityAnalysis.objects.create(window_start=window_start, window_end=now, incidence_rate=rate,
                                             triggered_by=actor if getattr(actor, "is_authenticated", False) else None)
    started = time.perf_counter()
    try:
        codes, totals, categories = rarity_aggregate(window_start=window_start, window_end=now,
                                         hot_days=int(setting_value(HOT_FIELD_DAYS)), rate=rate, actor=actor)
        aggregate_ms = (time.perf_counter() - started) * 1000
        with transaction.atomic():
            RareCodeStat.objects.bulk_create(
                [RareCodeStat(analysis=analysis, rank=rank, **code) for rank, code in enumerate(codes, start=1)],
                batch_size=2000)
        registered = updated = 0
        hospitals = hospital_ids if hospital_ids is not None else list(
            Hospital.objects.filter(active=True).values_list("pk", flat=True))
        for hospital_id in hospitals:
            added, refreshed = rare_cases_register(hospital_id=hospital_id, analysis=analysis)
            registered += added
            updated += refreshed
    except Exception as error:
        RarityAnalysis.objects.filter(pk=analysis.pk).update(status=RarityAnalysis.Status.FAILED,
                                                             finished_at=timezone.now(), error=repr(error)[:2000])
        logger.exception("rarity analysis %s failed", analysis.pk)
        raise
    analysis.status = RarityAnalysis.Status.DONE
    analysis.finished_at = timezone.now()
    analysis.total_patients, analysis.total_diagnoses = totals["patients"], totals["diagnoses"]
    analysis.codes_seen, analysis.categories = totals["codes_seen"], categories
    analysis.codes_rare = sum(1 for code in codes if code["below_rate"])
    analysis.catalogue_matches = sum(1 for code in codes if code["catalogue_entry_id"])
    analysis.cases_registered, analysis.cases_updated = registered, updated
    analysis.aggregate_ms = round(aggregate_ms, 1)
    analysis.total_ms = round((time.perf_counter() - started) * 1000, 1)
    analysis.save()
    audit_record(action="rarecases.rarity_analyse", actor=actor, hospital_id=None, object_type="rarity_analysis",
                 object_id=analysis.pk, detail={"incidence_rate": rate, "codes_rare": analysis.codes_rare,
                                                "catalogue_matches": analysis.catalogue_matches,
                                                "registered": registered, "updated": updated})
    return analysis
