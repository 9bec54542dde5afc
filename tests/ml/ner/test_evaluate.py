from ml.ner.data import Span
from ml.ner.evaluate import format_scores, strict_scores


def test_strict_scores_need_exact_boundaries_and_type():
    # given gold and predictions: one exact, one boundary off, one wrong type, one missed
    gold = [[Span(0, 2, "DIS"), Span(3, 5, "DRU"), Span(6, 8, "ANA")], [Span(0, 3, "DIS")]]
    pred = [[Span(0, 2, "DIS"), Span(3, 6, "DRU"), Span(6, 8, "DIS")], []]
    # when scored
    scores = strict_scores(gold, pred, ["DIS", "DRU", "ANA"])
    # then only the exact match counts
    micro = scores["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (1, 2, 3)
    assert micro["precision"] == 1 / 3 and micro["recall"] == 1 / 4
    assert scores["per_type"]["DIS"]["tp"] == 1 and scores["per_type"]["ANA"]["f1"] == 0.0
    dis_f1 = 2 * (1 / 2) * (1 / 2) / 1
    assert abs(scores["macro"]["f1"] - dis_f1 / 3) < 1e-9
    assert "micro" in format_scores(scores)
