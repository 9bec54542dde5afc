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
import string
import time

from django.db import connection, transaction
from django.utils import timezone

from apps.configuration.selectors import setting_value
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context, unscoped
from apps.tenancy.models import Hospital

from .declared_settings import HOT_FIELD_DAYS, INCIDENCE_RATE, WINDOW_DAYS
from .icd10 import category_of
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


def _heads_sql() -> tuple[str, dict]:
    """A VALUES table of every three-character ICD-10 head (A00..Z99) with its chapter:
    rows find their category by equality (a hash join); a BETWEEN join against the 22
    chapter ranges cost 13 s over a million rows."""
    heads = [(head, category_of(head)) for head in
             (f"{letter}{number:02d}" for letter in string.ascii_uppercase for number in range(100))]
    heads = [row for row in heads if row[1]]
    sql = ", ".join(f"(%(h{i})s, %(l{i})s)" for i in range(len(heads)))
    params = {key: value for i, (head, label) in enumerate(heads)
              for key, value in ((f"h{i}", head), (f"l{i}", label))}
    return sql, params


def _aggregate_sql(catalogue: list[tuple[str, int]]) -> tuple[str, dict]:
    """One statement, one scan of the diagnoses. Rows are first grouped by (code,
    patient) in a hash aggregate, so distinct patients per code, per category and in
    total are plain counts of those pairs (COUNT(DISTINCT) over a million rows sorts,
    and does not run in parallel). Returns ("code", ...) rows for the codes kept,
    ("category", ...) rows for every category and one ("total", ...) row."""
    heads_sql, params = _heads_sql()
    # a sentinel row keeps the VALUES list valid when the catalogue is empty
    rows = [("#", 0), *catalogue]
    catalogue_sql = ", ".join(f"(%(k{i})s, %(d{i})s)" for i in range(len(rows)))
    params.update({key: value for i, (code, disease) in enumerate(rows)
                   for key, value in ((f"k{i}", code), (f"d{i}", disease))})
    sql = f"""
WITH heads(head, label) AS (VALUES {heads_sql}),
catalogue(code, disease_id) AS (VALUES {catalogue_sql}),
pairs AS (
    SELECT d.icd10_code AS code, d.patient_id, d.hospital_id,
           SUM(CASE WHEN d.diagnosed_at >= %(window_start)s THEN 1 ELSE 0 END) AS diagnoses,
           SUM(CASE WHEN d.diagnosed_at >= %(recent_from)s THEN 1 ELSE 0 END) AS recent,
           SUM(CASE WHEN d.diagnosed_at < %(recent_from)s THEN 1 ELSE 0 END) AS previous
    FROM patients_diagnosis d
    WHERE d.diagnosed_at >= %(scan_from)s AND d.diagnosed_at < %(window_end)s
    GROUP BY d.icd10_code, d.patient_id, d.hospital_id
),
code_hospitals AS (
    SELECT code, COUNT(*) AS hospitals
    FROM (SELECT code, hospital_id FROM pairs WHERE diagnoses > 0 GROUP BY code, hospital_id) x GROUP BY code
),
code_counts AS (
    SELECT code, SUM(CASE WHEN diagnoses > 0 THEN 1 ELSE 0 END) AS patients, SUM(diagnoses) AS diagnoses,
           SUM(recent) AS recent, SUM(previous) AS previous
    FROM pairs GROUP BY code
),
per_code AS (
    SELECT c.*, COALESCE(h.label, '') AS category, COALESCE(ch.hospitals, 0) AS hospitals
    FROM code_counts c LEFT JOIN heads h ON h.head = SUBSTR(c.code, 1, 3)
    LEFT JOIN code_hospitals ch ON ch.code = c.code
),
heat AS (
    SELECT category, (SUM(recent) + 1.0) / (SUM(recent) + SUM(previous) + 2.0) AS rare_feature
    FROM per_code GROUP BY category
),
per_category AS (
    SELECT label AS category, COUNT(*) AS patients
    FROM (SELECT h.label, p.patient_id FROM pairs p JOIN heads h ON h.head = SUBSTR(p.code, 1, 3)
          WHERE p.diagnoses > 0 GROUP BY h.label, p.patient_id) x
    GROUP BY label
),
total AS (
    SELECT COUNT(*) AS patients FROM (SELECT patient_id FROM pairs WHERE diagnoses > 0 GROUP BY patient_id) x
),
kept AS (
    SELECT c.*, COALESCE(exact.disease_id, head.disease_id) AS catalogue_id
    FROM per_code c
    LEFT JOIN catalogue exact ON exact.code = c.code AND exact.disease_id > 0
    LEFT JOIN catalogue head ON head.code = SUBSTR(c.code, 1, 3) AND head.disease_id > 0
    WHERE c.patients > 0
)
SELECT 'code' AS kind, kept.code, kept.category, kept.patients, kept.diagnoses, kept.hospitals,
       CAST(kept.patients AS DOUBLE PRECISION) / total.patients AS incidence, heat.rare_feature, kept.catalogue_id
FROM kept JOIN heat ON heat.category = kept.category CROSS JOIN total
WHERE CAST(kept.patients AS DOUBLE PRECISION) / total.patients <= %(rate)s OR kept.catalogue_id IS NOT NULL
UNION ALL
SELECT 'category', '', per_category.category, per_category.patients, 0, 0,
       CAST(per_category.patients AS DOUBLE PRECISION) / total.patients, heat.rare_feature, NULL
FROM per_category JOIN heat ON heat.category = per_category.category CROSS JOIN total
UNION ALL
SELECT 'total', '', '', total.patients, (SELECT COALESCE(SUM(diagnoses), 0) FROM per_code),
       (SELECT COUNT(*) FROM per_code WHERE patients > 0), 0, 0, NULL
FROM total
"""
    return sql, params


