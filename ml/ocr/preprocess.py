"""OpenCV clean-up of a photographed document page, before OCR.

Steps, in order (each is skipped when it finds nothing to do):
1. page: find the sheet's four corners against the background and warp it flat
   (perspective correction); photos of a page on a desk need this, scans do not.
2. orientation: photos arrive turned 90 or 180 degrees. Text lines make the ink's
   row profile spiky along the reading direction, which tells horizontal from
   vertical lines; a text-direction classifier (ml/ocr/orientation.py) then
   tells upright from upside down.
3. deskew: the small residual angle that maximises the row profile's variance.
4. denoise, even out the lighting (divide by a blurred background) and contrast;
   `binary` is an Otsu-thresholded copy for engines that want black on white.

`prepare_page(image)` returns a `PreparedPage` with the upright grayscale page, its
binary copy, the quarter-turn it undid and the skew angle, and the time each step took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ml.ocr.orientation import is_upside_down

ANALYSIS_SIDE = 1000  # long side of the downscaled copy used to measure angles
MAX_PAGE_SIDE = 2400  # long side pages are read at: A4 text is then about 25 pixels high


@dataclass
class PreparedPage:
    gray: np.ndarray  # upright, deskewed, evened grayscale
    binary: np.ndarray  # black text (0) on white (255)
    rotation: int  # degrees clockwise the photo was turned (0/90/180/270), now undone
    skew_degrees: float  # residual angle removed (counter-clockwise positive)
    page_found: bool  # whether perspective correction found the sheet's corners
    timings_ms: dict[str, float] = field(default_factory=dict)


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _downscale(gray: np.ndarray, side: int = ANALYSIS_SIDE) -> tuple[np.ndarray, float]:
    scale = min(1.0, side / max(gray.shape))
    if scale == 1.0:
        return gray, 1.0
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


# --- 1. perspective ---------------------------------------------------------------------

def _order_corners(points: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    points = points.reshape(4, 2).astype(np.float32)
    sums, diffs = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.float32([points[sums.argmin()], points[diffs.argmin()], points[sums.argmax()], points[diffs.argmax()]])


def find_page_corners(gray: np.ndarray) -> np.ndarray | None:
    """The sheet's corners in `gray`'s coordinates, or None when no sheet stands out
    from a background (a scan, or a photo filled by the page)."""
    small, scale = _downscale(gray, 800)
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    # The sheet is the large bright region: threshold, close the text holes, take the biggest blob.
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(sheet)
    image_area = small.shape[0] * small.shape[1]
    if area < 0.25 * image_area or area > 0.97 * image_area:
        return None
    hull = cv2.convexHull(sheet)
    for epsilon in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, epsilon * cv2.arcLength(hull, True), True)
        if len(approx) == 4:
            break
    else:
        # No clean quadrilateral: fall back to the rotated bounding box of the sheet.
        approx = cv2.boxPoints(cv2.minAreaRect(sheet))
    corners = _order_corners(np.asarray(approx, np.float32))
    if not _is_sheet(small, corners):
        return None
    return corners / scale


def _is_sheet(small: np.ndarray, corners: np.ndarray) -> bool:
    """A sheet has roughly right angles and stands out clearly from what surrounds it
    (a white margin around a scan is not a background)."""
    for i in range(4):
        a, b, c = corners[i - 1], corners[i], corners[(i + 1) % 4]
        u, v = a - b, c - b
        cosine = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-6))
        if abs(cosine) > 0.35:  # the corner is not within about 20 degrees of square
            return False
    inside = np.zeros(small.shape, np.uint8)
    cv2.fillConvexPoly(inside, corners.astype(np.int32), 1)
    outside = small[inside == 0]
    return outside.size > 0 and float(np.median(small[inside == 1])) - float(np.median(outside)) > 40


def warp_page(image: np.ndarray, corners: np.ndarray) -> np.ndarray:
    tl, tr, br, bl = corners
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


# --- 2. and 3. orientation and skew ---------------------------------------------------

def _ink(gray: np.ndarray) -> np.ndarray:
    """Text pixels as 1, from a downscaled grayscale page."""
    evened = even_lighting(gray)
    _, ink = cv2.threshold(evened, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ink.astype(np.float32)


def _profile_score(ink: np.ndarray) -> float:
    """How spiky the row profile is: high when text lines run horizontally."""
    rows = ink.sum(axis=1)
    return float(np.var(rows) / (np.mean(rows) ** 2 + 1e-6))


def _rotate_small(ink: np.ndarray, degrees: float) -> np.ndarray:
    height, width = ink.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_NEAREST, borderValue=0)


def estimate_skew(ink: np.ndarray, limit: float = 8.0) -> float:
    """The angle (counter-clockwise positive, like the skew to undo) whose rotation makes
    the row profile spikiest: coarse 0.5-degree steps, then 0.1 around the best."""
    def best(angles):
        return max(angles, key=lambda a: _profile_score(_rotate_small(ink, -a)))

    coarse = best(np.arange(-limit, limit + 0.01, 0.5))
    return float(best(np.arange(coarse - 0.5, coarse + 0.51, 0.1)))


def lines_are_vertical(ink: np.ndarray) -> bool:
    return _profile_score(ink.T) > _profile_score(ink)


_QUARTER = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def undo_rotation(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn an image that was turned `rotation` degrees clockwise back upright."""
    return image if rotation % 360 == 0 else cv2.rotate(image, _QUARTER[rotation % 360])


