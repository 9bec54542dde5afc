"""Similar-study retrieval: cosine similarity over the backbone's pooled features.

Vectors are L2-normalised when added, so the search is one matrix-vector product.
Fine up to some hundred thousand studies per hospital; past that, an ANN library.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


class EmbeddingIndex:
    def __init__(self, dimension: int):
        self.dimension = dimension
        self.ids: list[str] = []
        self._vectors = np.zeros((0, dimension), np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, key: str, vector: np.ndarray) -> None:
        vector = normalise(np.asarray(vector).reshape(1, self.dimension))
        if key in self.ids:
            self._vectors[self.ids.index(key)] = vector[0]
            return
        self.ids.append(key)
        self._vectors = np.vstack([self._vectors, vector])

    def search(self, vector: np.ndarray, k: int = 5, *, exclude: str | None = None) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        similarities = self._vectors @ normalise(np.asarray(vector).reshape(self.dimension))
        ranked = [(self.ids[i], float(similarities[i])) for i in np.argsort(-similarities)]
        return [(key, score) for key, score in ranked if key != exclude][:k]

    def save(self, path: str | Path) -> None:
        np.savez(path, ids=np.array(self.ids, dtype=str), vectors=self._vectors)

    @classmethod
    def load(cls, path: str | Path) -> "EmbeddingIndex":
        stored = np.load(path)
        index = cls(int(stored["vectors"].shape[1]))
        index.ids = [str(key) for key in stored["ids"]]
        index._vectors = stored["vectors"].astype(np.float32)
        return index


def cosine_rank(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Indices of `vectors` from most to least similar to `query`."""
    return np.argsort(-(normalise(vectors) @ normalise(query.reshape(-1))))
