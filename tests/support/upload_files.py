"""Files for upload tests, generated on the spot: good report photos and scans, and
every kind of bad input the upload must refuse."""

import io
import struct
import zlib
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from ml.labreport.synth import SynthConfig, render_cbc_report


@lru_cache(maxsize=8)
def report_photo(seed: int = 1, rotation: int | None = 0) -> tuple[np.ndarray, dict]:
    return render_cbc_report(seed=seed, config=SynthConfig(rotation=rotation))


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return encoded.tobytes()


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def report_jpeg(seed: int = 1) -> bytes:
    return jpeg_bytes(report_photo(seed)[0])


def pdf_bytes(*images: np.ndarray, resolution: float = 150.0) -> bytes:
    pages = [Image.fromarray(image[:, :, ::-1]) for image in images]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=resolution, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def blank_page(height: int = 1400, width: int = 1000, seed: int = 0) -> np.ndarray:
    """White paper with sensor noise and a shadow gradient: no ink at all."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width, 3), 235.0)
    page -= np.linspace(0, 50, width)[None, :, None]
    page += rng.normal(0, 5, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of `width` x `height` zeros: about 50 KB that would decode to
    400 million pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return PNG_SIGNATURE + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def jpeg_claiming_size(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) claims another size."""
    data = bytearray(jpeg_bytes(np.full((64, 64, 3), 200, np.uint8)))
    marker = data.index(b"\xff\xc0")
    data[marker + 5:marker + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG stored sideways with the EXIF tag telling viewers how to turn it."""
    picture = Image.fromarray(image[:, :, ::-1])
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def huge_page_pdf() -> bytes:
    """A one-page PDF whose page is 200 inches square: 40,000 px a side at 200 dpi."""
    return pdf_bytes(np.full((100, 100, 3), 255, np.uint8), resolution=0.5)


def text_page(seed: int = 0) -> np.ndarray:
    """A printed page of ordinary prose: plenty of ink, no lab indicators."""
    from PIL import ImageDraw, ImageFont

    from ml.labreport.synth import FONT_PATH

    lines = ["关于门诊楼电梯维修的通知", "各位患者及家属：", "因设备年度检修，门诊楼东侧电梯将于本周六暂停使用。",
             "请您改乘西侧电梯或步行楼梯，给您带来不便，敬请谅解。", "Notice: the east lift is closed for maintenance.",
             "Please use the west lift or the stairs.", "后勤保障处", "二〇二六年十一月"]
    page = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT_PATH), 36)
    for index, line in enumerate(lines):
        draw.text((120, 160 + index * 90), line, fill="black", font=font)
    return np.asarray(page)[:, :, ::-1].copy()
