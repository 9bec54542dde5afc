"""Steps 5 and 6: the access-trend model, the propagation index and the incremental
update, run over the whole platform by one task on the `ml` queue.

One cycle (`trend_cycle`):

1. Close the first preset periods that ended and read the access log per case and
   period (one GROUP BY over the platform-wide log: no patient data) into an
   `ml.rare_trend.AccessHistory`; per case and period, the propagation index of that
   period's transmission events (forwards, shares, downloads linked through their
   parents).
2. First model: the current registered `rare_trend` model, or, when there is none,
   one trained from scratch on every labelled period; saved under
   MODEL_STORAGE_ROOT, registered in the model registry with its model card, and
   activated at each hospital that has no trend model yet.
3. First prediction index per case: the hospital's active trend model (through the
   model pool, in the hospital's tenant context) on the case's latest features.
4. The labelled rows the current model has not learned from, whose propagation
   index is at or above the preset, go to `incremental_update` (rehearsing old rows,
   gated on the old validation loss with the preset degradation bound). An accepted
   update is registered as a new version and activated where the previous version
   served.
5. Second prediction index per case: the updated model (or the current one when
   the update was refused), with its version; then `prediction_indexes_ready` per case.

Every case with an index entry gets both indexes; cases nobody has looked at are
scored on all-zero features in one batch.
"""

import bisect
import datetime
import logging
import time
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.configuration.model_services import model_activate, model_register
from apps.configuration.models import ModelArtifact, ModelDeployment
from apps.configuration.selectors import setting_value
from apps.configuration.serving import model_pool
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Hospital
from apps.tenancy.roles import Role

from .declared_settings import DEGRADATION_BOUND, PROPAGATION_THRESHOLD, TREND_TASK
from .models import TRANSMISSION_KINDS, AccessPeriod, CaseAccess, RareCase, TrendRun
from .services import access_period_current
from .signals import announce, prediction_indexes_ready

logger = logging.getLogger(__name__)

MODEL_NAME = "rare-trend"
HISTORY_PERIODS = 52
SEED = 42
KIND_COLUMN = {"view": 0, "download": 1, "citation": 2, "forward": 3, "share": 4}
_loaded: dict[int, object] = {}


def _load(path):
    from ml.rare_trend import load_trend_model

    return load_trend_model(path)


model_pool.register_loader(TREND_TASK, _load)


# --- the history ---------------------------------------------------------------------------


def _closed_periods(now) -> list[AccessPeriod]:
    return list(AccessPeriod.objects.filter(ends_at__lte=now).order_by("-number")[:HISTORY_PERIODS])[::-1]


def _counts(periods: list[AccessPeriod]) -> dict:
    """{(entry_id, period_number): [clicks, downloads, citations, forwards, shares]}"""
    sql = """
SELECT a.entry_id, p.number, a.kind, COUNT(*)
FROM rarecases_caseaccess a JOIN rarecases_accessperiod p ON a.occurred_at >= p.starts_at AND a.occurred_at < p.ends_at
WHERE p.number >= %s AND p.number <= %s
GROUP BY a.entry_id, p.number, a.kind
"""
    counts: dict = defaultdict(lambda: [0, 0, 0, 0, 0])
    with connection.cursor() as cursor:
        cursor.execute(sql, [periods[0].number, periods[-1].number])
        for entry_id, number, kind, n in cursor.fetchall():
            hex_id = entry_id.hex if isinstance(entry_id, uuid.UUID) else uuid.UUID(str(entry_id)).hex
            counts[(hex_id, number)][KIND_COLUMN[kind]] += n
    return counts