# --- 4. lighting and binarisation -----------------------------------------------------

def even_lighting(gray: np.ndarray) -> np.ndarray:
    """Divide by a heavily blurred copy (the paper's brightness) so shadows and
    gradients vanish, then stretch the contrast."""
    kernel = max(15, (min(gray.shape) // 20) | 1)
    background = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    background = cv2.GaussianBlur(background, (kernel, kernel), 0)
    evened = cv2.divide(gray, background, scale=255)
    return cv2.normalize(evened, None, 0, 255, cv2.NORM_MINMAX)


def binarise(gray: np.ndarray) -> np.ndarray:
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary


# --- the whole preparation ---------------------------------------------------------------

def prepare_page(image: np.ndarray, *, detect_upside_down: bool = True) -> PreparedPage:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str):
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round((now - clock) * 1000, 1)
        clock = now

    # A 12-megapixel phone photo holds far more pixels than OCR needs; capping the long
    # side keeps every later step (and the engines) fast and memory-bounded.
    gray, _ = _downscale(to_gray(image), MAX_PAGE_SIDE)
    corners = find_page_corners(gray)
    if corners is not None:
        gray = warp_page(gray, corners)
    lap("perspective_ms")

    small, _ = _downscale(gray)
    ink = _ink(small)
    rotation = 0
    if lines_are_vertical(ink):
        # Turned a quarter: try the counter-clockwise undo first; OSD settles which.
        rotation = 90
        ink = np.ascontiguousarray(np.rot90(ink, 1))
    skew = estimate_skew(ink)
    lap("orientation_ms")

    gray = undo_rotation(gray, rotation)
    if abs(skew) >= 0.1:
        height, width = gray.shape
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -skew, 1.0)
        gray = cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    lap("deskew_ms")

    if detect_upside_down and is_upside_down(binarise(even_lighting(_downscale(gray, 1600)[0]))):
        gray = cv2.rotate(gray, cv2.ROTATE_180)
        rotation = (rotation + 180) % 360
    lap("upside_down_ms")

    # A median filter removes sensor speckle without rounding stroke ends (non-local
    # means does better but costs a second per page).
    gray = cv2.medianBlur(gray, 3)
    gray = even_lighting(gray)
    binary = binarise(gray)
    lap("clean_ms")
    return PreparedPage(gray=gray, binary=binary, rotation=rotation, skew_degrees=skew,
                        page_found=corners is not None, timings_ms=timings)
