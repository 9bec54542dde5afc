"""Typed refusals for images we cannot or will not read. `code` is stable and is what
the platform turns into an API error code; `message` says what was wrong."""


class ImagingInputError(ValueError):
    code = "invalid_image"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotAnImageError(ImagingInputError):
    code = "not_an_image"


class DicomWithoutPixelsError(ImagingInputError):
    code = "dicom_without_pixels"


class UnsupportedTransferSyntaxError(ImagingInputError):
    code = "unsupported_transfer_syntax"


class UnsupportedBitDepthError(ImagingInputError):
    code = "unsupported_bit_depth"


class ImageTooLargeError(ImagingInputError):
    code = "image_too_large"