def _transmission_events(periods: list[AccessPeriod]) -> dict:
    """{(entry hex, period number): [TransmissionEvent]}: forwards, shares and downloads,
    each linked to the nearest transmission it came through (a view in between
    passes the link on)."""
    from ml.rare_trend import TransmissionEvent

    rows = list(CaseAccess.objects.filter(occurred_at__gte=periods[0].starts_at, occurred_at__lt=periods[-1].ends_at)
                .values_list("id", "entry_id", "kind", "parent_id", "recipient", "actor_id", "occurred_at"))
    by_id = {row[0]: row for row in rows}
    outside = {row[3] for row in rows if row[3] and row[3] not in by_id}
    for row in CaseAccess.objects.filter(pk__in=outside).values_list(
            "id", "entry_id", "kind", "parent_id", "recipient", "actor_id", "occurred_at"):
        by_id[row[0]] = row

    def transmitting_parent(parent_id):
        seen = 0
        while parent_id is not None and parent_id in by_id and seen < 100:
            if by_id[parent_id][2] in TRANSMISSION_KINDS:
                return parent_id
            parent_id, seen = by_id[parent_id][3], seen + 1
        return None

    starts = [p.starts_at for p in periods]
    events: dict = defaultdict(list)
    for access_id, entry_id, kind, parent_id, recipient, actor_id, at in rows:
        if kind not in TRANSMISSION_KINDS:
            continue
        index = bisect.bisect_right(starts, at) - 1
        if index < 0 or at >= periods[index].ends_at:
            continue  # between periods (after a gap)
        reached = recipient or (f"user:{actor_id}" if actor_id else f"access:{access_id}")
        events[(entry_id.hex, periods[index].number)].append(
            TransmissionEvent(access_id, transmitting_parent(parent_id), reached, at, kind))
    return events


def access_history_build(*, now=None):
    """(AccessHistory over the closed periods, the periods, {entry hex: entry id}) or
    (None, periods, {}) when fewer than two periods have closed. Only entries with
    some access in the window are rows; the others have all-zero features."""
    from ml.rare_trend import AccessHistory, propagation_index

    periods = _closed_periods(now or timezone.now())
    if len(periods) < 2:
        return None, periods, {}
    counts = _counts(periods)
    events = _transmission_events(periods)
    entries = sorted({key[0] for key in counts} | {key[0] for key in events})
    if not entries:
        return None, periods, {}
    row_of = {entry: i for i, entry in enumerate(entries)}
    column_of = {p.number: t for t, p in enumerate(periods)}
    matrix = np.zeros((len(entries), len(periods), 5))
    spread = np.zeros((len(entries), len(periods)))
    for (entry, number), values in counts.items():
        matrix[row_of[entry], column_of[number]] = values
    for (entry, number), period_events in events.items():
        period = periods[column_of[number]]
        spread[row_of[entry], column_of[number]] = propagation_index(
            period_events, now=period.ends_at, half_life=datetime.timedelta(days=period.length_days))
    return AccessHistory(tuple(entries), matrix, spread), periods, {e: uuid.UUID(e) for e in entries}


def _latest_features(history, window: int) -> np.ndarray:
    from ml.rare_trend.data import feature_matrix

    return feature_matrix(history, window=window)[:, -1, :].astype("float32")


# --- models in the registry ----------------------------------------------------------------


def current_trend_artifact() -> ModelArtifact | None:
    return ModelArtifact.objects.filter(task=TREND_TASK, name=MODEL_NAME).order_by("-registered_at", "-id").first()


def _model_for(artifact: ModelArtifact):
    if artifact.pk not in _loaded:
        _loaded.clear()  # one platform model at a time in this process
        _loaded[artifact.pk] = _load(artifact.storage_path)
    return _loaded[artifact.pk]


def _register(model, *, trained_through: int, data: str) -> ModelArtifact:
    relative = Path("rare_trend") / model.version
    model.save(Path(settings.MODEL_STORAGE_ROOT) / relative)
    metrics = {**model.metrics, "trained_through_period": trained_through}
    artifact = model_register(task=TREND_TASK, name=MODEL_NAME, version=model.version, path=str(relative),
                              metrics=metrics, training_data=data)
    _loaded[artifact.pk] = model
    return artifact


