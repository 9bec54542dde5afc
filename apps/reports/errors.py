"""What each refusal and failure code means to the user, in their language.

Upload refusals (ml.labreport.images.ImageRejected codes) become API errors with an
HTTP status; analysis failures are stored on the report (`failure_code`) and shown
with the message below.
"""

from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import DomainError

UPLOAD_REFUSALS = {
    "file_too_large": (413, _("The file is too large. Send a photo or scan under the size limit.")),
    "too_many_pixels": (413, _("The image has too many pixels. Send a normal phone photo or scan of the report.")),
    "not_an_image": (415, _("Only JPEG, PNG and PDF files are accepted. Photograph the report and send the photo.")),
    "corrupt_image": (400, _("The image is damaged or incomplete (the upload may have broken off). Upload it again.")),
    "corrupt_pdf": (400, _("The PDF cannot be opened (damaged or password-protected). Export it again without a "
                           "password.")),
    "empty_page": (400, _("The page looks empty. Photograph the printed side of the report in good light, filling "
                          "the frame.")),
}

FAILURE_MESSAGES = {
    "no_indicators": _("No lab indicators were recognised. Photograph the whole report flat and in focus, or "
                       "upload the laboratory's PDF, then try again."),
    "unreadable_image": _("The uploaded file could not be read. Upload the report again."),
    "analysis_error": _("The analysis failed on our side. Ask staff to reprocess the report."),
    "analysis_crashed": _("The analysis stopped several times on this file. Upload a clearer photo or the PDF."),
}


class UploadRefused(DomainError):
    """An upload refused before anything was stored."""

    def __init__(self, code: str, fields: dict | None = None):
        status, message = UPLOAD_REFUSALS[code]
        super().__init__(str(message), code=code, fields=fields)
        self.status_code = status


def failure_message(code: str) -> str:
    message = FAILURE_MESSAGES.get(code) or UPLOAD_REFUSALS.get(code, (None, ""))[1]
    return str(message)
