"""Strict entity-level evaluation: a prediction counts only when start, end and
type all match a gold entity. Per type, micro (pooled counts) and macro (mean of
the per-type F1)."""

from collections import Counter

from .data import Span


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def strict_scores(gold: list[list[Span]], pred: list[list[Span]], labels: list[str] | None = None) -> dict:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold records but {len(pred)} predicted")
    tp, fp, fn = Counter(), Counter(), Counter()
    for gold_spans, pred_spans in zip(gold, pred):
        g = {(s.start, s.end, s.label) for s in gold_spans}
        p = {(s.start, s.end, s.label) for s in pred_spans}
        for _, _, label in g & p:
            tp[label] += 1
        for _, _, label in p - g:
            fp[label] += 1
        for _, _, label in g - p:
            fn[label] += 1
    labels = labels or sorted(set(tp) | set(fp) | set(fn))
    per_type = {label: _prf(tp[label], fp[label], fn[label]) for label in labels}
    micro = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro_f1 = sum(v["f1"] for v in per_type.values()) / len(per_type) if per_type else 0.0
    return {"per_type": per_type, "micro": micro, "macro": {"f1": macro_f1}}


def format_scores(scores: dict, names: dict[str, str] | None = None) -> str:
    names = names or {}
    lines = [f"{'type':<12} {'P':>6} {'R':>6} {'F1':>6} {'gold':>6}"]
    for label, v in scores["per_type"].items():
        lines.append(f"{names.get(label, label):<12} {100*v['precision']:6.2f} {100*v['recall']:6.2f} {100*v['f1']:6.2f} {v['tp']+v['fn']:6d}")
    m = scores["micro"]
    lines.append(f"{'micro':<12} {100*m['precision']:6.2f} {100*m['recall']:6.2f} {100*m['f1']:6.2f} {m['tp']+m['fn']:6d}")
    lines.append(f"{'macro':<12} {'':>6} {'':>6} {100*scores['macro']['f1']:6.2f}")
    return "\n".join(lines)
