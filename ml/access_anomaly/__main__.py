"""python -m ml.access_anomaly <records.csv> [--threshold 8.0]

CSV columns: actor_id, role, occurred_at (ISO, local time), action, outcome, patient_id,
listed_count, ip, egress (0/1). Prints the flagged user-days with their drivers."""

import argparse
import csv
import json
from dataclasses import replace
from datetime import datetime

from .config import AutoencoderConfig
from .data import AccessRecord
from .serving import detect


def _records(path):
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            listed = int(row.get("listed_count") or 0)
            yield AccessRecord(
                actor_id=int(row["actor_id"]), role=row["role"], occurred_at=datetime.fromisoformat(row["occurred_at"]),
                action=row["action"], outcome=row.get("outcome") or "success",
                patient_id=int(row["patient_id"]) if row.get("patient_id") else None,
                listed_patient_ids=tuple(range(listed)), ip=row.get("ip") or None, egress=row.get("egress") == "1")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ml.access_anomaly")
    parser.add_argument("records")
    parser.add_argument("--threshold", type=float, default=AutoencoderConfig.robust_z_threshold)
    args = parser.parse_args(argv)
    config = replace(AutoencoderConfig(), robust_z_threshold=args.threshold)
    for flag in detect(list(_records(args.records)), config):
        print(json.dumps({"actor_id": flag.actor_id, "day": str(flag.day), "role": flag.role,
                          "robust_z": round(flag.robust_z, 2), "drivers": flag.drivers}, ensure_ascii=False))


if __name__ == "__main__":
    main()
