"""Incremental updates: learn the new regime, keep the old, refuse poison (real TensorFlow)."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from ml.rare_trend import UpdateConfig, evaluate, incremental_update  # noqa: E402
from ml.rare_trend.incremental import NO_GAIN, OLD_DEGRADED, TOO_LITTLE_DATA  # noqa: E402


def test_an_update_on_propagation_selected_new_data_is_accepted_and_helps(drifted):
    # given the first model and the post-drift rows with a high propagation index
    model = drifted.model
    # when updated on them, rehearsing old training rows
    updated, report = incremental_update(model, *drifted.new, rehearsal=drifted.train, old_val=drifted.validation)
    # then the loss analysis shows the model was wrong on the new data, and the update fixes that
    assert report.accepted and report.reason == "accepted"
    assert report.new_loss_before > report.old_loss_before
    assert report.new_loss_after < 0.7 * report.new_loss_before
    # without costing more than the bound on the old validation data
    assert report.old_degradation <= 0.02
    assert report.old_loss_after == pytest.approx(evaluate(updated, *drifted.validation)["log_loss"])
    # and it predicts the later held-out period better
    assert evaluate(updated, *drifted.held_out)["accuracy"] > evaluate(model, *drifted.held_out)["accuracy"] + 0.03
    assert updated is not model and updated.parent_version == model.version == report.from_version
    assert report.to_version == updated.version
    assert updated.scaler is model.scaler
    assert updated.training["update"]["reason"] == "accepted"


def test_a_poisoned_update_is_refused(drifted):
    # given "new" data that contradicts what the model learned (labels flipped)
    X, y = drifted.train
    poisoned = X[:1000], 1 - y[:1000]
    # when an update is tried
    result, report = incremental_update(drifted.model, *poisoned, rehearsal=drifted.train, old_val=drifted.validation)
    # then it is refused because the old validation loss would degrade, and the current model stays
    assert not report.accepted
    assert report.reason == OLD_DEGRADED
    assert report.old_degradation > 0.02
    assert result is drifted.model and report.to_version is None
    assert "old validation" in report.message


def test_an_update_that_does_not_help_on_new_data_is_refused(drifted):
    # given an update that wrecks the model (a huge learning rate), with no bound on the old data
    X, y = drifted.validation
    result, report = incremental_update(drifted.model, X[:300], y[:300], rehearsal=drifted.train,
                                        old_val=drifted.validation, max_degradation=float("inf"),
                                        config=UpdateConfig(max_epochs=1, patience=1, learning_rate=0.5))
    # then the loss on the held-out new rows decides: it did not fall, so the current model stays
    assert (report.accepted, report.reason, result) == (False, NO_GAIN, drifted.model)
    assert report.new_loss_after >= report.new_loss_before


def test_too_little_new_data_is_not_trained_on(drifted):
    X, y = drifted.new
    result, report = incremental_update(drifted.model, X[:5], y[:5], rehearsal=drifted.train,
                                        old_val=drifted.validation)
    assert (report.accepted, report.reason, report.fit_rows, result) == (False, TOO_LITTLE_DATA, 0, drifted.model)
    assert np.isfinite(report.new_loss_before)


def test_bad_arguments_are_refused(drifted):
    with pytest.raises(ValueError, match="anchor"):
        incremental_update(drifted.model, *drifted.new, rehearsal=drifted.train, old_val=drifted.validation,
                           config=UpdateConfig(anchor="magic"))
    with pytest.raises(ValueError, match="rows of new_X"):
        incremental_update(drifted.model, drifted.new[0], drifted.new[1][:3], rehearsal=drifted.train,
                           old_val=drifted.validation)
