import io

import pytest
from PIL import Image

from apps.tenancy.roles import Role
from apps.tips.services import tip_save
from tests.apps.reminders.conftest import make_patient
from tests.conftest import client_for
from tests.factories import member_of


@pytest.fixture
def editor_a(hospital_a):
    return member_of(hospital_a, Role.DOCTOR)


@pytest.fixture
def editor_client(editor_a):
    return client_for(editor_a)


@pytest.fixture
def patient_a(hospital_a):
    return make_patient(hospital_a, "陈静")


def a_tip(hospital, title, body, category="prevention", published=True):
    return tip_save(hospital_id=hospital.pk, actor=None, role="", title=title, category=category, body_html=body,
                    published=published)


def png_bytes(width=3000, height=2000, colour=(200, 30, 30, 255)) -> bytes:
    output = io.BytesIO()
    Image.new("RGBA", (width, height), colour).save(output, format="PNG")
    return output.getvalue()
