"""Serving the active model (and its shadow) inside a worker process.

    from apps.configuration.serving import model_pool
    model_pool.register_loader("testing.classifier", load_keras_model)
    result = model_pool.run(task, inputs, predict=..., compare=..., subject=("lab_report", 42))

The pool loads each artifact once per process and keeps it. Which artifact serves a
(hospital, task) is re-checked against the shared deployment version at most every
`check_interval` seconds; when an administrator switches models, every worker picks
the new one up on its next task after that, without a restart, and tasks already
running finish on the model they started with.
"""

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from django.core.cache import cache
from django.utils.translation import gettext as _

from apps.core.exceptions import ConflictError
from apps.tenancy.context import current_hospital_id
from ml.artifacts import artifact_checksum

from .model_services import deployment_version_key
from .models import ModelArtifact, ModelDeployment, ShadowComparison

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    artifact_id: int
    name: str
    version: str
    model: Any

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class InferenceResult:
    output: Any
    model: LoadedModel
    milliseconds: float
    shadow: ShadowComparison | None = None


@dataclass
class _Deployment:
    version: Any
    check_after: float
    active: ModelArtifact | None
    shadow: ModelArtifact | None


class NoActiveModelError(ConflictError):
    code = "no_active_model"


class ModelPool:
    def __init__(self, *, check_interval: float = 2.0, max_loaded: int = 6):
        self.check_interval = check_interval
        self.max_loaded = max_loaded
        self._loaders: dict[str, Callable[[str], Any]] = {}
        self._loaded: OrderedDict[int, LoadedModel] = OrderedDict()
        self._deployments: dict[tuple[int, str], _Deployment] = {}
        self._lock = threading.RLock()
        self.inference_observers: list[Callable[[str, LoadedModel, float, bool], None]] = []

    def register_loader(self, task: str, loader: Callable[[str], Any]) -> None:
        self._loaders[task] = loader

    def _current(self, hospital_id: int, task: str) -> _Deployment:
        now = time.monotonic()
        key = (hospital_id, task)
        known = self._deployments.get(key)
        if known is not None and now < known.check_after:
            return known
        version = cache.get(deployment_version_key(hospital_id), 0)
        if known is not None and known.version == version:
            known.check_after = now + self.check_interval
            return known
        rows = {d.mode: d.artifact for d in ModelDeployment.objects.select_related("artifact")
                .filter(hospital_id=hospital_id, task=task, retired_at__isnull=True)}
        deployment = _Deployment(version=version, check_after=now + self.check_interval,
                                 active=rows.get(ModelDeployment.Mode.ACTIVE),
                                 shadow=rows.get(ModelDeployment.Mode.SHADOW))
        self._deployments[key] = deployment
        return deployment

    def _load(self, artifact: ModelArtifact) -> LoadedModel:
        with self._lock:
            loaded = self._loaded.get(artifact.pk)
            if loaded is not None:
                self._loaded.move_to_end(artifact.pk)
                return loaded
            loader = self._loaders.get(artifact.task)
            if loader is None:
                raise RuntimeError(f"no loader registered for task {artifact.task!r}")
            if artifact_checksum(artifact.storage_path) != artifact.checksum_sha256:
                raise ConflictError(_("The model file on storage no longer matches its registered checksum."),
                                    code="checksum_mismatch")
            started = time.perf_counter()
            loaded = LoadedModel(artifact.pk, artifact.name, artifact.version, loader(artifact.storage_path))
            logger.info("loaded model %s in %.0f ms", loaded.label, (time.perf_counter() - started) * 1000)
            self._loaded[artifact.pk] = loaded
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
            return loaded

    def serving(self, task: str) -> tuple[LoadedModel, LoadedModel | None]:
        """The active model (and the shadow, if any) for `task` at the current hospital."""
        hospital_id = current_hospital_id()
        if hospital_id is None:
            raise RuntimeError("models serve a hospital: call inside its tenant context")
        deployment = self._current(hospital_id, task)
        if deployment.active is None:
            raise NoActiveModelError(_("No %(task)s model is active at this hospital; an administrator must "
                                       "activate one.") % {"task": task})
        shadow = self._load(deployment.shadow) if deployment.shadow is not None else None
        return self._load(deployment.active), shadow

    def run(self, task: str, inputs, *, predict: Callable[[Any, Any], Any], compare: Callable[[Any, Any], float],
            subject: tuple[str, Any] = ("", "")) -> InferenceResult:
        """Predict with the active model; with a shadow, run it too on the same input,
        store both outputs and their agreement. A failing shadow never fails the task."""
        active, shadow = self.serving(task)
        output, active_ms = self._timed(task, active, predict, inputs, shadow=False)
        comparison = None
        if shadow is not None:
            try:
                shadow_output, shadow_ms = self._timed(task, shadow, predict, inputs, shadow=True)
                comparison = ShadowComparison.objects.create(
                    hospital_id=current_hospital_id(), task=task, active_artifact_id=active.artifact_id,
                    shadow_artifact_id=shadow.artifact_id, subject_type=subject[0], subject_id=str(subject[1]),
                    active_output=output, shadow_output=shadow_output,
                    agreement=float(compare(output, shadow_output)), active_ms=active_ms, shadow_ms=shadow_ms)
            except Exception:
                logger.exception("shadow model %s failed on %s %s", shadow.label, *subject)
        return InferenceResult(output=output, model=active, milliseconds=active_ms, shadow=comparison)

    def _timed(self, task, loaded: LoadedModel, predict, inputs, *, shadow: bool):
        started = time.perf_counter()
        output = predict(loaded.model, inputs)
        milliseconds = (time.perf_counter() - started) * 1000
        for observer in self.inference_observers:
            observer(task, loaded, milliseconds, shadow)
        return output, milliseconds

    def forget(self) -> None:
        with self._lock:
            self._loaded.clear()
            self._deployments.clear()


model_pool = ModelPool()
