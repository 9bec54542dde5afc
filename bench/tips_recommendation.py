"""Recommendation quality on a generated population with known preferences.

    .venv/bin/python bench/tips_recommendation.py [--patients 1000] [--tips 240] [--seed 7]

Each generated patient has hidden conditions (diseases) and a favourite category.
They like a tip on one of their conditions in their favourite category always, on
one of their conditions in another category half the time, and any tip of their
favourite category 15% of the time. 70% of patients have their conditions recorded
as diagnoses (ICD-10); the rest only left reads. Of each patient's liked tips, 40%
are observed (reads, some favourites: the training data) and 60% held out (the
truth); everybody also read two random tips (noise). 10% of patients are new: no
diagnoses, no reads.

Everything goes through the product: tips are written with tip_save (jieba tags),
diagnoses and reads are rows in PostgreSQL, neighbours come from neighbours_refresh,
and each patient's list from selectors.recommended_for (providers + CF + popularity).
The baseline ranks unseen tips by popularity only. Prints precision@5 and recall@20
of both, overall and per segment.
"""

import argparse
import json
import random
import sys
import time

from _django import ROOT, setup_django

DATABASE = "hp_bench_tips"
TOPICS = {  # tag: (ICD-10 code, diagnosis text)
    "高血压": ("I10", "原发性高血压"), "糖尿病": ("E11.9", "2型糖尿病"), "冠心病": ("I25.1", "冠状动脉粥样硬化性心脏病"),
    "血脂异常": ("E78.5", "高脂血症"), "贫血": ("D50.9", "缺铁性贫血"), "肝病": ("K76.0", "脂肪肝"),
    "痛风": ("M10.9", "痛风"), "哮喘": ("J45.9", "支气管哮喘"), "骨质疏松": ("M81.0", "骨质疏松"),
    "肥胖": ("E66.9", "肥胖症"), "失眠": ("G47.0", "失眠"), "慢阻肺": ("J44.9", "慢性阻塞性肺病"),
}
CATEGORIES = ["prevention", "medication", "diet", "exercise"]
ANGLES = {"prevention": "预防要点", "medication": "用药须知", "diet": "饮食建议", "exercise": "运动指导"}


