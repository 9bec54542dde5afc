"""Decode and validate an uploaded lab-report file into BGR pages (no Django).

    pages = decode_upload(data)            # -> DecodedUpload(pages=[np.ndarray, ...], ...)

Accepts JPEG, PNG and PDF, recognised by their first bytes (never by the file name or
the declared content type). Every refusal is an `ImageRejected` with a stable `code`
the platform maps to an HTTP status and a translated message:

| code | why | what the user can do |
|---|---|---|
| `file_too_large` | more bytes than `max_bytes` | send a smaller photo or scan |
| `not_an_image` | not JPEG, PNG or PDF | photograph the report, send the JPEG/PNG/PDF |
| `corrupt_image` | truncated or damaged JPEG/PNG | upload again (the transfer broke off) |
| `corrupt_pdf` | a PDF pdfium cannot open (damaged, encrypted) | export the PDF again, without a password |
| `too_many_pixels` | a side or the pixel count over the limit (also a decompression bomb) | send a normal photo |
| `empty_page` | almost no ink on the page | photograph the printed side of the report |

Sizes are checked from the header before any pixel is decoded (Pillow reads only the
header on `open`; a PDF page's size times the render resolution is known before
rendering), so a 20,000 x 20,000 image or a zlib bomb never reaches memory.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageOps

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF-"


class ImageRejected(ValueError):
    """An upload we will not analyse. `code` is stable; `message` says what to do."""

    def __init__(self, code: str, message: str, **detail):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 12_000
    pdf_dpi: int = 200  # enough for 8-9 pt report text
    max_pdf_pages: int = 4  # pages rendered; later pages are counted, not analysed
    # Share of the page that must be ink (dark marks on their local background).
    min_ink_fraction: float = 0.002


@dataclass
class DecodedUpload:
    kind: str  # "jpeg" | "png" | "pdf"
    content_type: str
    pages: list[np.ndarray]  # BGR uint8, EXIF orientation applied
    page_count: int  # pages in the file (a PDF may have more than were rendered)
    exif_rotation: int = 0  # degrees the EXIF orientation turned the photo (clockwise)
    warnings: list[str] = field(default_factory=list)


_KINDS = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


def sniff_kind(data: bytes) -> str | None:
    """"jpeg", "png", "pdf" from the first bytes, or None."""
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    # The PDF header may follow a little junk (the spec allows it within 1 KB).
    if PDF_MAGIC in data[:1024]:
        return "pdf"
    return None


def decode_upload(data: bytes, *, limits: ImageLimits = ImageLimits()) -> DecodedUpload:
    if len(data) > limits.max_bytes:
        raise ImageRejected("file_too_large",
                            f"The file is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB. "
                            "Send a smaller photo or scan.", size=len(data), limit=limits.max_bytes)
    kind = sniff_kind(data)
    if kind is None:
        raise ImageRejected("not_an_image", "This is not a JPEG, PNG or PDF file. Photograph the report and "
                                            "send the photo, or send the PDF the laboratory gave you.")
    if kind == "pdf":
        pages, page_count = _decode_pdf(data, limits)
        rotation = 0
    else:
        image, rotation = _decode_raster(data, kind, limits)
        pages, page_count = [image], 1
    for number, page in enumerate(pages, start=1):
        if ink_fraction(page) < limits.min_ink_fraction:
            if len(pages) == 1:
                raise ImageRejected("empty_page", "The page looks empty. Photograph the printed side of the "
                                                  "report, in good light, filling the frame.")
            pages[number - 1] = None  # an empty back page of a PDF is not an error
    decoded = DecodedUpload(kind=kind, content_type=_KINDS[kind], pages=[p for p in pages if p is not None],
                            page_count=page_count, exif_rotation=rotation)
    if not decoded.pages:
        raise ImageRejected("empty_page", "Every page looks empty. Send the pages with the results on them.")
    if page_count > len(pages):
        decoded.warnings.append("pages_not_analysed")
    return decoded


def _check_dimensions(width: int, height: int, limits: ImageLimits) -> None:
    if width <= 0 or height <= 0:
        raise ImageRejected("corrupt_image", "The image has no pixels. Upload the photo again.")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"The image is {width} x {height} pixels; at most {limits.max_side} pixels a side and "
            f"{limits.max_pixels // 1_000_000} megapixels are accepted. Send a normal phone photo or scan.",
            width=width, height=height)


def _decode_raster(data: bytes, kind: str, limits: ImageLimits) -> tuple[np.ndarray, int]:
    corrupt = ImageRejected("corrupt_image", "The image is damaged or incomplete (the upload may have broken "
                                             "off). Upload the photo again.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            _check_dimensions(*image.size, limits)
            if kind == "png":
                # verify() checks every chunk's CRC without decoding; it needs its own handle.
                Image.open(io.BytesIO(data)).verify()
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too_many_pixels", "The image is too large to analyse. Send a normal phone photo or "
                                               "scan.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # Pillow's ways of saying "broken"
        raise corrupt from error
    rotation = _EXIF_ROTATION.get(_exif_orientation(image), 0)
    image = ImageOps.exif_transpose(image)
    return _to_bgr(image), rotation


# EXIF orientation -> degrees the camera's picture must turn clockwise to stand upright.
_EXIF_ROTATION = {3: 180, 6: 90, 8: 270}


def _exif_orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, OSError):
        return 1


def _to_bgr(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit scans: scale to 8 bits rather than clip.
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        gray = (array * (255.0 / peak)).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent pixels become white paper, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _decode_pdf(data: bytes, limits: ImageLimits) -> tuple[list[np.ndarray], int]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        raise ImageRejected("corrupt_pdf", "The PDF cannot be opened (damaged or password-protected). Export it "
                                           "again without a password.") from error
    try:
        page_count = len(document)
        if page_count == 0:
            raise ImageRejected("corrupt_pdf", "The PDF has no pages. Export it again.")
        scale = limits.pdf_dpi / 72.0
        pages = []
        for index in range(min(page_count, limits.max_pdf_pages)):
            page = document[index]
            try:
                width_pt, height_pt = page.get_size()
                # The size in pixels at our resolution, before a byte is rendered.
                _check_dimensions(int(round(width_pt * scale)), int(round(height_pt * scale)), limits)
                bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
                pages.append(_to_bgr(bitmap.to_pil()))
            finally:
                page.close()
        return pages, page_count
    except pdfium.PdfiumError as error:
        raise ImageRejected("corrupt_pdf", "A page of the PDF cannot be rendered. Export it again.") from error
    finally:
        document.close()


def ink_fraction(image: np.ndarray, *, working_side: int = 1000) -> float:
    """Share of the page that is dark marks on their local background (text, lines).

    The background is estimated with a wide max filter, so a shadow or a gradient
    across a blank page does not count as ink, and neither does sensor noise.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = working_side / max(gray.shape)
    if scale < 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    background = cv2.dilate(gray, np.ones((15, 15), np.uint8))
    darker = cv2.subtract(background, gray) > 60
    # Count only on the paper: where the page meets a darker desk, the edge would
    # otherwise look like a line of ink all round a blank page.
    _, paper = cv2.threshold(background, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper = cv2.erode(paper, np.ones((31, 31), np.uint8)).astype(bool)
    if paper.sum() < 0.05 * paper.size:
        paper = np.ones_like(paper)
    return float(np.count_nonzero(darker & paper)) / float(np.count_nonzero(paper))
