"""Reading X-rays from bytes: DICOM through pydicom, PNG/JPEG through Pillow (header)
and OpenCV (decoding). Sizes are checked from the header before any pixel is decoded,
so a 20,000 px image or a decompression bomb costs nothing.

Every image comes out as `XrayImage`: `values` are float32 in the modality's units
(Hounsfield-like after rescale slope/intercept for DICOM, 0-255 for photos), always
oriented so that higher means brighter (MONOCHROME1 is inverted here), plus the
default window and the header metadata with a de-identified copy.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

import numpy as np

from .config import MAX_PIXELS, MAX_SIDE
from .errors import (DicomWithoutPixelsError, ImageTooLargeError, NotAnImageError, UnsupportedBitDepthError,
                     UnsupportedTransferSyntaxError)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

# Elements removed or replaced before metadata leaves the hospital: the identifying
# attributes of DICOM PS3.15's basic confidentiality profile that plain X-ray headers carry.
PHI_KEYWORDS = frozenset({
    "PatientName", "PatientID", "PatientBirthDate", "PatientBirthTime", "OtherPatientIDs", "OtherPatientNames",
    "PatientAddress", "PatientTelephoneNumbers", "PatientMotherBirthName", "MedicalRecordLocator",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "ReferringPhysicianName",
    "PerformingPhysicianName", "OperatorsName", "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy",
    "RequestingPhysician", "AccessionNumber", "StudyID", "StationName", "DeviceSerialNumber",
    "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "StudyTime", "SeriesTime", "AcquisitionTime",
    "ContentTime", "AdditionalPatientHistory", "PatientComments", "Occupation", "EthnicGroup",
    "IssuerOfPatientID", "RequestAttributesSequence", "OtherPatientIDsSequence",
})
UID_KEYWORDS = frozenset({"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID",
                          "MediaStorageSOPInstanceUID"})
# Coarsened rather than removed: useful for research, not identifying at this precision.
KEPT_COARSE = {"PatientAge", "PatientSex"}


@dataclass
class XrayImage:
    values: np.ndarray                 # float32, H x W, higher = brighter
    kind: str                          # "dicom" | "png" | "jpeg"
    window_center: float
    window_width: float
    metadata: dict = field(default_factory=dict)
    deidentified_metadata: dict = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.values.shape[0])

    @property
    def width(self) -> int:
        return int(self.values.shape[1])

    def display(self, center: float | None = None, width: float | None = None) -> np.ndarray:
        return apply_window(self.values, self.window_center if center is None else center,
                            self.window_width if width is None else width)


def apply_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2 linear windowing to 8 bits."""
    width = max(float(width), 1.0)
    low = center - 0.5 - (width - 1) / 2
    scaled = (values.astype(np.float32) - low) / (width - 1)
    return (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise NotAnImageError("The image has no pixels.")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"The image is {width} x {height} pixels; the limit is {MAX_SIDE} pixels a side and "
            f"{MAX_PIXELS // 1_000_000} million pixels. Export it at a lower resolution.")


def read_image(data: bytes) -> XrayImage:
    """Reads DICOM, PNG or JPEG bytes; anything else raises `NotAnImageError`."""
    if len(data) >= 132 and data[128:132] == b"DICM":
        return read_dicom(data)
    if data.startswith(PNG_SIGNATURE) or data.startswith(JPEG_SIGNATURE):
        return read_photo(data)
    raise NotAnImageError("The file is not a DICOM, PNG or JPEG image.")


def read_photo(data: bytes) -> XrayImage:
    from PIL import Image, UnidentifiedImageError

    kind = "png" if data.startswith(PNG_SIGNATURE) else "jpeg"
    if kind == "png" and len(data) >= 25 and data[24] == 16:
        # IHDR bit depth: a 16-bit PNG would be cut to 8 bits silently by most decoders.
        raise UnsupportedBitDepthError(
            "16-bit PNG images are not accepted: their grey levels would be truncated. "
            "Upload the DICOM file, or an 8-bit PNG or JPEG.")
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the header only
            width, height = header.size
    except Image.DecompressionBombError as error:
        raise ImageTooLargeError(f"The image is too large to decode safely: {error}") from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise NotAnImageError(f"The file looks like a {kind.upper()} but cannot be read: {error}.") from error
    _check_size(width, height)
    import cv2

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if pixels is None:
        raise NotAnImageError(f"The {kind.upper()} file is damaged and cannot be decoded.")
    values = pixels.astype(np.float32)
    meta = {"Rows": height, "Columns": width, "BitsStored": 8, "PhotometricInterpretation": "MONOCHROME2"}
    return XrayImage(values=values, kind=kind, window_center=128.0, window_width=256.0,
                     metadata=meta, deidentified_metadata=dict(meta))


