"""Registering, activating, shadowing and rolling back trained models."""

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import ConflictError, DomainError, NotFoundError, PermissionDeniedError
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.context import hospital_scope
from apps.tenancy.roles import Role
from ml.artifacts import artifact_checksum, artifact_size, read_model_card

from .algorithms import algorithm_task
from .models import ModelArtifact, ModelDeployment
from .versions import version_bump

MODEL_ADMIN_ROLES = frozenset({Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN})


def deployment_version_key(hospital_id: int) -> str:
    return f"configuration:models:{hospital_id}"


def _bump_deployment_version(hospital_id: int) -> None:
    version_bump(deployment_version_key(hospital_id))


def _resolve_storage_path(path: str) -> Path:
    root = Path(settings.MODEL_STORAGE_ROOT).resolve()
    resolved = (root / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    if root != resolved and root not in resolved.parents:
        raise DomainError(_("Model files must be under the model storage root."), code="path_outside_storage",
                          fields={"path": [_("Not under %(root)s.") % {"root": root}]})
    if not resolved.exists():
        raise DomainError(_("No model file at that path."), code="artifact_missing", fields={"path": [str(path)]})
    return resolved


def model_register(*, task: str, name: str, version: str, path: str, metrics: dict | None = None,
                   training_data: str = "", model_card: str = "", expected_checksum: str = "",
                   actor=None) -> ModelArtifact:
    """Put a trained artifact in the catalogue with its checksum and model card."""
    if algorithm_task(task) is None:
        raise DomainError(_("Unknown task %(task)s.") % {"task": task}, code="unknown_task", fields={"task": [task]})
    resolved = _resolve_storage_path(path)
    checksum = artifact_checksum(resolved)
    if expected_checksum and expected_checksum.lower() != checksum:
        raise DomainError(_("The file's checksum does not match the one given; the upload may be corrupt."),
                          code="checksum_mismatch", fields={"expected_checksum": [checksum]})
    if ModelArtifact.objects.filter(name=name, version=version).exists():
        raise ConflictError(_("%(name)s version %(version)s is already registered.") % {"name": name, "version": version})
    if not model_card:
        # A card shipped beside the artifact (MODEL_CARD.json) is kept as written.
        found = read_model_card(resolved)
        model_card = json.dumps(found, ensure_ascii=False, indent=2) if found else ""
    with transaction.atomic():
        artifact = ModelArtifact.objects.create(
            task=task, name=name, version=version, storage_path=str(resolved), checksum_sha256=checksum,
            size_bytes=artifact_size(resolved), metrics=metrics or {}, training_data=training_data,
            model_card=model_card, registered_by=actor)
        audit_record(action="configuration.model_register", actor=actor, hospital_id=None, object_type="model",
                     object_id=artifact.pk, detail={"task": task, "name": name, "version": version,
                                                    "checksum": checksum})
    return artifact


def _refuse(action, *, actor, role, hospital_id, object_id, error):
    outcome = AuditOutcome.DENIED if isinstance(error, PermissionDeniedError) else (
        AuditOutcome.NOT_FOUND if isinstance(error, NotFoundError) else AuditOutcome.INVALID)
    audit_record(action=action, actor=actor, role=role, hospital_id=hospital_id, object_type="model",
                 object_id=object_id, outcome=outcome, detail={"reason": error.message})
    raise error


def model_activate(*, task: str, artifact_id: int, hospital_id: int, mode: str = ModelDeployment.Mode.ACTIVE,
                   actor=None, role: str = "") -> ModelDeployment:
    """Serve `artifact_id` for `task` at the hospital, as the active model or in
    shadow. The artifact must be for this task and its file must still match its
    checksum. Promoting the current shadow to active ends the shadow run."""
    action = f"configuration.model_{mode}"
    if role not in MODEL_ADMIN_ROLES:
        _refuse(action, actor=actor, role=role, hospital_id=hospital_id, object_id=artifact_id,
                error=PermissionDeniedError(_("Only administrators change which model serves.")))
    artifact = ModelArtifact.objects.filter(pk=artifact_id).first()
    if artifact is None:
        _refuse(action, actor=actor, role=role, hospital_id=hospital_id, object_id=artifact_id,
                error=NotFoundError(_("No such model."), code="model_not_found"))
    if artifact.task != task:
        _refuse(action, actor=actor, role=role, hospital_id=hospital_id, object_id=artifact_id,
                error=DomainError(_("%(model)s is a %(its)s model, not a %(task)s model.")
                                  % {"model": artifact, "its": artifact.task, "task": task}, code="wrong_task"))
    if not Path(artifact.storage_path).exists() or artifact_checksum(artifact.storage_path) != artifact.checksum_sha256:
        _refuse(action, actor=actor, role=role, hospital_id=hospital_id, object_id=artifact_id,
                error=ConflictError(_("The model file on storage no longer matches its registered checksum."),
                                    code="checksum_mismatch"))
    with hospital_scope(hospital_id), transaction.atomic():
        current = {d.mode: d for d in ModelDeployment.objects.select_for_update()
                   .filter(hospital_id=hospital_id, task=task, retired_at__isnull=True)}
        if mode in current and current[mode].artifact_id == artifact.pk:
            return current[mode]  # already so: nothing to do, nothing to reload
        now = timezone.now()
        to_retire = [current[mode]] if mode in current else []
        shadow = current.get(ModelDeployment.Mode.SHADOW)
        if mode == ModelDeployment.Mode.ACTIVE and shadow is not None and shadow.artifact_id == artifact.pk:
            to_retire.append(shadow)  # the shadow is promoted
        ModelDeployment.objects.filter(pk__in=[d.pk for d in to_retire]).update(retired_at=now)
        deployment = ModelDeployment.objects.create(hospital_id=hospital_id, task=task, artifact=artifact, mode=mode,
                                                    activated_by=actor)
        audit_record(action=action, actor=actor, role=role, hospital_id=hospital_id, object_type="model",
                     object_id=artifact.pk, detail={"task": task, "model": str(artifact),
                                                    "replaced": [str(d.artifact) for d in to_retire]})
        transaction.on_commit(lambda: _bump_deployment_version(hospital_id))
    return deployment


def model_shadow_stop(*, task: str, hospital_id: int, actor=None, role: str = "") -> bool:
    if role not in MODEL_ADMIN_ROLES:
        _refuse("configuration.model_shadow_stop", actor=actor, role=role, hospital_id=hospital_id, object_id="",
                error=PermissionDeniedError(_("Only administrators change which model serves.")))
    with hospital_scope(hospital_id), transaction.atomic():
        stopped = ModelDeployment.objects.filter(hospital_id=hospital_id, task=task, mode=ModelDeployment.Mode.SHADOW,
                                                 retired_at__isnull=True).update(retired_at=timezone.now())
        if stopped:
            audit_record(action="configuration.model_shadow_stop", actor=actor, role=role, hospital_id=hospital_id,
                         object_type="model", detail={"task": task})
            transaction.on_commit(lambda: _bump_deployment_version(hospital_id))
    return bool(stopped)


def model_rollback(*, task: str, hospital_id: int, actor=None, role: str = "") -> ModelDeployment:
    """Put back the model that was active before the current one."""
    with hospital_scope(hospital_id):
        history = list(ModelDeployment.objects.select_related("artifact")
                       .filter(hospital_id=hospital_id, task=task, mode=ModelDeployment.Mode.ACTIVE)
                       .order_by("-activated_at", "-id"))
    current = history[0] if history and history[0].retired_at is None else None
    previous = next((d for d in history[1:] if current is None or d.artifact_id != current.artifact_id), None)
    if previous is None:
        _refuse("configuration.model_rollback", actor=actor, role=role, hospital_id=hospital_id, object_id="",
                error=ConflictError(_("There is no earlier %(task)s model to roll back to.") % {"task": task},
                                    code="nothing_to_roll_back"))
    deployment = model_activate(task=task, artifact_id=previous.artifact_id, hospital_id=hospital_id, actor=actor,
                                role=role)
    audit_record(action="configuration.model_rollback", actor=actor, role=role, hospital_id=hospital_id,
                 object_type="model", object_id=previous.artifact_id,
                 detail={"task": task, "from": str(current.artifact) if current else None, "to": str(previous.artifact)})
    return deployment
