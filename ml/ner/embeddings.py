"""Character and bigram embeddings pre-trained without labels: positive PMI of
co-occurrence counts, reduced by a (randomised) truncated SVD (Levy & Goldberg:
on small corpora this matches skip-gram). Numpy only, a couple of CPU minutes.

The corpus is raw text (CMeEE train + val sentences and the CCKS training split,
never the dev split). The text itself never leaves `var/`: only the vectors go
into a model, as the initial values of its embedding layers (they are weights).

    python -m ml.ner embeddings --data $CCKS --cmeee $CMEEE --out var/ner/emb.npz
    python -m ml.ner train ... --embeddings var/ner/emb.npz
"""

from collections import Counter
from pathlib import Path

import numpy as np

from .features import bigram_keys, normalise


def corpus(ccks: str, cmeee: str = "", *, seed: int = 42, dev_fraction: float = 0.3) -> list[str]:
    from .data import load_ccks, parse_cmeee_line, split_train_dev

    train, _dev = split_train_dev(load_ccks(ccks), dev_fraction=dev_fraction, seed=seed)
    texts = [r.text for r in train]
    if cmeee:
        path = Path(cmeee)
        files = [path] if path.is_file() else sorted(path.glob("*.txt"))
        for file in files:
            for line in file.read_text(encoding="utf-8-sig").splitlines():
                if line.strip():
                    texts.append(parse_cmeee_line(line).text)
    return [normalise(t) for t in texts]


def _ppmi(counts: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    counts = counts.astype(np.float64)
    total = counts.sum()
    rows = counts.sum(1, keepdims=True) / total
    cols = counts.sum(0, keepdims=True) ** alpha
    cols /= cols.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((counts / total) / (rows * cols))
    pmi[~np.isfinite(pmi)] = 0
    return np.maximum(pmi, 0).astype(np.float32)


def _svd(matrix: np.ndarray, dim: int, seed: int, iterations: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = min(dim + 20, min(matrix.shape))
    y = matrix @ rng.standard_normal((matrix.shape[1], k)).astype(np.float32)
    for _ in range(iterations):
        q, _ = np.linalg.qr(y)
        q, _ = np.linalg.qr(matrix.T @ q)
        y = matrix @ q
    q, _ = np.linalg.qr(y)
    u, s, _ = np.linalg.svd(q.T @ matrix, full_matrices=False)
    vectors = (q @ u)[:, :dim] * np.sqrt(s[:dim])
    if vectors.shape[1] < dim:
        vectors = np.pad(vectors, ((0, 0), (0, dim - vectors.shape[1])))
    return vectors.astype(np.float32)


def _joined(arrays: list[np.ndarray], gap: int) -> np.ndarray:
    """All texts in one array, `gap` -1s between them (no pair crosses texts)."""
    pad = np.full(gap, -1, np.int64)
    return np.concatenate([x for a in arrays for x in (a, pad)])


def _pairs(rows: np.ndarray, ctx: np.ndarray, offsets, n_rows: int, n_cols: int) -> np.ndarray:
    counts = np.zeros(n_rows * n_cols, dtype=np.float64)
    n = len(rows)
    for d in offsets:
        if d > 0:
            r, k = rows[: n - d], ctx[d:]
        else:
            r, k = rows[-d:], ctx[: n + d]
        ok = (r >= 0) & (k >= 0)
        counts += np.bincount(r[ok] * n_cols + k[ok], minlength=n_rows * n_cols)
    return counts.reshape(n_rows, n_cols)


def train_embeddings(texts: list[str], *, char_dim=100, bigram_dim=50, max_chars=6000, max_bigrams=40000,
                     context_chars=3000, window=2, seed=42) -> dict:
    char_counts = Counter(c for t in texts for c in t)
    bigram_counts = Counter(b for t in texts for b in bigram_keys(t))
    chars = [c for c, n in char_counts.most_common(max_chars) if n >= 2 and c != " "]
    bigrams = [b for b, n in bigram_counts.most_common(max_bigrams) if n >= 2 and " " not in b]
    char_index = {c: i for i, c in enumerate(chars)}
    bigram_index = {b: i for i, b in enumerate(bigrams)}
    context = chars[:context_chars]
    gap = window + 2
    char_ids = _joined([np.asarray([char_index.get(c, -1) for c in t], np.int64) for t in texts], gap)
    ctx_ids = np.where(char_ids < len(context), char_ids, -1)
    bigram_ids = _joined([np.asarray([bigram_index.get(b, -1) for b in bigram_keys(t)], np.int64) for t in texts], gap)
    offsets = [d for d in range(-window, window + 1) if d]
    char_vectors = _svd(_ppmi(_pairs(char_ids, ctx_ids, offsets, len(chars), len(context))), char_dim, seed)
    # a bigram at i covers i and i+1: its context is the chars around the pair
    bigram_offsets = [d for d in range(-window, 0)] + [d + 1 for d in range(1, window + 1)]
    bigram_vectors = _svd(_ppmi(_pairs(bigram_ids, ctx_ids, bigram_offsets, len(bigrams), len(context))), bigram_dim, seed)
    return {"chars": chars, "char_vectors": char_vectors, "bigrams": bigrams, "bigram_vectors": bigram_vectors}


def save(path: str | Path, emb: dict) -> None:
    np.savez_compressed(path, chars=np.asarray(emb["chars"]), char_vectors=emb["char_vectors"],
                        bigrams=np.asarray(emb["bigrams"]), bigram_vectors=emb["bigram_vectors"])


def load(path: str | Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: (data[k].tolist() if k in ("chars", "bigrams") else data[k]) for k in data.files}


def initialise(layer, vocab, keys: list[str], vectors: np.ndarray, scale: float = 0.1) -> int:
    """Set the rows of `layer` (a Keras Embedding) for the vocabulary items that
    have a pre-trained vector, standardised to `scale`; returns how many."""
    index = {k: i for i, k in enumerate(keys)}
    (weights,) = layer.get_weights()
    if vectors.shape[1] != weights.shape[1]:
        raise ValueError(f"pre-trained vectors have {vectors.shape[1]} dimensions, the layer {weights.shape[1]}")
    vectors = vectors / (vectors.std() + 1e-8) * scale
    found = 0
    for item, row in vocab.index.items():
        at = index.get(item)
        if at is not None and row < len(weights):
            weights[row] = vectors[at]
            found += 1
    layer.set_weights([weights])
    return found
