"""Datasets: synthetic phantoms, the NIH mass/nodule boxes (COCO json) and every
real X-ray for self-supervised pre-training. Paths are always given by the caller;
nothing here knows where research data lives, and nothing is copied out of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import CLASS_NAMES
from .preprocess import equalize, letterbox
from .reading import read_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".dcm"}


@dataclass
class Sample:
    image: np.ndarray      # float32 (size, size, 1) in [0, 1], CLAHE'd and letterboxed
    boxes: np.ndarray      # (n, 4) in letterboxed pixels
    labels: np.ndarray     # (n,) class indices
    name: str = ""


def load_display(path: Path) -> np.ndarray:
    return read_image(Path(path).read_bytes()).display()


def to_sample(image8: np.ndarray, boxes, labels, size: int, name: str = "") -> Sample:
    boxed, geometry = letterbox(equalize(image8), size)
    return Sample(image=(boxed.astype(np.float32) / 255.0)[..., None],
                  boxes=geometry.to_letterbox(np.asarray(boxes, np.float32)), labels=np.asarray(labels, np.int32),
                  name=name)


def synthetic_samples(count: int, size: int, seed: int) -> list[Sample]:
    from .synth import phantom_set

    return [to_sample(p.image, p.boxes, p.labels, size, name=f"phantom-{seed}-{i}")
            for i, p in enumerate(phantom_set(count, size=size, seed=seed))]


def coco_samples(annotation: Path, image_dir: Path, size: int) -> list[Sample]:
    """COCO boxes (x, y, w, h) with categories named like CLASS_NAMES (case-insensitive)."""
    coco = json.loads(Path(annotation).read_text(encoding="utf-8"))
    category = {c["id"]: CLASS_NAMES.index(c["name"].lower()) for c in coco["categories"]
                if c["name"].lower() in CLASS_NAMES}
    by_image: dict[int, list] = {}
    for annotation_row in coco["annotations"]:
        if annotation_row["category_id"] in category:
            by_image.setdefault(annotation_row["image_id"], []).append(annotation_row)
    samples = []
    for image in sorted(coco["images"], key=lambda row: row["file_name"]):
        rows = by_image.get(image["id"], [])
        boxes = [[x, y, x + w, y + h] for x, y, w, h in (row["bbox"] for row in rows)]
        labels = [category[row["category_id"]] for row in rows]
        samples.append(to_sample(load_display(Path(image_dir) / image["file_name"]), boxes, labels, size,
                                 name=image["file_name"]))
    return samples


def find_nih(root: Path) -> tuple[Path, Path]:
    """(COCO json, image folder) inside the nih50_mass_cvat layout."""
    root = Path(root)
    annotation = next(root.rglob("*coco*.json"))
    image_dir = next(p.parent for p in root.rglob("*.jpg") if "raw_data" in p.parts)
    return annotation, image_dir


def all_xray_paths(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def split(items: list, held_out: float, seed: int) -> tuple[list, list]:
    """Deterministic split by shuffled index: (train, held out)."""
    order = np.random.default_rng(seed).permutation(len(items))
    cut = int(round(len(items) * (1 - held_out)))
    return [items[i] for i in order[:cut]], [items[i] for i in order[cut:]]


def lung_halves(sample: Sample) -> list[tuple[np.ndarray, int]]:
    """Each image as two halves (patient's right and left side), labelled 1 when a lesion
    centre lies in that half. The NIH set has a lesion in every image, so whole images
    cannot teach "no lesion"; halves of the same films can, without a source confound."""
    size = sample.image.shape[0]
    centres = (sample.boxes[:, 0] + sample.boxes[:, 2]) / 2 if len(sample.boxes) else np.zeros(0)
    halves = []
    for side, (start, stop) in enumerate(((0, size // 2), (size // 2, size))):
        half = sample.image[:, start:stop, 0]
        image, _ = letterbox((half * 255).astype(np.uint8), size)
        label = int(((centres >= start) & (centres < stop)).any())
        halves.append(((image.astype(np.float32) / 255.0)[..., None], label))
    return halves
