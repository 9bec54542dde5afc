"""Agreement of the conclusion model with the rule engine on held-out generated reports.

    python -m ml.labreport.conclusion evaluate [--cases 3000] [--seed 1000000]
"""

from __future__ import annotations

import numpy as np


def metrics(truth: np.ndarray, predicted: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Accuracy, macro F1, per-class recall, the confusion matrix (rows = rules), and how
    often the model alone would have put a report below the rules' class."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    for t, p in zip(truth, predicted):
        confusion[t, p] += 1
    f1s, recall = [], {}
    for k, name in enumerate(classes):
        tp = confusion[k, k]
        precision = tp / confusion[:, k].sum() if confusion[:, k].sum() else 0.0
        rec = tp / confusion[k].sum() if confusion[k].sum() else 0.0
        recall[name] = round(float(rec), 4)
        f1s.append(2 * precision * rec / (precision + rec) if precision + rec else 0.0)
    return {
        "cases": int(len(truth)),
        "accuracy": round(float((truth == predicted).mean()), 4) if len(truth) else 0.0,
        "macro_f1": round(float(np.mean(f1s)), 4),
        "recall_per_class": recall,
        "model_below_rules": round(float((predicted < truth).mean()), 4) if len(truth) else 0.0,
        "confusion_rows_rules_cols_model": confusion.tolist(),
    }


def evaluate(directory, cases: int, first_seed: int) -> dict:
    from ml.labreport.conclusion.config import ConclusionConfig
    from ml.labreport.conclusion.data import make_dataset
    from ml.labreport.conclusion.serving import load
    from ml.labreport.interpret import combine

    texts, truth = make_dataset(cases, first_seed)
    model = load(directory)
    predicted = np.concatenate([model.predict(texts[i:i + 256]) for i in range(0, len(texts), 256)])
    result = metrics(truth, predicted, ConclusionConfig().classes)
    # what users see: the model's class after the rules' floor (interpret.combine)
    final = np.asarray([combine(int(t), int(p), bool(t)) for t, p in zip(truth, predicted)])
    result["final_agreement_with_rules"] = round(float((final == truth).mean()), 4)
    result["final_below_rules_soon_or_urgent"] = int(((final < truth) & (truth >= 3)).sum())
    return result