def generate(rng: random.Random, patients: int, tips: int):
    topics = list(TOPICS)
    tip_specs = [(topics[i % len(topics)], CATEGORIES[(i // len(topics)) % 4]) for i in range(tips)]
    people = []
    for index in range(patients):
        conditions = rng.sample(topics, rng.choice([1, 1, 2]))
        taste = rng.choice(CATEGORIES)
        liked = set()
        for tip_index, (topic, category) in enumerate(tip_specs):
            on_topic, in_taste = topic in conditions, category == taste
            if (on_topic and in_taste) or (on_topic and rng.random() < 0.5) or (in_taste and rng.random() < 0.15):
                liked.add(tip_index)
        new = index < patients // 10
        recorded = not new and rng.random() < 0.7
        observed = set() if new else {tip for tip in liked if rng.random() < 0.4}
        noise = set() if new else set(rng.sample(range(tips), 2))
        people.append({"conditions": conditions, "recorded": recorded, "new": new,
                       "train": observed | noise, "favourites": {tip for tip in observed if rng.random() < 0.3},
                       "truth": liked - observed - noise})
    return tip_specs, people


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--tips", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    setup_django(DATABASE)
    from django.utils import timezone

    from apps.patients.models import Diagnosis, Encounter, Patient
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Hospital
    from apps.tips import recommend, selectors
    from apps.tips.models import Favourite, TipRead
    from apps.tips.services import neighbours_refresh, tip_save

    tip_specs, people = generate(rng, args.patients, args.tips)
    hospital = Hospital.objects.create(slug=f"bench-tips-{int(time.time())}", name="Bench tips")
    now = timezone.now()
    with tenant_context(hospital.pk):
        tips = [tip_save(hospital_id=hospital.pk, actor=None, role="", category=category, published=True,
                         title=f"{topic}{ANGLES[category]}（{index}）",
                         body_html=f"<p>关于{topic}的{ANGLES[category]}，第{index}篇。</p>")
                for index, (topic, category) in enumerate(tip_specs)]
        patients = Patient.objects.bulk_create([Patient(hospital_id=hospital.pk, name=f"患者{i}",
                                                        medical_record_number=f"T{hospital.pk}-{i}")
                                                for i in range(len(people))])
        encounters = Encounter.objects.bulk_create([Encounter(hospital_id=hospital.pk, patient=patient, started_at=now)
                                                    for patient, person in zip(patients, people) if person["recorded"]])
        by_patient = {encounter.patient_id: encounter for encounter in encounters}
        Diagnosis.objects.bulk_create([
            Diagnosis(hospital_id=hospital.pk, encounter=by_patient[patient.pk], patient=patient,
                      icd10_code=TOPICS[condition][0], text=TOPICS[condition][1], diagnosed_at=now)
            for patient, person in zip(patients, people) if person["recorded"] for condition in person["conditions"]])
        TipRead.objects.bulk_create([TipRead(hospital_id=hospital.pk, tip=tips[tip], patient=patient, first_read_at=now,
                                             last_read_at=now)
                                     for patient, person in zip(patients, people) for tip in person["train"]])
        Favourite.objects.bulk_create([Favourite(hospital_id=hospital.pk, tip=tips[tip], patient=patient)
                                       for patient, person in zip(patients, people) for tip in person["favourites"]])
        neighbours_refresh(hospital_id=hospital.pk)
        popularity = selectors.popularity()

        index_of = {tip.pk: index for index, tip in enumerate(tips)}
        scores = {"blend": {}, "popularity": {}}
        started = time.perf_counter()
        for patient, person in zip(patients, people):
            if not person["truth"]:
                continue
            blend = [index_of[tip.pk] for tip, _item in selectors.recommended_for(patient=patient, limit=20)]
            own = {tips[index].pk for index in person["train"]}
            baseline = [index_of[pk] for pk in recommend.popular_only(
                candidates={tip.pk: [] for tip in tips}, own=own, popularity=popularity, limit=20)]
            segment = "new" if person["new"] else ("diagnosed" if person["recorded"] else "reads only")
            for name, ranked in (("blend", blend), ("popularity", baseline)):
                hits5 = len(set(ranked[:5]) & person["truth"])
                hits20 = len(set(ranked[:20]) & person["truth"])
                for key in ("all", segment):
                    bucket = scores[name].setdefault(key, {"p5": 0.0, "r20": 0.0, "n": 0})
                    bucket["p5"] += hits5 / 5
                    bucket["r20"] += hits20 / len(person["truth"])
                    bucket["n"] += 1
        per_patient_ms = (time.perf_counter() - started) * 1000 / max(scores["blend"]["all"]["n"], 1)

    result = {"patients": args.patients, "tips": args.tips, "seed": args.seed,
              "recommend_ms_per_patient": round(per_patient_ms, 1), "segments": {}}
    for segment in ("all", "diagnosed", "reads only", "new"):
        row = {}
        for name in ("blend", "popularity"):
            bucket = scores[name].get(segment)
            if bucket:
                row[name] = {"precision@5": round(bucket["p5"] / bucket["n"], 3),
                             "recall@20": round(bucket["r20"] / bucket["n"], 3), "patients": bucket["n"]}
        result["segments"][segment] = row
    print(f"{'segment':<12} {'patients':>8} {'P@5 blend':>10} {'P@5 pop':>8} {'R@20 blend':>11} {'R@20 pop':>9}")
    for segment, row in result["segments"].items():
        if row:
            print(f"{segment:<12} {row['blend']['patients']:>8} {row['blend']['precision@5']:>10.3f} "
                  f"{row['popularity']['precision@5']:>8.3f} {row['blend']['recall@20']:>11.3f} "
                  f"{row['popularity']['recall@20']:>9.3f}")
    print(json.dumps(result, ensure_ascii=False))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tips_recommendation.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
