"""Upload decoding: good photos and scans become BGR pages; every bad input is refused
with its code, before any oversized pixel buffer is allocated."""

import time

import numpy as np
import pytest

from ml.labreport.images import ImageLimits, ImageRejected, decode_upload, ink_fraction, sniff_kind
from tests.support.upload_files import (blank_page, huge_page_pdf, jpeg_bytes, jpeg_claiming_size,
                                        jpeg_with_orientation, pdf_bytes, png_bomb, png_bytes, report_photo)


def _rejected(data: bytes, limits: ImageLimits = ImageLimits()) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        decode_upload(data, limits=limits)
    assert caught.value.message  # always something the user can act on
    return caught.value


def test_a_report_photo_jpeg_decodes_to_one_bgr_page():
    image, _truth = report_photo()
    decoded = decode_upload(jpeg_bytes(image))
    assert (decoded.kind, decoded.content_type, decoded.page_count) == ("jpeg", "image/jpeg", 1)
    page = decoded.pages[0]
    assert page.dtype == np.uint8 and page.shape == image.shape
    assert np.abs(page.astype(int) - image.astype(int)).mean() < 4  # JPEG loss only


def test_a_png_decodes_losslessly_and_grayscale_becomes_three_channels():
    image, _truth = report_photo()
    assert np.array_equal(decode_upload(png_bytes(image)).pages[0], image)
    gray = image[:, :, 1].copy()
    page = decode_upload(png_bytes(gray)).pages[0]
    assert page.shape == (*gray.shape, 3)


def test_a_pdf_renders_its_pages_up_to_the_limit():
    image, _truth = report_photo()
    data = pdf_bytes(image, image, image)
    decoded = decode_upload(data, limits=ImageLimits(max_pdf_pages=2, pdf_dpi=100))
    assert (decoded.kind, decoded.page_count, len(decoded.pages)) == ("pdf", 3, 2)
    assert decoded.warnings == ["pages_not_analysed"]
    # 150 dpi source pages rendered at 100 dpi: two thirds of the pixels a side
    assert abs(decoded.pages[0].shape[1] - image.shape[1] * 100 / 150) <= 2


def test_exif_orientation_is_applied():
    image, _truth = report_photo()
    sideways = np.ascontiguousarray(np.rot90(image, k=1))  # stored turned a quarter counter-clockwise
    decoded = decode_upload(jpeg_with_orientation(sideways, orientation=6))  # 6: show turned 90 clockwise
    assert decoded.exif_rotation == 90
    assert decoded.pages[0].shape == image.shape


@pytest.mark.parametrize("data", [b"hello, this is text", b"GIF89a" + b"\x00" * 100, b"", b"\x00" * 5000,
                                  b"PK\x03\x04 a zip file"])
def test_anything_but_jpeg_png_pdf_is_not_an_image(data):
    assert _rejected(data).code == "not_an_image"


def test_the_kind_comes_from_the_bytes_not_the_name():
    image, _truth = report_photo()
    assert sniff_kind(png_bytes(image)) == "png"
    assert sniff_kind(jpeg_bytes(image)) == "jpeg"
    assert sniff_kind(b"%PDF-1.7\n...") == "pdf"


@pytest.mark.parametrize("encode", [jpeg_bytes, png_bytes])
def test_a_truncated_image_is_corrupt(encode):
    data = encode(report_photo()[0])
    assert _rejected(data[: len(data) // 2]).code == "corrupt_image"


def test_a_png_with_a_damaged_chunk_is_corrupt():
    data = bytearray(png_bytes(report_photo()[0]))
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the image data: its CRC fails
    assert _rejected(bytes(data)).code == "corrupt_image"


def test_a_20000_pixel_square_png_bomb_is_refused_from_its_header():
    data = png_bomb(20_000, 20_000)
    assert len(data) < 200_000
    started = time.perf_counter()
    error = _rejected(data)
    assert error.code == "too_many_pixels"
    assert time.perf_counter() - started < 1.0  # nothing was decoded (generous bound, not a benchmark)


def test_a_jpeg_header_claiming_a_huge_frame_is_refused():
    assert _rejected(jpeg_claiming_size(20_000, 20_000)).code == "too_many_pixels"


def test_one_side_over_the_limit_is_refused_even_with_few_pixels():
    error = _rejected(jpeg_claiming_size(13_000, 100))
    assert (error.code, error.detail["width"], error.detail["height"]) == ("too_many_pixels", 13_000, 100)


def test_a_pdf_page_too_large_to_render_is_refused_before_rendering():
    error = _rejected(huge_page_pdf())
    assert error.code == "too_many_pixels" and error.detail["width"] == 40_000


def test_too_many_bytes_is_refused_first():
    image, _truth = report_photo()
    data = pdf_bytes(image)
    error = _rejected(data, ImageLimits(max_bytes=len(data) - 1))
    assert (error.code, error.detail["size"]) == ("file_too_large", len(data))


@pytest.mark.parametrize("data", [b"%PDF-1.4\nthis is not really a pdf\n%%EOF", b"%PDF-1.7\n" + b"\x00" * 300])
def test_a_damaged_pdf_is_corrupt(data):
    assert _rejected(data).code == "corrupt_pdf"


def test_a_blank_page_is_empty():
    assert _rejected(jpeg_bytes(blank_page())).code == "empty_page"


def test_a_blank_page_on_a_dark_desk_is_empty_and_a_report_is_not():
    desk = np.full((1500, 1100, 3), 60, np.uint8)
    desk[200:1300, 150:950] = blank_page(1100, 800)
    assert ink_fraction(desk) < ImageLimits().min_ink_fraction
    assert ink_fraction(report_photo()[0]) > 20 * ImageLimits().min_ink_fraction


def test_an_empty_back_page_of_a_pdf_is_dropped():
    decoded = decode_upload(pdf_bytes(report_photo()[0], blank_page()), limits=ImageLimits(pdf_dpi=100))
    assert (decoded.page_count, len(decoded.pages)) == (2, 1)
