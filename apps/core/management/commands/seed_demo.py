"""Demo data for `make run`: two hospitals, a user of every role in each, patients,
booking sessions and a few clinical records.

Idempotent: running it again changes nothing and prints the same summary.
Users: <role>@<slug>.example, password demo-pass-2024.
"""

import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.booking.demo import demo_booking_seed
from apps.core.demo_data import demo_person
from apps.nlp.demo import demo_records_seed
from apps.patients.models import Patient
from apps.patients.services import patient_create
from apps.tenancy.models import Department, Hospital, Membership
from apps.tenancy.roles import Role

PASSWORD = "demo-pass-2024"
HOSPITALS = [("demo-a", "示范第一医院 (Demo Hospital A)"), ("demo-b", "示范第二医院 (Demo Hospital B)")]
DEPARTMENTS = [("IM", "内科 Internal Medicine"), ("RAD", "放射科 Radiology"), ("LAB", "检验科 Laboratory")]
PATIENTS_PER_HOSPITAL = 20


class Command(BaseCommand):
    help = "Create (or confirm) the demo hospitals, users of every role and patients."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        for index, (slug, name) in enumerate(HOSPITALS):
            hospital, _ = Hospital.objects.get_or_create(slug=slug, defaults={"name": name})
            for code, department_name in DEPARTMENTS:
                Department.unscoped_objects.get_or_create(hospital=hospital, code=code,
                                                          defaults={"name": department_name})
            self.stdout.write(f"Hospital {hospital.slug}: {hospital.name}")
            users = {}
            for role in Role:
                username = f"{role.value}@{slug}.example"
                user, created = User.objects.get_or_create(username=username, defaults={"email": username})
                if created:
                    user.set_password(PASSWORD)
                    user.save()
                Membership.objects.get_or_create(user=user, hospital=hospital, defaults={"role": role.value})
                users[role] = user
                self.stdout.write(f"  {role.value:<19} {username}  (password {PASSWORD})")
            existing = Patient.unscoped_objects.filter(hospital=hospital).count()
            rng = random.Random(index)
            people = [demo_person(rng) for _ in range(PATIENTS_PER_HOSPITAL)]
            for number, person in enumerate(people[existing:], start=existing):
                # The first record is the demo patient user's own.
                owner = users[Role.PATIENT] if number == 0 else None
                patient_create(hospital_id=hospital.pk, user=owner, **person)
            total = Patient.unscoped_objects.filter(hospital=hospital).count()
            self.stdout.write(f"  patients: {total} ({total - existing} new)")
            experts, sessions = demo_booking_seed(hospital=hospital, admin=users[Role.HOSPITAL_ADMIN])
            self.stdout.write(f"  booking: {experts} experts, {sessions} new sessions")
            records = demo_records_seed(hospital=hospital, doctor=users[Role.DOCTOR])
            self.stdout.write(f"  clinical records: {records} new (structured by the NER task)")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at http://127.0.0.1:8000/login/"))