def _activate(artifact: ModelArtifact, *, parent: ModelArtifact | None) -> None:
    """Serve `artifact` at every hospital that has no trend model yet or serves
    `parent` (the version it updates)."""
    for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True):
        with tenant_context(hospital_id):
            serving = ModelDeployment.objects.filter(hospital_id=hospital_id, task=TREND_TASK,
                                                     mode=ModelDeployment.Mode.ACTIVE, retired_at__isnull=True).first()
        # a hospital that chose another version (rolled back) keeps it
        if serving is None or (parent is not None and serving.artifact_id == parent.pk):
            model_activate(task=TREND_TASK, artifact_id=artifact.pk, hospital_id=hospital_id, role=Role.PLATFORM_ADMIN)


def _validation_cases(history) -> np.ndarray:
    """One case in five (by its id) is old validation data, never trained on."""
    return np.array([uuid.UUID(entry).int % 5 == 0 for entry in history.case_ids])


def _rows(history, periods_wanted, *, window: int, cases: np.ndarray, min_propagation=None):
    from ml.rare_trend import build_dataset

    X, y, keys = build_dataset(history, window=window, periods=periods_wanted, min_propagation=min_propagation,
                               with_keys=True)
    keep = cases[keys[:, 0]]
    return X[keep], y[keep]


# --- writing the indexes ---------------------------------------------------------------------


def _agreement(a, b) -> float:
    return float(1.0 - np.mean(np.abs(np.asarray(a) - np.asarray(b)))) if len(a) else 1.0


def _score_hospital(*, hospital_id: int, features_of: dict, zero: np.ndarray, propagation_of: dict,
                    second_model, second_version: str, now) -> int:
    """Both indexes for every indexed case of one hospital, in its tenant context."""
    from ml.rare_trend import predict_indexes

    with tenant_context(hospital_id):
        cases = list(RareCase.objects.filter(index_entry__isnull=False).exclude(status=RareCase.Status.RETIRED)
                     .values_list("pk", "index_entry__id"))
    if not cases:
        return 0
    vectors = [features_of.get(entry_id.hex, zero) for _pk, entry_id in cases]
    with tenant_context(hospital_id):
        first = model_pool.run(TREND_TASK, vectors, predict=predict_indexes, compare=_agreement,
                               subject=("rare_trend_cycle", hospital_id))
    second = predict_indexes(second_model, vectors)
    with tenant_context(hospital_id):
        RareCase.objects.bulk_update([
            RareCase(pk=pk, first_prediction_index=round(float(first_index), 6), first_model_version=first.model.label,
                     second_prediction_index=round(float(second_index), 6), second_model_version=second_version,
                     propagation_index=round(float(propagation_of.get(entry_id.hex, 0.0)), 4), predicted_at=now,
                     updated_at=now)
            for (pk, entry_id), first_index, second_index in zip(cases, first.output, second)],
            ["first_prediction_index", "first_model_version", "second_prediction_index", "second_model_version",
             "propagation_index", "predicted_at", "updated_at"], batch_size=500)
        audit_record(action="rarecases.prediction_indexes", hospital_id=hospital_id, object_type="trend_cycle",
                     detail={"cases": len(cases), "first_model": first.model.label, "second_model": second_version})
        for case in RareCase.objects.filter(pk__in=[pk for pk, _e in cases]).select_related("patient"):
            announce(prediction_indexes_ready, case=case)
    return len(cases)


