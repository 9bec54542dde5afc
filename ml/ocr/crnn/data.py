"""Synthetic text-line images as the page segmentation hands them to the model.

A chunk crop from a page is the chunk's ink, padded, with the line's band as its vertical
extent (so digits on a row of Chinese names sit in a taller band than their own ink).
`render_line` imitates that: the vertical band is the text's ink or the band of a CJK
reference glyph, padded by a random share, and then degraded (blur, noise, contrast,
rotation, JPEG, low resolution, neighbour lines and table rules, binarisation).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ml.ocr.crnn.charset import Codec
from ml.ocr.crnn.config import DOWNSAMPLE, FONTS, HEIGHT
from ml.ocr.crnn.text import TextSampler

WIDTH_QUANTUM = 32  # batch widths are multiples of this


def available_fonts() -> list[tuple[str, int, float]]:
    fonts = [(path, index, share) for path, index, share in FONTS if Path(path).is_file()]
    if not fonts:
        raise RuntimeError("no CJK font found; install fonts-wqy-microhei")
    return fonts


@lru_cache(maxsize=512)
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def prepare(gray: np.ndarray) -> np.ndarray:
    """A grayscale crop (any height) -> float32 (HEIGHT, W), ink 1, paper 0, contrast
    stretched between robust dark and light levels. Used for training and reading."""
    height, width = gray.shape[:2]
    new_width = max(DOWNSAMPLE * 2, round(width * HEIGHT / max(1, height)))
    interpolation = cv2.INTER_AREA if height > HEIGHT else cv2.INTER_CUBIC
    resized = cv2.resize(gray, (new_width, HEIGHT), interpolation=interpolation).astype(np.float32)
    dark, light = np.percentile(resized, (1, 99))
    if light - dark < 1.0:
        return np.zeros_like(resized)
    return np.clip((light - resized) / (light - dark), 0.0, 1.0)


class LineRenderer:
    def __init__(self, codec: Codec, fonts: list[tuple[str, int, float]] | None = None):
        self.codec = codec
        self.sampler = TextSampler(codec)
        self.fonts = fonts or available_fonts()
        shares = np.array([share for _, _, share in self.fonts])
        self.font_p = shares / shares.sum()
        # 0..1: scales how often each degradation is applied. Training starts easy
        # (clean lines break CTC's all-blank plateau sooner) and ramps up.
        self.difficulty = 1.0

    def _maybe(self, rng: np.random.Generator, share: float) -> bool:
        return rng.random() < share * self.difficulty

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """One (float32 (HEIGHT, W) image, normalised label) pair."""
        text = self.sampler(rng, rare_share=max(0.2, self.difficulty))
        gray = self.render(text, rng)
        return prepare(gray), " ".join(text.split())

    def render(self, text: str, rng: np.random.Generator) -> np.ndarray:
        path, index, _ = self.fonts[int(rng.choice(len(self.fonts), p=self.font_p))]
        low_res = self._maybe(rng, 0.2)
        size = int(rng.integers(11, 18)) if low_res else int(rng.integers(18, 44))
        font = _font(path, index, size)
        paper = float(rng.uniform(150, 255))
        ink = float(rng.uniform(0, min(110, paper - 60)))

        left, top, right, bottom = font.getbbox(text)
        ref_top, ref_bottom = font.getbbox("国")[1], font.getbbox("国")[3]
        # Lines of digits alone get their own band sometimes; a lone dash or dot never
        # does (the page segmentation takes the band from the whole line).
        if rng.random() < 0.75 or (bottom - top) < 0.6 * (ref_bottom - ref_top):
            top, bottom = min(top, ref_top), max(bottom, ref_bottom)
        band = max(1, bottom - top)
        margin = 2 * band
        canvas_w, canvas_h = right - left + 2 * margin, band + 2 * margin
        image = Image.new("L", (canvas_w, canvas_h), int(paper))
        draw = ImageDraw.Draw(image)
        origin = (margin - left, margin - top)
        draw.text(origin, text, font=font, fill=int(ink))
        if self._maybe(rng, 0.15):
            self._neighbours(draw, rng, font, origin, band, canvas_w, ink)
        if self._maybe(rng, 0.08):
            y = margin + (band * rng.uniform(1.25, 1.6) if rng.random() < 0.5 else -band * rng.uniform(0.25, 0.6))
            draw.line((0, y, canvas_w, y), fill=int(ink), width=max(1, int(size * rng.uniform(0.04, 0.12))))

        pad_top, pad_bottom = rng.uniform(0.05, 0.35, size=2) * band
        pad_left, pad_right = rng.uniform(0.05, 0.45, size=2) * band
        y0, y1 = int(round(margin - pad_top)), int(round(margin + band + pad_bottom))
        x0, x1 = int(round(margin - pad_left)), int(round(canvas_w - margin + pad_right))
        page = np.asarray(image, dtype=np.float32)
        if self._maybe(rng, 0.3):
            angle = rng.uniform(-1.5, 1.5)
            centre = ((x0 + x1) / 2, (y0 + y1) / 2)
            matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
            page = cv2.warpAffine(page, matrix, (canvas_w, canvas_h), borderMode=cv2.BORDER_REPLICATE)
        crop = page[max(0, y0) : y1, max(0, x0) : x1]

        stretch = rng.uniform(0.85, 1.15)
        crop = cv2.resize(crop, (max(2, int(crop.shape[1] * stretch)), crop.shape[0]), interpolation=cv2.INTER_AREA)
        if low_res:
            crop = cv2.resize(crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
        return self._degrade(crop, rng, size)

    def _neighbours(self, draw, rng, font, origin, band, canvas_w, ink) -> None:
        other = self.sampler(rng)
        gap = band * rng.uniform(1.2, 1.5)
        y = origin[1] - gap if rng.random() < 0.5 else origin[1] + gap
        draw.text((origin[0] + rng.uniform(-band, band), y), other, font=font, fill=int(ink))

    def _degrade(self, crop: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
        if self._maybe(rng, 0.7):
            crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.3, 1.2) * max(1.0, size / 24))
        if self._maybe(rng, 0.3):
            ramp = np.linspace(1.0 - rng.uniform(0, 0.3), 1.0, crop.shape[1], dtype=np.float32)
            crop = crop * (ramp if rng.random() < 0.5 else ramp[::-1])[None, :]
        crop = crop + rng.normal(0, rng.uniform(0, 10) * self.difficulty, size=crop.shape).astype(np.float32)
        crop = np.clip(crop, 0, 255).astype(np.uint8)
        if self._maybe(rng, 0.25):
            quality = int(rng.integers(30, 90))
            ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok:
                crop = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
        if self._maybe(rng, 0.3):
            _, crop = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
            if rng.random() < 0.3:
                kernel = np.ones((2, 2), np.uint8)
                crop = cv2.erode(crop, kernel) if rng.random() < 0.5 else cv2.dilate(crop, kernel)
        return crop


def ctc_fits(width: int, labels: list[int]) -> bool:
    repeats = sum(1 for a, b in zip(labels, labels[1:]) if a == b)
    return width // DOWNSAMPLE >= len(labels) + repeats + 1


def make_batch(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pad crops to one width (paper = 0) -> (N, HEIGHT, W, 1) and the true widths."""
    widths = np.array([image.shape[1] for image in images])
    # Few distinct widths: oneDNN builds (and caches) kernels per input shape.
    width = int(np.ceil(widths.max() / WIDTH_QUANTUM) * WIDTH_QUANTUM)
    batch = np.zeros((len(images), HEIGHT, width, 1), np.float32)
    for i, image in enumerate(images):
        batch[i, :, : image.shape[1], 0] = image
    return batch, widths


