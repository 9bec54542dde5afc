"""Lab-report settings per hospital: which OCR engine reads the uploads (an algorithm
task, so it shows on the algorithms page) and whether patients see a report before a
doctor signs it off."""

from importlib.util import find_spec

from django.utils.translation import gettext_lazy as _

from apps.configuration.algorithms import declare_algorithm_task
from apps.configuration.registry import declare

_ENGINES = {
    "tesseract": _("Tesseract 5 (chi_sim+eng)"),
    "rapidocr": _("RapidOCR (PP-OCRv4 on ONNX Runtime)"),
    "crnn": _("Our CRNN + CTC text-line recogniser"),
    "auto": _("Automatic: the engine that reads the page best"),
}
# Offer only engines this build has: the CRNN engine module lands separately.
_AVAILABLE = {name: label for name, label in _ENGINES.items()
              if name in ("tesseract", "rapidocr", "auto") or find_spec(f"ml.ocr.engines.{name}") is not None}

OCR_TASK = declare_algorithm_task(
    "ocr",
    implementations=_AVAILABLE,
    default="tesseract",
    description=_("The OCR engine that reads uploaded lab reports."),
)
PATIENTS_SEE_PRELIMINARY = declare(
    "reports.patients_see_preliminary", "bool", default=False,
    description=_("Patients see their lab reports as soon as they are analysed, before a doctor signs them off."))