def trend_cycle(*, now=None) -> TrendRun:
    """Run steps 5 and 6 once over the platform (see the module docstring)."""
    from ml.rare_trend import TrendConfig, incremental_update, train_model

    now = now or timezone.now()
    run = TrendRun.objects.create()
    started = time.perf_counter()
    try:
        access_period_current(now=now)
        history, periods, _entries = access_history_build(now=now)
        if history is None:
            return _finish(run, TrendRun.Status.SKIPPED,
                           detail=f"{len(periods)} closed access period(s) with access; two are needed for a label")
        window = TrendConfig().window
        labelled = history.n_periods - 1  # periods t with a label (access in t+1 known)
        validation = _validation_cases(history)
        current = current_trend_artifact()
        metrics: dict = {"cases_with_access": history.n_cases, "periods": history.n_periods,
                         "first_period": periods[0].number, "last_period": periods[-1].number}
        if current is None:
            X, y = _rows(history, range(labelled), window=window, cases=~validation)
            model = train_model(X, y, seed=SEED, config=TrendConfig())
            current = _register(model, trained_through=periods[-1].number,
                                data=f"access log, periods {periods[0].number}-{periods[-1].number}, "
                                     f"{history.n_cases} cases, {len(X)} rows")
            run.first_artifact = current
            metrics["first_training"] = model.training
            first_model, update_accepted, second_model, second_artifact = model, None, model, current
        else:
            run.first_artifact = current
            first_model = _model_for(current)
            through = int(current.metrics.get("trained_through_period", periods[0].number))
            new_periods = [t for t, p in enumerate(periods[:-1]) if p.number >= through]
            old_periods = [t for t, p in enumerate(periods[:-1]) if p.number < through]
            threshold = float(setting_value(PROPAGATION_THRESHOLD))
            new_X, new_y = _rows(history, new_periods, window=window, cases=np.ones(history.n_cases, bool),
                                 min_propagation=threshold)
            run.propagation_selected = len(new_X)
            rehearsal = _rows(history, old_periods or range(labelled), window=window, cases=~validation)
            old_val = _rows(history, old_periods or range(labelled), window=window, cases=validation)
            if len(new_X) and len(rehearsal[0]) and len(old_val[0]):
                second_model, report = incremental_update(
                    first_model, new_X, new_y, rehearsal=rehearsal, old_val=old_val,
                    max_degradation=float(setting_value(DEGRADATION_BOUND)), seed=SEED)
                metrics["update"] = report.to_dict()
                update_accepted = report.accepted
            else:
                second_model, update_accepted = first_model, False
                metrics["update"] = {"accepted": False, "reason": "no_rows",
                                     "message": f"{len(new_X)} new rows at propagation >= {threshold}, "
                                                f"{len(old_val[0])} old validation rows"}
            second_artifact = current
            if update_accepted:
                second_artifact = _register(second_model, trained_through=periods[-1].number,
                                            data=f"incremental update of {current.version} on {len(new_X)} rows "
                                                 f"with propagation >= {threshold}")
        run.second_artifact, run.update_accepted = second_artifact, update_accepted
        features = _latest_features(history, window)
        features_of = {entry: features[i] for i, entry in enumerate(history.case_ids)}
        propagation_of = {entry: history.propagation[i, -1] for i, entry in enumerate(history.case_ids)}
        zero = np.zeros(features.shape[1], dtype="float32")
        # hospitals without a trend model (the first one, or a hospital that joined since) get the current one
        _activate(current, parent=None)
        second_version = f"{second_artifact.name}:{second_artifact.version}"
        scored = 0
        for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True):
            scored += _score_hospital(hospital_id=hospital_id, features_of=features_of, zero=zero,
                                      propagation_of=propagation_of, second_model=second_model,
                                      second_version=second_version, now=now)
        run.cases_scored = scored
        if update_accepted:
            # only now: the first indexes above came from the version being updated
            _activate(second_artifact, parent=current)
        run.metrics = _jsonable(metrics)
        return _finish(run, TrendRun.Status.DONE, seconds=time.perf_counter() - started)
    except Exception as error:
        logger.exception("trend cycle %s failed", run.pk)
        _finish(run, TrendRun.Status.FAILED, detail=f"{type(error).__name__}: {error}")
        raise


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _finish(run: TrendRun, status: str, *, detail: str = "", seconds: float | None = None) -> TrendRun:
    run.status, run.finished_at = status, timezone.now()
    if detail:
        run.detail = detail[:4000]
    if seconds is not None:
        run.metrics = {**run.metrics, "seconds": round(seconds, 2)}
    with transaction.atomic():
        run.save()
        audit_record(action="rarecases.trend_cycle", hospital_id=None, object_type="trend_run", object_id=run.pk,
                     detail={"status": status, "update_accepted": run.update_accepted,
                             "first": str(run.first_artifact) if run.first_artifact_id else None,
                             "second": str(run.second_artifact) if run.second_artifact_id else None,
                             "scored": run.cases_scored, "detail": run.detail[:500]})
    return run