def rarity_aggregate(*, window_start: datetime.datetime, window_end: datetime.datetime, hot_days: int,
                     rate: float, actor=None) -> tuple[list[dict], dict, list[dict]]:
    """The rare (and catalogue) codes with their aggregated counts, ordered by
    incidence; the totals; incidence and heat per category (ICD-10 chapter), rarest
    first. Aggregates only."""
    sql, params = _aggregate_sql(_catalogue_codes())
    adapt = connection.ops.adapt_datetimefield_value
    recent_from = window_end - datetime.timedelta(days=hot_days)
    scan_from = min(window_start, window_end - datetime.timedelta(days=2 * hot_days))
    params.update(window_start=adapt(window_start), window_end=adapt(window_end), recent_from=adapt(recent_from),
                  scan_from=adapt(scan_from), rate=rate)
    with unscoped(reason=UNSCOPED_REASON, actor=actor), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The planner cannot estimate the grouped pairs (it guesses 100,000 rows for
            # 634,639) and sorts them for a merge join: 3 s of an 11 s statement.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 2; SET LOCAL work_mem = '64MB'; "
                           "SET LOCAL enable_mergejoin = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    codes, categories, totals = [], [], {"patients": 0, "diagnoses": 0, "codes_seen": 0}
    for kind, code, category, patients, diagnoses, hospitals, incidence, heat, catalogue_id in rows:
        if kind == "total":
            totals = {"patients": patients or 0, "diagnoses": int(diagnoses or 0), "codes_seen": int(hospitals or 0)}
        elif kind == "category" and category:
            categories.append({"category": category, "patients": patients, "incidence": round(float(incidence), 6),
                               "rare_feature": round(float(heat), 4)})
        elif kind == "code":
            codes.append({"icd10_code": code, "category": category, "patients": patients,
                          "diagnoses": int(diagnoses), "hospitals": hospitals, "incidence": float(incidence),
                          "rare_feature": round(float(heat), 4), "catalogue_entry_id": catalogue_id,
                          "below_rate": float(incidence) <= rate})
    codes.sort(key=lambda row: (row["incidence"], row["icd10_code"]))
    categories.sort(key=lambda row: (row["incidence"], row["category"]))
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
