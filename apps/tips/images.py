"""Tip images: checked, resized and recompressed with Pillow before they are stored.

The size limit is checked before Pillow reads a byte; Pillow's decompression-bomb
guard refuses images whose pixel count is absurd for their file size. Every image is
stored as a progressive JPEG at most `tips.image_max_side` pixels on its longer side
(transparency flattened onto white, EXIF orientation applied, metadata dropped).
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}
MAX_PIXELS = 40_000_000


class ImageRejected(ValueError):
    """args: (code, message)."""


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes
    width: int
    height: int


def process_image(data: bytes, *, max_side: int, quality: int) -> ProcessedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageRejected("unsupported_image", image.format or "unknown")
            if image.width * image.height > MAX_PIXELS:
                raise ImageRejected("image_too_large", f"{image.width}x{image.height}")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ImageRejected("unsupported_image", str(error)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected("image_too_large", str(error)) from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=quality, optimize=True, progressive=True)
    return ProcessedImage(content=output.getvalue(), width=image.width, height=image.height)
