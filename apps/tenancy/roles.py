from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")
    HOSPITAL_ADMIN = "hospital_admin", _("Hospital administrator")
    DOCTOR = "doctor", _("Doctor")
    COMPLIANCE_OFFICER = "compliance_officer", _("Compliance officer")
    PATIENT = "patient", _("Patient")


STAFF_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.HOSPITAL_ADMIN, Role.DOCTOR, Role.COMPLIANCE_OFFICER})