class Prefetch:
    """Renders the next batches on a thread while TensorFlow trains on this one (Pillow,
    OpenCV and TensorFlow release the GIL for most of their work)."""

    def __init__(self, stream, depth: int = 4):
        import queue
        import threading

        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stream = stream
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        for batch in self.stream:
            self.queue.put(batch)

    def __iter__(self):
        return self

    def __next__(self):
        return self.queue.get()


class BatchStream:
    """Endless training batches; draws several batches' worth of lines and groups them by
    width so little of each batch is padding."""

    def __init__(self, renderer: LineRenderer, batch_size: int, seed: int, max_width: int = 640, pool: int = 4):
        self.renderer = renderer
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.max_width = max_width
        self.pool = pool
        self.pending: list[tuple[np.ndarray, list[int]]] = []

    def _fill(self) -> None:
        samples = []
        while len(samples) < self.batch_size * self.pool:
            image, text = self.renderer.sample(self.rng)
            labels = self.renderer.codec.encode(text)
            if not labels or image.shape[1] > self.max_width:
                continue
            if not ctc_fits(image.shape[1], labels):
                repeats = sum(1 for a, b in zip(labels, labels[1:]) if a == b)
                image = cv2.resize(image, (DOWNSAMPLE * (len(labels) + repeats + 2), image.shape[0]))
            samples.append((image, labels))
        samples.sort(key=lambda sample: sample[0].shape[1])
        groups = [samples[i : i + self.batch_size] for i in range(0, len(samples), self.batch_size)]
        order = self.rng.permutation(len(groups))
        self.pending = [item for index in order for item in groups[index]]

    def __iter__(self):
        return self

    def __next__(self):
        if len(self.pending) < self.batch_size:
            self._fill()
        chunk, self.pending = self.pending[: self.batch_size], self.pending[self.batch_size :]
        images, labels = zip(*chunk)
        batch, widths = make_batch(list(images))
        return batch, widths, list(labels)
