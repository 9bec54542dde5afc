"""Test inputs built here (never research data): DICOM datasets, a 16-bit PNG, a PNG
header claiming 20,000 px a side, phantom PNGs."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np


def dicom_bytes(pixels: np.ndarray | None = None, *, photometric: str = "MONOCHROME2", slope: float = 1.0,
                intercept: float = 0.0, transfer_syntax=None, window: tuple[float, float] | None = None,
                pixel_data: bytes | None = None) -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    dataset.PatientName = "Zhang^San"
    dataset.PatientID = "MRN-0042"
    dataset.PatientBirthDate = "19700101"
    dataset.PatientAge = "047Y"
    dataset.InstitutionName = "Test Hospital"
    dataset.Modality = "DX"
    dataset.BodyPartExamined = "CHEST"
    if pixels is not None or pixel_data is not None:
        pixels = np.zeros((8, 8), np.uint16) if pixels is None else pixels
        dataset.Rows, dataset.Columns = pixels.shape
        dataset.SamplesPerPixel = 1
        dataset.PhotometricInterpretation = photometric
        dataset.BitsAllocated = 16
        dataset.BitsStored = 12
        dataset.HighBit = 11
        dataset.PixelRepresentation = 0
        dataset.RescaleSlope = slope
        dataset.RescaleIntercept = intercept
        if window:
            dataset.WindowCenter, dataset.WindowWidth = window
        if pixel_data is not None:
            from pydicom.encaps import encapsulate

            dataset.PixelData = encapsulate([pixel_data])
            dataset["PixelData"].VR = "OB"
        else:
            dataset.PixelData = pixels.astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_header_only(width: int, height: int, bit_depth: int = 8) -> bytes:
    """A PNG whose header claims the size; the pixel data is a token (never decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + _chunk(b"IEND", b""))


def png16_bytes(size: int = 16) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", (np.arange(size * size, dtype=np.uint16).reshape(size, size) * 200))
    assert ok
    return encoded.tobytes()


def png_bytes(image: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def jpeg_bytes(image: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return encoded.tobytes()
