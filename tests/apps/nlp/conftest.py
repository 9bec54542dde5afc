import shutil

import pytest

from apps.configuration.model_services import model_activate, model_register
from apps.configuration.serving import model_pool
from apps.tenancy.roles import Role
from tests.support.tiny_ner import train_tiny_ner


@pytest.fixture(scope="session")
def tiny_ner_model(tmp_path_factory):
    return train_tiny_ner(tmp_path_factory.mktemp("tiny-ner"))


@pytest.fixture
def active_ner(settings, tmp_path, tiny_ner_model, hospital_a, hospital_b):
    """The tiny model registered and active for "ner" at hospitals A and B,
    served by the platform's model pool."""
    settings.MODEL_STORAGE_ROOT = tmp_path
    shutil.copytree(tiny_ner_model, tmp_path / "ner-tiny")
    artifact = model_register(task="ner", name="ner-tiny", version="1", path="ner-tiny")
    for hospital in (hospital_a, hospital_b):
        model_activate(task="ner", artifact_id=artifact.pk, hospital_id=hospital.pk, role=Role.HOSPITAL_ADMIN)
    model_pool.forget()
    yield artifact
    model_pool.forget()
