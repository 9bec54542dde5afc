from django.core.management.base import CommandError

from apps.tenancy.models import Hospital


def hospital_by_slug(slug: str) -> Hospital:
    hospital = Hospital.objects.filter(slug=slug).first()
    if hospital is None:
        raise CommandError(f"No hospital with slug {slug!r}.")
    return hospital
