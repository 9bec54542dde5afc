"""How fast a request reads a setting, and what a change costs.

    .venv/bin/python bench/settings_read.py

Runs in-process against its own PostgreSQL database (hp_bench_settings) with Redis
as the shared cache, as production does. Prints p50/p95/p99 of `setting_value()`:
(1) hot, within the check interval; (2) over a few seconds of continuous reads, so
the once-a-second version check against Redis is included at its real rate; and
(3) the queries made by the first reads after an administrator changes the value.
"""

import json
import time

from _django import ROOT, percentile, setup_django

READS = 200_000


def main():
    setup_django("hp_bench_settings")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.configuration import selectors
    from apps.configuration.selectors import setting_value
    from apps.configuration.services import setting_set
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Hospital, Membership
    from apps.tenancy.roles import Role
    from django.contrib.auth import get_user_model

    hospital, _ = Hospital.objects.get_or_create(slug="bench-settings", defaults={"name": "Bench"})
    admin, _ = get_user_model().objects.get_or_create(username="bench-settings-admin")
    Membership.objects.get_or_create(user=admin, hospital=hospital, defaults={"role": Role.HOSPITAL_ADMIN})
    key = "accounts.login_failure_limit"

    with tenant_context(hospital.pk):
        setting_value(key)
        clock = time.perf_counter_ns
        hot = []
        for _ in range(READS):
            started = clock()
            setting_value(key)
            hot.append(clock() - started)

        continuous, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline:
            started = clock()
            setting_value(key)
            continuous.append(clock() - started)

    # A change by an administrator (platform-wide key: a platform admin's change).
    platform_admin, _ = get_user_model().objects.get_or_create(username="bench-settings-platform")
    Membership.objects.update_or_create(user=platform_admin, hospital=hospital,
                                        defaults={"role": Role.PLATFORM_ADMIN})
    current = setting_value(key)
    setting_set(key=key, value=4 if current != 4 else 5, actor=platform_admin, role=Role.PLATFORM_ADMIN,
                hospital_id=None)
    # on_commit ran (autocommit); this process forgot its copy. Another process would
    # notice through the version within CHECK_INTERVAL_SECONDS.
    with tenant_context(hospital.pk):
        with CaptureQueriesContext(connection) as after_change:
            for _ in range(1000):
                setting_value(key)
    queries = [q for q in after_change.captured_queries if not q["sql"].startswith(("SET LOCAL", "SAVEPOINT"))]

    def row(name, samples_ns):
        ms = [s / 1e6 for s in samples_ns]
        return {"case": name, "reads": len(ms), "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95),
                "p99_ms": percentile(ms, 0.99), "max_ms": max(ms)}

    rows = [row("hot (in-process copy)", hot), row("continuous 5 s (incl. version checks)", continuous)]
    print(f"{'case':<40} {'reads':>9} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for r in rows:
        print(f"{r['case']:<40} {r['reads']:>9} {r['p50_ms']:>9.5f} {r['p95_ms']:>9.5f} {r['p99_ms']:>9.5f} "
              f"{r['max_ms']:>9.3f}")
    print(f"queries for the first 1,000 reads after a change: {len(queries)}  "
          f"(check interval {selectors.CHECK_INTERVAL_SECONDS} s)")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "settings_read.json").write_text(json.dumps({"rows": rows, "queries_after_change": len(queries)},
                                                           indent=2))


if __name__ == "__main__":
    main()
