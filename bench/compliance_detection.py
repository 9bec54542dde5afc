"""Detection quality on a generated month: precision and recall per rule and for
the autoencoder, side by side.

    .venv/bin/python bench/compliance_detection.py            # 2,000 staff, 200,000 patients
    .venv/bin/python bench/compliance_detection.py --scale 0.1

A month (November 2026, 21 working days) of access is generated with a fixed seed:
doctors read their own and their department's patients in working hours, list
pages, log in from the hospital network, make consented de-identified exports;
with ordinary noise (typos at login, occasional overtime, travel with one token
abroad, colleagues sharing surnames and districts with patients; a tenth of the
doctors on night shifts from 20:00 to 08:00). Violations of
each kind are planted and remembered. The rules run over the events in daily
batches through the same code the Celery task runs (apps/compliance/rules.py),
with an in-memory RuleContext in place of the database one; the autoencoder runs
through ml.access_anomaly exactly as the daily task does.
"""

import argparse
import bisect
import datetime
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital_platform.settings.test")
os.environ.pop("DATABASE_URL", None)  # nothing here touches a database

import django  # noqa: E402

django.setup()

from apps.compliance.declared_settings import RULES  # noqa: E402
from apps.compliance.events import EventRow  # noqa: E402
from apps.compliance.rules import MembershipInfo, rules_run  # noqa: E402
from apps.configuration.registry import registry  # noqa: E402

CST = datetime.timezone(datetime.timedelta(hours=8))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
DEPARTMENTS = 20


