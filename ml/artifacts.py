"""Model artifacts on storage: checksums and model cards. No Django here.

An artifact is a file (`model.keras`) or a directory. Its checksum is SHA-256 over
the file, or over every file of the directory in sorted order with its relative
path, so a renamed or added file changes it too. The model card is `MODEL_CARD.json`
beside or inside the artifact when present.
"""

import hashlib
import json
from pathlib import Path

CARD_NAME = "MODEL_CARD.json"
_CHUNK = 1 << 20


def _feed(digest, path: Path) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)


def artifact_checksum(path: str | Path) -> str:
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(path)).encode() + b"\0")
            _feed(digest, file)
    else:
        _feed(digest, path)
    return digest.hexdigest()


def artifact_size(path: str | Path) -> int:
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def read_model_card(path: str | Path) -> dict:
    path = Path(path)
    candidates = [path / CARD_NAME] if path.is_dir() else [path.with_name(CARD_NAME), path.parent / (path.stem + ".card.json")]
    for candidate in candidates:
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    return {}
