"""Factories for test data. Users get a membership through `member_of`."""

import factory
from django.contrib.auth import get_user_model

from apps.tenancy.models import Department, Hospital, Membership

PASSWORD = "correct-horse-battery"


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Hospital {n}")
    slug = factory.Sequence(lambda n: f"hospital-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.LazyAttribute(lambda user: user.username)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(user, create, extracted, **kwargs):
        if create:
            user.save()


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    hospital = factory.SubFactory(HospitalFactory)
    name = factory.Sequence(lambda n: f"Department {n}")
    code = factory.Sequence(lambda n: f"D{n}")


def member_of(hospital, role, **user_fields):
    """A new user with an active membership of `role` at `hospital`."""
    user = UserFactory(**user_fields)
    Membership.objects.create(user=user, hospital=hospital, role=role)
    return user