class Month:
    """The generated hospital, its events and what was planted."""

    def __init__(self, staff: int, patients: int, seed: int):
        self.rng = rng = random.Random(seed)
        self.events: list[EventRow] = []
        self.truth: dict[str, set] = defaultdict(set)
        self.truth_days: dict[str, set] = defaultdict(set)  # kind -> planted (user, day): what the autoencoder sees
        self.anomalous_days: set = set()  # user-days with planted behaviour the autoencoder should find
        self.snoop_days: set = set()
        self.doctors = list(range(1, int(staff * 0.9) + 1))
        self.admins = list(range(len(self.doctors) + 1, staff + 1))
        self.role = {u: "doctor" for u in self.doctors} | {u: "hospital_admin" for u in self.admins}
        self.department = {u: u % DEPARTMENTS for u in self.doctors}
        self.profile = {u: (rng.choice(SURNAMES), f"3101{rng.randrange(100):02d}", None, None)
                        for u in self.role}
        for u in rng.sample(self.doctors, len(self.doctors) // 10):  # night shifts, 20:00 to 08:00
            self.profile[u] = self.profile[u][:2] + (20, 8)
        self.patient_ids = list(range(1, patients + 1))
        by_department = defaultdict(list)
        for u in self.doctors:
            by_department[self.department[u]].append(u)
        self.patient_department, self.attending = {}, {}
        self.patients_of = defaultdict(list)
        for p in self.patient_ids:
            d = rng.randrange(DEPARTMENTS)
            self.patient_department[p] = d
            self.attending[p] = rng.choice(by_department[d])
            self.patients_of[self.attending[p]].append(p)
        self.department_patients = defaultdict(list)
        for p, d in self.patient_department.items():
            self.department_patients[d].append(p)
        self.patient_watch = {p: (False, f"3101{rng.randrange(100):02d}", rng.choice(SURNAMES))
                              for p in self.patient_ids}
        self.vips = set(rng.sample(self.patient_ids, 200))
        for p in self.vips:
            self.patient_watch[p] = (True,) + self.patient_watch[p][1:]
        self.past_attending: set = set()
        self.consented = set(rng.sample(self.patient_ids, len(self.patient_ids) // 2))
        self.consented_list = sorted(self.consented)
        self.revoked: dict[int, datetime.datetime] = {}
        self.days = [datetime.date(2026, 11, d) for d in range(1, 31)
                     if datetime.date(2026, 11, d).weekday() < 5 or d == 30][:21]

    def at(self, day, hour, minute=0, second=0):
        return datetime.datetime.combine(day, datetime.time(hour, minute, second), CST)

    def add(self, **fields):
        self.events.append(EventRow(id=str(len(self.events)), **fields))
        return self.events[-1]

    def read(self, user, patient, moment, ip="10.1.0.1", token=""):
        return self.add(occurred_at=moment, actor_id=user, role=self.role[user], action="patient.read",
                        patient_id=patient, ip=ip, token_id=token, actor_username=f"u{user}")

    def listing(self, user, patients, moment, ip="10.1.0.1", token=""):
        return self.add(occurred_at=moment, actor_id=user, role=self.role[user], action="patient.list",
                        patient_ids=tuple(patients), ip=ip, token_id=token, actor_username=f"u{user}")

    def shift_hours(self, user):
        start, end = self.profile[user][2] or 8, self.profile[user][3] or 18
        return list(range(start, end)) if start < end else list(range(start, 24)) + list(range(end))

    def working_moment(self, user, day, room=0):
        """A moment in the user's shift with `room` minutes of it still to go."""
        hours = self.shift_hours(user)
        hours = hours[:len(hours) - (room + 59) // 60]
        return self.at(day, self.rng.choice(hours), self.rng.randrange(60), self.rng.randrange(60))

    def ordinary(self):
        rng = self.rng
        for day in self.days:
            for user in self.doctors:
                token = f"t{user}-{day.isoformat()}"
                first = self.working_moment(user, day)
                self.add(occurred_at=first, actor_id=user, role="doctor", action="auth.login", ip="10.1.0.1",
                         token_id=token, actor_username=f"u{user}")
                if rng.random() < 0.03:  # a typo or two at login
                    for n in range(rng.randint(1, 3)):
                        self.add(occurred_at=first - datetime.timedelta(seconds=10 * (n + 1)), actor_id=None, role="",
                                 action="auth.login", outcome="denied", username=f"u{user}", ip="10.1.0.1")
                own = self.patients_of[user] or self.department_patients[self.department[user]]
                colleagues = self.department_patients[self.department[user]]
                for _ in range(rng.randint(15, 35)):
                    pool = own if rng.random() < 0.85 else colleagues
                    self.read(user, rng.choice(pool), self.working_moment(user, day), token=token)
                for _ in range(rng.randint(1, 3)):
                    self.listing(user, rng.sample(colleagues, min(20, len(colleagues))),
                                 self.working_moment(user, day), token=token)
                if rng.random() < 0.003:  # overtime: a legitimate read in the hour after the shift
                    end = self.profile[user][3] or 20
                    self.read(user, rng.choice(own), self.at(day, end % 24, rng.randrange(60)), token=token)
                if rng.random() < 0.002:  # at a conference abroad: one country all day
                    self.read(user, rng.choice(own), self.working_moment(user, day), ip="126.1.2.3", token=token)
            for user in self.admins:
                for _ in range(rng.randint(2, 8)):
                    dept = rng.randrange(DEPARTMENTS)
                    self.listing(user, rng.sample(self.department_patients[dept], min(20, len(self.department_patients[dept]))),
                                 self.at(day, rng.randrange(9, 17), rng.randrange(60)))
            for _ in range(5):  # consented, de-identified research exports
                patients = tuple(rng.sample(self.consented_list, 30)) if len(self.consented) > 30 else ()
                user = rng.choice(self.doctors)
                self.add(occurred_at=self.working_moment(user, day), actor_id=user, role="doctor",
                         action="research.export",
                         patient_ids=patients, purpose="research", deidentified=True, actor_username=f"u{user}")

    def plant(self, count: int):
        rng, day_of = self.rng, lambda: rng.choice(self.days)

        def day_key(user, day):
            return (user, day.isoformat())

        non_vip = [p for p in self.patient_ids if p not in self.vips]
        for _ in range(count):  # no care relationship
            user, day = rng.choice(self.doctors), day_of()
            patient = rng.choice([p for p in rng.sample(non_vip, 50) if self.patient_department[p]
                                  != self.department[user]])
            self.read(user, patient, self.working_moment(user, day))
            self.truth["no_care_relationship"].add((user, patient, day.isoformat()))
            self.truth_days["no_care_relationship"].add(day_key(user, day))
        for _ in range(count):  # bulk: eight list pages within half an hour, in the user's shift
            user, day = rng.choice(self.doctors), day_of()
            start = self.working_moment(user, day, room=30)
            pool = self.department_patients[self.department[user]]
            for n in range(8):
                self.listing(user, rng.sample(pool, min(20, len(pool))), start + datetime.timedelta(minutes=4 * n))
            self.truth["bulk_access"].add(day_key(user, day))
            self.truth_days["bulk_access"].add(day_key(user, day))
            self.anomalous_days.add(day_key(user, day))
        day_doctors = [u for u in self.doctors if self.profile[u][2] is None]
        for _ in range(count):  # outside working hours
            user, day = rng.choice(day_doctors), day_of()
            for n in range(rng.randint(3, 10)):
                self.read(user, rng.choice(self.patients_of[user] or self.department_patients[self.department[user]]),
                          self.at(day, 2, 5 * n))
            self.truth["outside_working_hours"].add(day_key(user, day))
            self.truth_days["outside_working_hours"].add(day_key(user, day))
            self.anomalous_days.add(day_key(user, day))
        for _ in range(count):  # a former patient now in another department
            user, day = rng.choice(self.doctors), day_of()
            patient = rng.choice([p for p in rng.sample(non_vip, 50)
                                  if self.patient_department[p] != self.department[user]])
            self.past_attending.add((user, patient))
            self.read(user, patient, self.working_moment(user, day))
            self.truth["outside_department"].add((user, patient, day.isoformat()))
            self.truth_days["outside_department"].add(day_key(user, day))
        for _ in range(count):  # relative or neighbour
            user, day = rng.choice(self.doctors), day_of()
            patient = rng.choice(self.department_patients[self.department[user]])
            if patient in self.vips:
                continue
            surname, area = self.profile[user][:2]
            self.patient_watch[patient] = (False, area, surname)
            self.read(user, patient, self.working_moment(user, day))
            self.truth["relative_or_neighbour"].add((user, patient))
            self.truth_days["relative_or_neighbour"].add(day_key(user, day))
        for _ in range(count):  # VIP record without a care relationship
            user, day, patient = rng.choice(self.doctors + self.admins), day_of(), rng.choice(sorted(self.vips))
            if self.role[user] == "doctor" and (self.attending[patient] == user
                                                or self.patient_department[patient] == self.department[user]):
                continue
            self.read(user, patient, self.working_moment(user, day) if user in self.department else self.at(day, 10))
            self.truth["vip_record"].add((user, patient, day.isoformat()))
            self.truth_days["vip_record"].add(day_key(user, day))
        for n in range(count):  # repeated failed logins
            user, day = rng.choice(self.doctors), day_of()
            for k in range(rng.randint(6, 12)):
                self.add(occurred_at=self.at(day, 3, 0, 0) + datetime.timedelta(seconds=20 * k), actor_id=None,
                         role="", action="auth.login", outcome="denied", username=f"u{user}", ip="95.24.1.1")
            self.truth["failed_logins"].add(f"u{user}")
        for n in range(count):  # one token from two countries
            user, day = rng.choice(self.doctors), day_of()
            token = f"t{user}-{day.isoformat()}"
            patient = rng.choice(self.patients_of[user] or self.department_patients[self.department[user]])
            moment = self.working_moment(user, day, room=40)
            self.read(user, patient, moment, ip="114.80.9.9", token=token)
            self.read(user, patient, moment + datetime.timedelta(minutes=40), ip="3.5.5.5", token=token)
            self.truth["token_multi_country"].add(token)
            self.truth_days["token_multi_country"].add(day_key(user, day))
        for user in rng.sample(self.doctors, count):  # access after revocation
            day = rng.choice(self.days[5:])
            self.revoked[user] = self.at(day, 0)  # at midnight: every act of that day and after is after it
            for _n in range(3):
                self.read(user, rng.choice(self.patients_of[user] or self.department_patients[self.department[user]]),
                          self.working_moment(user, day))
            self.truth["access_after_revocation"].add(day_key(user, day))
            for later in self.days:  # an ordinary day's reads after revocation are violations too
                if later > day:
                    self.truth["access_after_revocation"].add(day_key(user, later))
        unconsented = [p for p in self.patient_ids if p not in self.consented]
        for _ in range(count):  # exports without consent
            user, day = rng.choice(self.doctors), day_of()
            event = self.add(occurred_at=self.working_moment(user, day), actor_id=user, role="doctor", action="research.export",
                             patient_ids=(rng.choice(unconsented),) + tuple(rng.sample(self.consented_list, 9)),
                             purpose="research", deidentified=True, actor_username=f"u{user}")
            self.truth["egress_without_consent"].add(event.id)
            self.truth_days["egress_without_consent"].add(day_key(user, day))
        for _ in range(count):  # exports not de-identified
            user, day = rng.choice(self.doctors), day_of()
            event = self.add(occurred_at=self.working_moment(user, day), actor_id=user, role="doctor",
                             action="partners.share", patient_ids=tuple(rng.sample(self.consented_list, 10)),
                             purpose="research", deidentified=False, actor_username=f"u{user}")
            self.truth["egress_not_deidentified"].add(event.id)
            self.truth_days["egress_not_deidentified"].add(day_key(user, day))
        for _ in range(count):  # snooping: many own-department records, spread over the day (no rule fires)
            user, day = rng.choice(day_doctors), day_of()
            for patient in rng.sample(self.department_patients[self.department[user]],
                                      min(150, len(self.department_patients[self.department[user]]))):
                self.read(user, patient, self.working_moment(user, day))
            self.snoop_days.add(day_key(user, day))
            self.anomalous_days.add(day_key(user, day))


class MemoryContext:
    """The RuleContext over the generated month."""

    def __init__(self, month: Month):
        self.m = month
        self.by_actor, self.failures, self.by_token = defaultdict(list), defaultdict(list), defaultdict(list)
        for event in sorted(month.events, key=lambda e: e.occurred_at):
            if event.actor_id is not None:
                self.by_actor[event.actor_id].append(event)
            if event.outcome == "denied" and event.username:
                self.failures[event.username].append(event)
            if event.token_id:
                self.by_token[event.token_id].append(event)
        self.keys = {name: {k: [e.occurred_at for e in v] for k, v in index.items()}
                     for name, index in (("actor", self.by_actor), ("fail", self.failures), ("token", self.by_token))}

    def setting(self, key):
        definition = registry.get(key)
        if definition is None:
            raise KeyError(key)
        return definition.to_python(definition.default)

    def local(self, moment):
        return moment.astimezone(CST)

    def care_links(self, pairs, *, at):
        m, links = self.m, {}
        for staff, patient in pairs:
            if m.attending.get(patient) == staff or (staff, patient) in m.past_attending:
                links[(staff, patient)] = "patients.encounter_attending"
            elif m.role[staff] == "doctor" and m.department.get(staff) == m.patient_department.get(patient):
                links[(staff, patient)] = "patients.department_encounter"
        return links

    def membership(self, user_id):
        revoked = self.m.revoked.get(user_id)
        return MembershipInfo(self.m.role[user_id], self.m.department.get(user_id), revoked is None, revoked)

    def staff_profile(self, user_id):
        return self.m.profile[user_id]

    def patient_watch(self, patient_id):
        return self.m.patient_watch[patient_id]

    def patient_department(self, patient_id, *, at):
        return self.m.patient_department[patient_id]

    def consent_granted(self, patient_id, purpose, *, at):
        return patient_id in self.m.consented

    def _window(self, name, index, keys, since, until):
        out = []
        for key in keys:
            times = self.keys[name].get(key, [])
            out += index[key][bisect.bisect_left(times, since):bisect.bisect_right(times, until)]
        return out

    def actor_events(self, actor_ids, *, since, until):
        return self._window("actor", self.by_actor, actor_ids, since, until)

    def failed_logins(self, usernames, *, since, until):
        return self._window("fail", self.failures, usernames, since, until)

    def token_events(self, token_ids, *, since, until):
        return self._window("token", self.by_token, token_ids, since, until)

    def user_id_for(self, username):
        return int(username[1:]) if username[1:].isdigit() else None


def draft_key(draft):
    day = draft.first_event_at.astimezone(CST).date().isoformat() if draft.first_event_at else ""
    return {
        "no_care_relationship": (draft.actor_id, draft.patient_id, day),
        "outside_department": (draft.actor_id, draft.patient_id, day),
        "vip_record": (draft.actor_id, draft.patient_id, day),
        "relative_or_neighbour": (draft.actor_id, draft.patient_id),
        "bulk_access": (draft.actor_id, day), "outside_working_hours": (draft.actor_id, day),
        "access_after_revocation": (draft.actor_id, day),
        "failed_logins": draft.evidence.get("username"), "token_multi_country": draft.evidence.get("token_id"),
        "egress_without_consent": draft.event_ids[0] if draft.event_ids else None,
        "egress_not_deidentified": draft.event_ids[0] if draft.event_ids else None,
    }[draft.rule]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 2,000 staff and 200,000 patients")
    parser.add_argument("--planted", type=int, default=40, help="violations planted per kind")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--explain", type=int, default=0, metavar="N",
                        help="print N false cases and N missed ones per rule")
    parser.add_argument("--robust-z", type=float, default=None, help="autoencoder threshold (default: the setting's)")
    args = parser.parse_args()
    clock = time.perf_counter()
    month = Month(int(2000 * args.scale), int(200_000 * args.scale), args.seed)
    month.ordinary()
    month.plant(args.planted)
    month.events.sort(key=lambda e: e.occurred_at)
    generated = time.perf_counter() - clock
    print(f"generated {len(month.events):,} events for {len(month.role):,} staff and {len(month.patient_ids):,} "
          f"patients over {len(month.days)} working days in {generated:.1f} s")

    context, clock = MemoryContext(month), time.perf_counter()
    drafts = []
    by_day = defaultdict(list)
    for event in month.events:
        by_day[event.occurred_at.astimezone(CST).date()].append(event)
    for day in sorted(by_day):
        drafts += rules_run(by_day[day], context, enabled=set(RULES))
    rules_seconds = time.perf_counter() - clock
    print(f"rules: {len(drafts):,} cases from {len(month.events):,} events in {rules_seconds:.1f} s "
          f"({len(month.events) / rules_seconds:,.0f} events/s)\n")

    flagged, drafts_by_key = defaultdict(set), {}
    for draft in drafts:
        flagged[draft.rule].add(draft_key(draft))
        drafts_by_key[(draft.rule, draft_key(draft))] = draft
    print(f"{'rule':28} {'planted':>7} {'cases':>7} {'TP':>6} {'precision':>9} {'recall':>7}")
    rule_scores = {}
    for rule in RULES:
        truth, found = month.truth[rule], flagged[rule]
        hits = len(found & truth)
        precision = hits / len(found) if found else 0.0
        recall = len(truth & found) / len(truth) if truth else 0.0
        print(f"{rule:28} {len(truth):7} {len(found):7} {hits:6} {precision:9.3f} {recall:7.3f}")
        rule_scores[rule] = (len(truth), len(found), precision, recall)
        if args.explain:
            for key in sorted(found - truth, key=str)[:args.explain]:
                draft = drafts_by_key[(rule, key)]
                print(f"    false case {key}: {draft.summary}; first at "
                      f"{draft.first_event_at.astimezone(CST):%Y-%m-%d %H:%M}; {draft.evidence}")
            for key in sorted(truth - found, key=str)[:args.explain]:
                print(f"    missed {key}")

    from dataclasses import replace

    from ml.access_anomaly.config import AutoencoderConfig
    from ml.access_anomaly.data import AccessRecord
    from ml.access_anomaly.data import daily_features
    from ml.access_anomaly.serving import flag_outliers, reconstruction_errors
    from ml.access_anomaly.train import fit

    clock = time.perf_counter()
    staff_records = [AccessRecord(actor_id=e.actor_id, role=e.role, occurred_at=e.occurred_at.astimezone(CST),
                                  action=e.action, outcome=e.outcome, patient_id=e.patient_id,
                                  listed_patient_ids=e.patient_ids, ip=e.ip,
                                  egress=e.action.endswith((".export", ".share")))
                     for e in month.events if e.actor_id is not None]
    threshold = args.robust_z or MemoryContext.setting(context, "compliance.anomaly_robust_z")
    config = replace(AutoencoderConfig(), epochs=args.epochs, robust_z_threshold=threshold)
    # detect() = features + fit + score + flag; done in steps here to show several thresholds from one fit
    keys, roles, raw = daily_features(staff_records, work_start_hour=config.work_start_hour,
                                      work_end_hour=config.work_end_hour)
    model, scaler = fit(raw, config)
    errors, squared = reconstruction_errors(model, scaler, raw)
    seconds = time.perf_counter() - clock
    for rule in ("access_after_revocation",):
        month.truth_days[rule] = set(month.truth[rule])  # already user-days
    any_planted = month.snoop_days.union(*month.truth_days.values())
    print(f"\nautoencoder: {len(keys):,} user-days, features + training ({args.epochs} epochs) + scoring in "
          f"{seconds:.1f} s")
    print(f"{'robust z >=':>11} {'flagged':>7} | {'snoop days (no rule fires)':>28} | "
          f"{'behaviour days (snoop+bulk+night)':>34} | precision (any planted)")
    print(f"{'':>11} {'':>7} | {'planted':>8} {'TP':>4} {'P':>6} {'R':>6} | {'planted':>8} {'TP':>4} {'P':>6} {'R':>6} |")
    flags = []
    for z in sorted({threshold, 4.0, 6.0, 8.0, 10.0, 12.0}):
        found_flags = flag_outliers(keys, roles, raw, errors, squared, replace(config, robust_z_threshold=z))
        if z == threshold:
            flags = found_flags
        found = {(f.actor_id, f.day.isoformat()) for f in found_flags}
        cells = []
        for truth in (month.snoop_days, month.anomalous_days):
            hits = len(found & truth)
            cells.append(f"{len(truth):8} {hits:4} {hits / len(found) if found else 0:6.3f} "
                         f"{hits / len(truth) if truth else 0:6.3f}")
        marker = " (setting)" if z == threshold else ""
        print(f"{z:11.1f} {len(found):7} | {cells[0]} | {cells[1]:>34} | "
              f"{len(found & any_planted) / len(found) if found else 0:.3f}{marker}")

    # Side by side: each kind's planted violations, what its rule found, and which of
    # their user-days the autoencoder (at the setting) flagged among all it flagged.
    found = {(f.actor_id, f.day.isoformat()) for f in flags}
    hits = len(found & any_planted)
    print(f"\nside by side (autoencoder at robust z >= {threshold:g}: {len(found)} user-days flagged, "
          f"{hits} of them with a planted violation: precision {hits / len(found) if found else 0:.3f})")
    print(f"{'violation kind':28} {'planted':>7} | {'rule':>5} {'P':>6} {'R':>6} | {'autoencoder R (user-days)':>26}")
    for rule in (*RULES, "snooping (no rule)"):
        if rule in rule_scores:
            planted, cases, precision, recall = rule_scores[rule]
            rule_cells = f"{cases:5} {precision:6.3f} {recall:6.3f}"
        else:
            planted, rule_cells = len(month.snoop_days), f"{'-':>5} {'-':>6} {'-':>6}"
        days = month.snoop_days if rule not in rule_scores else month.truth_days.get(rule, set())
        ae = (f"{len(days & found) / len(days):6.3f} of {len(days):4}" if days
              else "n/a: no signed-in user")
        print(f"{rule:28} {planted:7} | {rule_cells} | {ae:>26}")
    top = flags[0] if flags else None
    if top:
        print(f"example evidence: user {top.actor_id} on {top.day}: robust z {top.robust_z:.1f}, drivers "
              + ", ".join(f"{d['feature']}={d['value']} (peers {d['peer_median']})" for d in top.drivers))


if __name__ == "__main__":
    main()
