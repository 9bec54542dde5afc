"""Personal tip recommendations: tag matches with the patient's data blended with
item-based collaborative filtering over favourites and reads, popularity for the
rest (cold start), each with the reason shown to the patient.

    score = w * tag_score + (1 - w) * cf_score        (w = tips.tag_weight)

tag_score: share of the tip's tags among the patient's signal tags (capped at 1 for
two matches); cf_score: sum over the patient's tips i of weight(i) * similarity(i, tip),
divided by the best candidate's. Tips the patient already read or saved are not
recommended again. Candidates with neither fill up from the most popular tips.

`rank` is pure (no database) so the benchmark and the tests can call it directly.
"""

import math
from collections import defaultdict
from dataclasses import dataclass

FAVOURITE_WEIGHT = 3.0
READ_WEIGHT = 1.0
NEIGHBOURS_KEPT = 30


@dataclass(frozen=True)
class Recommendation:
    tip_id: int
    score: float
    source: str  # "tags", "similar", "popular"
    reason: str


def item_similarities(interactions: dict[int, dict[int, float]], *, keep: int = NEIGHBOURS_KEPT
                      ) -> dict[int, list[tuple[int, float]]]:
    """Cosine similarity between tips over patients' weights: {patient: {tip: weight}}
    -> {tip: [(neighbour, similarity), ...]} best first, `keep` each."""
    dot: dict[tuple[int, int], float] = defaultdict(float)
    norm: dict[int, float] = defaultdict(float)
    for weights in interactions.values():
        items = sorted(weights.items())
        for index, (tip_a, weight_a) in enumerate(items):
            norm[tip_a] += weight_a * weight_a
            for tip_b, weight_b in items[index + 1:]:
                dot[(tip_a, tip_b)] += weight_a * weight_b
    neighbours: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (tip_a, tip_b), value in dot.items():
        similarity = value / math.sqrt(norm[tip_a] * norm[tip_b])
        neighbours[tip_a].append((tip_b, similarity))
        neighbours[tip_b].append((tip_a, similarity))
    return {tip: sorted(pairs, key=lambda pair: -pair[1])[:keep] for tip, pairs in neighbours.items()}


def rank(*, candidates: dict[int, list[str]], signals: dict[str, str], own: dict[int, float],
         neighbours: dict[int, list[tuple[int, float]]], popularity: dict[int, float], titles: dict[int, str],
         tag_weight: float, limit: int, reasons: dict[str, str] | None = None) -> list[Recommendation]:
    """candidates: {tip: tags}; signals: {tag: reason} from the providers; own: the
    patient's {tip: weight}; neighbours: similarities; popularity: {tip: score}."""
    reasons = reasons or {}
    cf: dict[int, float] = defaultdict(float)
    cf_because: dict[int, tuple[float, int]] = {}
    for tip, weight in own.items():
        for neighbour, similarity in neighbours.get(tip, ()):
            contribution = weight * similarity
            cf[neighbour] += contribution
            if contribution > cf_because.get(neighbour, (0.0, 0))[0]:
                cf_because[neighbour] = (contribution, tip)
    best_cf = max((cf[tip] for tip in candidates if tip not in own), default=0.0) or 1.0
    scored = []
    for tip, tags in candidates.items():
        if tip in own:
            continue
        matched = [tag for tag in tags if tag in signals]
        tag_score = min(len(matched) / 2.0, 1.0)
        cf_score = cf.get(tip, 0.0) / best_cf
        score = tag_weight * tag_score + (1 - tag_weight) * cf_score
        if score <= 0:
            continue
        if tag_weight * tag_score >= (1 - tag_weight) * cf_score:
            source, reason = "tags", signals[matched[0]]
        else:
            source = "similar"
            reason = reasons.get("similar", "%(title)s") % {"title": titles.get(cf_because[tip][1], "")}
        scored.append(Recommendation(tip, score, source, reason))
    scored.sort(key=lambda item: (-item.score, -popularity.get(item.tip_id, 0.0), item.tip_id))
    chosen = scored[:limit]
    if len(chosen) < limit:
        taken = {item.tip_id for item in chosen} | set(own)
        popular = sorted((tip for tip in candidates if tip not in taken),
                         key=lambda tip: (-popularity.get(tip, 0.0), tip))
        chosen += [Recommendation(tip, 0.0, "popular", reasons.get("popular", "popular"))
                   for tip in popular[:limit - len(chosen)]]
    return chosen


def popular_only(*, candidates, own, popularity, limit: int) -> list[int]:
    """The baseline the benchmark compares with: most popular unseen tips."""
    return sorted((tip for tip in candidates if tip not in own), key=lambda tip: (-popularity.get(tip, 0.0), tip))[:limit]
