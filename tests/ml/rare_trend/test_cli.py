"""The command line: generate, train, evaluate, update, predict, propagation."""

import json

import pytest

pytest.importorskip("tensorflow")

from ml.rare_trend.__main__ import REFUSED, main  # noqa: E402


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    return status, json.loads(capsys.readouterr().out)


def test_cli_round_trip(tmp_path, capsys):
    history, model, updated = tmp_path / "h.npz", tmp_path / "m", tmp_path / "u"
    assert _run(capsys, "generate", history, "--cases", 200, "--periods", 24, "--drift-at", 14, "--seed", 2)[1][
        "drift_at"] == 14
    status, trained = _run(capsys, "train", history, model, "--periods", "0:13")
    assert status == 0 and trained["training"]["rows"] == 200 * 13
    status, metrics = _run(capsys, "evaluate", model, history, "--periods", "18:23")
    assert metrics["rows"] == 200 * 5 and 0 <= metrics["accuracy"] <= 1
    status, report = _run(capsys, "update", model, history, updated, "--new-periods", "14:18",
                          "--old-periods", "0:13", "--min-propagation", "5")
    assert status in (0, REFUSED)
    assert (status == 0) == report["accepted"] == updated.is_dir()
    assert report["from_version"] == trained["version"]

    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([{"periods": [{"clicks": 3}, {"clicks": 9, "forwards": 6}], "propagation": 12},
                                 {"periods": [[1, 0, 0, 0, 0]]}]))
    status, indexes = _run(capsys, "predict", model, cases)
    assert len(indexes) == 2 and all(0 <= i <= 1 for i in indexes)

    events = tmp_path / "events.jsonl"
    events.write_text('{"id": 1, "parent": null, "recipient": "a", "at": 0}\n'
                      '{"id": 2, "parent": 1, "recipient": "b", "at": 0, "kind": "share"}\n')
    assert _run(capsys, "propagation", events)[1]["index"] == 2.5
