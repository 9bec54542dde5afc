def precision_recall(flagged: set, truth: set) -> dict:
    true_positives = len(flagged & truth)
    precision = true_positives / len(flagged) if flagged else 0.0
    recall = true_positives / len(truth) if truth else 0.0
    return {"flagged": len(flagged), "planted": len(truth), "true_positives": true_positives,
            "precision": precision, "recall": recall}
