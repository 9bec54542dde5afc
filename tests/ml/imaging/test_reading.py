import numpy as np
import pytest
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit

from ml.imaging.errors import (DicomWithoutPixelsError, ImageTooLargeError, NotAnImageError,
                               UnsupportedBitDepthError, UnsupportedTransferSyntaxError)
from ml.imaging.reading import apply_window, read_image
from ml.imaging.synth import phantom

from .samples import dicom_bytes, jpeg_bytes, png16_bytes, png_bytes, png_header_only


def test_dicom_values_get_rescale_slope_and_intercept():
    # Given stored values 0..3 with slope 2 and intercept -1024
    pixels = np.array([[0, 1], [2, 3]], np.uint16)
    # When read
    xray = read_image(dicom_bytes(pixels, slope=2.0, intercept=-1024.0))
    # Then the values are in modality units
    assert xray.kind == "dicom"
    assert xray.values.tolist() == [[-1024.0, -1022.0], [-1020.0, -1018.0]]


def test_monochrome1_is_inverted_so_higher_is_brighter():
    pixels = np.array([[0, 4095]], np.uint16)
    mono1 = read_image(dicom_bytes(pixels, photometric="MONOCHROME1"))
    mono2 = read_image(dicom_bytes(pixels, photometric="MONOCHROME2"))
    assert mono2.display()[0, 0] < mono2.display()[0, 1]
    assert mono1.display()[0, 0] > mono1.display()[0, 1]


def test_the_dicom_window_is_used_and_mirrored_for_monochrome1():
    pixels = np.array([[0, 1000, 2000, 4000]], np.uint16)
    xray = read_image(dicom_bytes(pixels, window=(1000, 400)))
    assert (xray.window_center, xray.window_width) == (1000.0, 400.0)
    assert xray.display().tolist() == [[0, 128, 255, 255]]
    inverted = read_image(dicom_bytes(pixels, window=(1000, 400), photometric="MONOCHROME1"))
    assert inverted.window_center == 3000.0


def test_linear_window_follows_the_dicom_formula():
    values = np.array([-1000.0, 39.0, 40.0, 1000.0])
    assert apply_window(values, center=40, width=400).tolist() == [0, 127, 128, 255]


def test_dicom_metadata_is_kept_and_a_deidentified_copy_made():
    xray = read_image(dicom_bytes(np.zeros((4, 4), np.uint16)))
    assert xray.metadata["PatientName"] == "Zhang^San"
    shared = xray.deidentified_metadata
    assert "PatientName" not in shared and "PatientID" not in shared and "InstitutionName" not in shared
    assert shared["PatientAge"] == "040Y"
    assert shared["StudyInstanceUID"].startswith("2.25.")
    assert shared["StudyInstanceUID"] != xray.metadata["StudyInstanceUID"]
    assert shared["PatientIdentityRemoved"] == "YES"


def test_dicom_without_pixel_data_is_refused():
    with pytest.raises(DicomWithoutPixelsError) as refused:
        read_image(dicom_bytes(None))
    assert refused.value.code == "dicom_without_pixels"


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, JPEGBaseline8Bit])
def test_compressed_transfer_syntaxes_we_cannot_decode_are_refused(syntax):
    data = dicom_bytes(np.zeros((8, 8), np.uint16), transfer_syntax=syntax, pixel_data=b"\xff\x4f\xff\x51" + b"\0" * 30)
    with pytest.raises(UnsupportedTransferSyntaxError) as refused:
        read_image(data)
    assert refused.value.code == "unsupported_transfer_syntax"
    assert str(syntax) in refused.value.message


def test_png_and_jpeg_are_read_as_greyscale():
    image = phantom(64, seed=1).image
    png = read_image(png_bytes(image))
    jpeg = read_image(jpeg_bytes(image))
    assert png.kind == "png" and png.values.shape == (64, 64)
    assert np.array_equal(png.display(), image)
    assert jpeg.kind == "jpeg" and np.abs(jpeg.values - image).mean() < 3


def test_a_16_bit_png_is_refused_clearly():
    with pytest.raises(UnsupportedBitDepthError) as refused:
        read_image(png16_bytes())
    assert refused.value.code == "unsupported_bit_depth"


def test_an_image_of_20000_pixels_a_side_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError) as refused:
        read_image(png_header_only(20_000, 20_000))
    assert refused.value.code == "image_too_large"


def test_a_dicom_claiming_20000_pixels_a_side_is_refused():
    data = dicom_bytes(np.zeros((2, 2), np.uint16))
    import io

    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(data))
    dataset.Rows = dataset.Columns = 20_000
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    with pytest.raises(ImageTooLargeError):
        read_image(buffer.getvalue())


@pytest.mark.parametrize("data", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
                                  b"\xff\xd8\xff" + b"\0" * 40, b"\0" * 128 + b"DICM" + b"\0" * 20])
def test_things_that_are_not_images_are_refused(data):
    with pytest.raises(NotAnImageError) as refused:
        read_image(data)
    assert refused.value.code == "not_an_image"
