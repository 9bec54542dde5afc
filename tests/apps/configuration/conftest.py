import shutil

import pytest

from apps.configuration.algorithms import declare_algorithm_task
from apps.configuration.model_services import model_register
from apps.configuration.serving import ModelPool
from ml.keras_io import load_keras_model
from tests.support.tiny_models import train_tiny_classifier

TASK = "testing_classifier"
OTHER_TASK = "testing_detector"
declare_algorithm_task(TASK, implementations={"keras_mlp": "tiny MLP"}, default="keras_mlp", description="test")
declare_algorithm_task(OTHER_TASK, implementations={"keras_mlp": "tiny MLP"}, default="keras_mlp", description="t")


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory):
    """Two versions of a real classifier: v1 undertrained, v2 trained properly."""
    folder = tmp_path_factory.mktemp("trained")
    return {
        "v1": train_tiny_classifier(folder / "v1" / "model.keras", seed=1, epochs=1, hidden=2),
        "v2": train_tiny_classifier(folder / "v2" / "model.keras", seed=2, epochs=40),
    }


@pytest.fixture
def storage(settings, tmp_path, trained_models):
    settings.MODEL_STORAGE_ROOT = tmp_path
    for version, source in trained_models.items():
        shutil.copytree(source.parent, tmp_path / version)
    return tmp_path


@pytest.fixture
def registered(storage, db):
    return {version: model_register(task=TASK, name="diagonal", version=version, path=f"{version}/model.keras",
                                    metrics={"accuracy": 0.5 if version == "v1" else 0.97},
                                    training_data="512 synthetic points")
            for version in ("v1", "v2")}


@pytest.fixture
def pool():
    pool = ModelPool(check_interval=0)
    pool.register_loader(TASK, load_keras_model)
    return pool