def _supported_transfer_syntaxes():
    from pydicom import uid

    # What pydicom decodes with numpy alone; JPEG, JPEG 2000 and JPEG-LS need plug-ins we do not ship.
    return set(uid.UncompressedTransferSyntaxes) | {uid.RLELossless}


def read_dicom(data: bytes) -> XrayImage:
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut

    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError, OSError) as error:
        raise NotAnImageError(f"The DICOM file cannot be parsed: {error}.") from error
    if "PixelData" not in dataset and "SOPClassUID" not in dataset:
        raise NotAnImageError("The file has a DICOM preamble but no DICOM object after it.")
    if "PixelData" not in dataset:
        raise DicomWithoutPixelsError(
            "The DICOM file has no pixel data (a structured report or presentation state?). Upload the image itself.")
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or syntax not in _supported_transfer_syntaxes():
        name = getattr(syntax, "name", None) or str(syntax)
        raise UnsupportedTransferSyntaxError(
            f"The DICOM transfer syntax {name} ({syntax}) cannot be decoded here. "
            "Export the study uncompressed (Explicit VR Little Endian) and upload it again.")
    _check_size(int(dataset.get("Columns", 0)), int(dataset.get("Rows", 0)))
    if int(dataset.get("NumberOfFrames", 1) or 1) > 1:
        raise NotAnImageError("Multi-frame DICOM is not a plain radiograph; upload a single-frame image.")
    try:
        raw = dataset.pixel_array
    except Exception as error:  # pydicom raises many types for damaged pixel data
        raise NotAnImageError(f"The DICOM pixel data cannot be decoded: {error}.") from error
    if raw.ndim != 2:
        raise NotAnImageError("Only greyscale radiographs are accepted (this DICOM has colour pixels).")
    values = np.asarray(apply_modality_lut(raw, dataset), dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    center, width = _default_window(dataset, low, high)
    if str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).upper() == "MONOCHROME1":
        # MONOCHROME1: the lowest value is white. Mirror values and window so higher is brighter.
        values = (low + high) - values
        center = (low + high) - center
    metadata = dicom_metadata(dataset)
    return XrayImage(values=values, kind="dicom", window_center=center, window_width=width,
                     metadata=metadata, deidentified_metadata=deidentify_metadata(metadata))


def _first(value):
    if value is None:
        return None
    try:
        return float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)
    except (TypeError, ValueError, IndexError):
        return None


def _default_window(dataset, low: float, high: float) -> tuple[float, float]:
    center, width = _first(dataset.get("WindowCenter")), _first(dataset.get("WindowWidth"))
    if center is None or width is None or width <= 0:
        return (low + high) / 2, max(high - low, 1.0)
    return center, width


def dicom_metadata(dataset) -> dict:
    """Plain header elements as {keyword: text}; pixel data, private tags and sequences left out."""
    metadata = {}
    for element in dataset.file_meta if hasattr(dataset, "file_meta") else []:
        if element.keyword:
            metadata[element.keyword] = str(element.value)[:200]
    for element in dataset:
        if not element.keyword or element.tag.is_private or element.VR in ("SQ", "OB", "OW", "OF", "OD", "UN"):
            continue
        value = element.value
        metadata[element.keyword] = (str(value) if not isinstance(value, (int, float)) else value)
        if isinstance(metadata[element.keyword], str):
            metadata[element.keyword] = metadata[element.keyword][:200]
    return metadata


def _pseudonymous_uid(uid: str) -> str:
    # Deterministic so that images of one study still group together after de-identification.
    return "2.25." + str(int(hashlib.sha256(uid.encode()).hexdigest()[:30], 16))


def deidentify_metadata(metadata: dict) -> dict:
    shared = {}
    for keyword, value in metadata.items():
        if keyword in PHI_KEYWORDS:
            continue
        if keyword in UID_KEYWORDS:
            shared[keyword] = _pseudonymous_uid(str(value))
        elif keyword == "PatientAge" and isinstance(value, str) and value[:3].isdigit():
            shared[keyword] = f"{min(int(value[:3]) // 10 * 10, 90):03d}Y"  # decade, 90+ pooled
        else:
            shared[keyword] = value
    shared["PatientIdentityRemoved"] = "YES"
    shared["DeidentificationMethod"] = "hospital-platform basic profile (PS3.15 subset)"
    return shared
