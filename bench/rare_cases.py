"""Benchmark of the rarity analysis (issue 7, step 2) on PostgreSQL.

    PYTHONPATH=. .venv/bin/python bench/rare_cases.py [--diagnoses 1000000] [--patients 100000] [--hospitals 10]

1. Uses its own database (`h_rarecases_bench`, created if missing, migrated) and fills
   it inside the database (INSERT ... SELECT generate_series, no Python loop per row):
   10 hospitals, 100,000 patients, 3 encounters each, 1,000,000 diagnoses over the last
   year (all inside the default 365-day window) with ICD-10 codes drawn from a heavy-
   headed distribution over 8,000 codes (rank = 8000^(u^3)), so most diagnoses fall on
   a few hundred codes and thousands of codes are rare. Existing data of the same
   size is reused. The rare-disease catalogue is imported from /work/shared/data/rare
   when it is there (ICD-10 codes from the PyCMeKG graph).
2. Runs `rarity_analyse()` (the one aggregate statement in `unscoped()`, then each
   hospital's INSERT ... SELECT registration under its own row-level security) twice:
   the first run registers the cases, the second finds them registered (the steady
   state of the daily job). Prints the aggregation and total time of each, with the
   load average.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._django import setup_django  # noqa: E402

DATABASE = "h_rarecases_bench"
CODES = 8000


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def fill(*, hospitals: int, patients: int, diagnoses: int) -> None:
    from django.db import connection

    from apps.patients.models import Diagnosis, Patient
    from apps.tenancy.models import Hospital

    ids = [Hospital.objects.get_or_create(slug=f"rare-bench-{n}", defaults={"name": f"Rare bench {n}"})[0].pk
           for n in range(hospitals)]
    existing = (Patient.unscoped_objects.filter(hospital_id__in=ids).count(),
                Diagnosis.unscoped_objects.filter(hospital_id__in=ids).count())
    if existing == (patients, diagnoses):
        log(f"reusing {patients:,} patients and {diagnoses:,} diagnoses")
        return
    log(f"filling {patients:,} patients and {diagnoses:,} diagnoses in {hospitals} hospitals")
    started = time.perf_counter()
    id_array = "ARRAY[" + ",".join(map(str, ids)) + "]::bigint[]"
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM rarecases_rarecodestat; DELETE FROM rarecases_rarecaseindexentry "
                       "WHERE NOT EXISTS (SELECT 1 FROM rarecases_caseaccess a WHERE a.entry_id = id)")
        cursor.execute(f"DELETE FROM rarecases_rarecase WHERE hospital_id = ANY({id_array})")
        for table in ("patients_diagnosis", "patients_encounter", "patients_patient"):
            cursor.execute(f"DELETE FROM {table} WHERE hospital_id = ANY({id_array})")
        cursor.execute(f"""
            INSERT INTO patients_patient (hospital_id, name, sex, birth_date, national_id, national_id_index, phone,
                                          phone_index, medical_record_number, created_at)
            SELECT ({id_array})[1 + mod(i, {hospitals})], '患者' || i, CASE WHEN mod(i, 2) = 0 THEN 'F' ELSE 'M' END,
                   DATE '1940-01-01' + mod(i * 7919, 29000), '', '', '', '', 'B' || i, now()
            FROM generate_series(1, %s) AS i""", [patients])
        cursor.execute(f"""
            CREATE TEMP TABLE bench_patients ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY id) AS n, id, hospital_id FROM patients_patient
            WHERE hospital_id = ANY({id_array})""")
        cursor.execute("""
            INSERT INTO patients_encounter (hospital_id, patient_id, kind, started_at, record_text, created_at)
            SELECT p.hospital_id, p.id, 'outpatient', now() - (random() * 360) * interval '1 day', '', now()
            FROM bench_patients p CROSS JOIN generate_series(1, 3)""")
        cursor.execute(f"""
            CREATE TEMP TABLE bench_encounters ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY id) AS n, id, patient_id, hospital_id, started_at
            FROM patients_encounter WHERE hospital_id = ANY({id_array})""")
        cursor.execute("SELECT count(*) FROM bench_encounters")
        encounters = cursor.fetchone()[0]
        # rank r = floor(CODES ** u^3): most diagnoses on a few hundred codes, a long tail of rare ones
        cursor.execute(f"""
            INSERT INTO patients_diagnosis (hospital_id, encounter_id, patient_id, icd10_code, text, is_primary,
                                            diagnosed_at)
            SELECT e.hospital_id, e.id, e.patient_id, code, '诊断 ' || code, true, e.started_at
            FROM (SELECT 1 + (random() * ({encounters} - 1))::int AS n,
                         floor(power({CODES}, power(random(), 3)))::int AS r
                  FROM generate_series(1, %s)) AS draw
            JOIN bench_encounters e ON e.n = draw.n
            CROSS JOIN LATERAL (SELECT chr(65 + mod(draw.r, 26)) || lpad(mod(draw.r / 26, 100)::text, 2, '0')
                                       || '.' || (draw.r / 2600)::text AS code) AS c""", [diagnoses])
        cursor.execute("ANALYZE patients_patient; ANALYZE patients_encounter; ANALYZE patients_diagnosis")
    log(f"filled in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--diagnoses", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--hospitals", type=int, default=10)
    parser.add_argument("--catalogue", default="/work/shared/data/rare")
    args = parser.parse_args()
    setup_django(DATABASE)
    from django.db import transaction

    from apps.rarecases.catalogue import catalogue_import
    from apps.rarecases.knowledge import knowledge_graph
    from apps.rarecases.models import RareDisease
    from apps.rarecases.rarity import rarity_analyse
    from apps.tenancy.models import Hospital

    if not RareDisease.objects.exists() and Path(args.catalogue).is_dir():
        result = catalogue_import(folder=args.catalogue, graph=knowledge_graph())
        log(f"catalogue: {result.created} entries, {result.with_icd10} with ICD-10 codes")
    with transaction.atomic():
        fill(hospitals=args.hospitals, patients=args.patients, diagnoses=args.diagnoses)
    hospital_ids = list(Hospital.objects.filter(slug__startswith="rare-bench-").values_list("pk", flat=True))
    for label in ("first run (registers)", "second run (steady state)"):
        load_before = os.getloadavg()
        started = time.perf_counter()
        analysis = rarity_analyse(hospital_ids=hospital_ids)
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
        print(f"{label}: {analysis.total_diagnoses:,} diagnoses, {analysis.total_patients:,} patients, "
              f"{analysis.codes_seen:,} codes; {analysis.codes_rare:,} rare at rate {analysis.incidence_rate}, "
              f"{analysis.catalogue_matches} on the catalogue; cases registered {analysis.cases_registered:,}, "
              f"updated {analysis.cases_updated:,}")
        print(f"  aggregation {analysis.aggregate_ms / 1000:.2f} s, total {wall:.2f} s "
              f"(load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
