"""Train the conclusion model on generated reports and write model.keras + MODEL_CARD.json.

    python -m ml.labreport.conclusion train [--out DIR]
"""

from __future__ import annotations

import collections
import json
import time
from dataclasses import asdict
from pathlib import Path

from ml.artifacts import CARD_NAME, artifact_checksum
from ml.labreport.conclusion.config import MODEL_FILE, NAME, ConclusionConfig
from ml.labreport.conclusion.data import make_dataset
from ml.labreport.conclusion.evaluate import metrics
from ml.labreport.engine import RULES_VERSION

TRAIN_COMMAND = "python -m ml.labreport.conclusion train --out ml/labreport/models/conclusion"


def vocabulary_of(texts: list[str], min_count: int) -> list[str]:
    counts = collections.Counter(token for text in texts for token in text.split())
    return sorted(token for token, count in counts.items() if count >= min_count)


def train(config: ConclusionConfig, out: Path) -> dict:
    started = time.perf_counter()
    train_x, train_y = make_dataset(config.train_cases, config.train_seed)
    val_x, val_y = make_dataset(config.validation_cases, config.validation_seed)
    test_x, test_y = make_dataset(config.test_cases, config.test_seed)
    generated_s = time.perf_counter() - started

    import keras

    from ml.labreport.conclusion.model import build_model
    from ml.labreport.conclusion.runtime import limit_threads

    limit_threads()
    keras.utils.set_random_seed(config.train_seed)
    vocabulary = vocabulary_of(train_x, config.min_token_count)
    model = build_model(vocabulary, hidden=config.hidden, dropout=config.dropout, classes=len(config.classes))
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    import tensorflow as tf

    as_input = lambda texts: tf.constant([[text] for text in texts])  # noqa: E731
    history = model.fit(as_input(train_x), train_y, validation_data=(as_input(val_x), val_y),
                        epochs=config.epochs, batch_size=config.batch_size, verbose=2)
    fit_s = time.perf_counter() - started - generated_s

    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    predicted = model.predict(as_input(test_x), batch_size=256, verbose=0).argmax(axis=1)
    card = {
        "name": NAME,
        "version": config.version,
        "task": "overall conclusion class of a lab report from its judged profile",
        "classes": list(config.classes),
        "input": "whitespace tokens: CODE:DIRECTIONLEVEL per item, patterns, jieba medical words, n_abnormal",
        "labels": f"rule engine conclusion class (ml/labreport/engine.py, rules {RULES_VERSION})",
        "data": {
            "source": "generated reports (ml/labreport/conclusion/data.py generate_case), no patient data",
            "train": {"cases": config.train_cases, "seeds": [config.train_seed, config.train_seed + config.train_cases - 1]},
            "validation": {"cases": config.validation_cases, "first_seed": config.validation_seed},
            "test_held_out": {"cases": config.test_cases, "first_seed": config.test_seed},
            "train_class_counts": {config.classes[k]: int(v) for k, v in sorted(collections.Counter(train_y.tolist()).items())},
        },
        "vocabulary_size": len(vocabulary),
        "parameters": int(model.count_params()),
        "config": asdict(config),
        "metrics_held_out": metrics(test_y, predicted, config.classes),
        "final_validation_accuracy": round(float(history.history["val_accuracy"][-1]), 4),
        "training_command": TRAIN_COMMAND,
        "training_seconds": {"generate": round(generated_s, 1), "fit": round(fit_s, 1)},
        "threads": {"intra_op": 1, "inter_op": 1},
        "keras_version": keras.__version__,
    }
    card["checksum_sha256"] = artifact_checksum(out / MODEL_FILE)
    (out / CARD_NAME).write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return card
