"""Imaging settings per hospital. Thresholds of 0 mean "use the value the active model
was calibrated to on validation data" (from its model card), so a new model version
brings its own operating points; a hospital sets a value above 0 to override one."""

from django.utils.translation import gettext_lazy as _

from apps.configuration.algorithms import declare_algorithm_task
from apps.configuration.registry import declare
from ml.imaging.config import CLASS_NAMES

DETECTOR_TASK = "imaging.detector"
CLASSIFIER_TASK = "imaging.classifier"

declare_algorithm_task(DETECTOR_TASK, implementations={"anchor_free_cnn": _("Anchor-free single-stage CNN (CPU)")},
                       default="anchor_free_cnn",
                       description=_("Finds masses and nodules on chest X-rays."))
declare_algorithm_task(CLASSIFIER_TASK, implementations={"pretrained_cnn": _("CNN with self-supervised backbone")},
                       default="pretrained_cnn",
                       description=_("Scores how likely a chest X-ray shows a lesion, with a Grad-CAM heatmap."))

DETECTOR_THRESHOLD_KEYS = {
    "mass": declare("imaging.threshold.mass", "float", default=0.0, minimum=0.0, maximum=1.0,
                    description=_("Confidence from which a detected mass is shown (0: the active model's "
                                  "calibrated value).")).key,
    "nodule": declare("imaging.threshold.nodule", "float", default=0.0, minimum=0.0, maximum=1.0,
                      description=_("Confidence from which a detected nodule is shown (0: the active model's "
                                    "calibrated value).")).key,
}
assert set(DETECTOR_THRESHOLD_KEYS) == set(CLASS_NAMES), "one threshold setting per detector class"
CLASSIFIER_THRESHOLD_KEY = declare(
    "imaging.threshold.lesion_probability", "float", default=0.0, minimum=0.0, maximum=1.0,
    description=_("Lesion probability from which a study is flagged (0: the active model's calibrated value).")).key
SIMILAR_STUDIES = declare("imaging.similar_studies", "int", default=5, minimum=0, maximum=50,
                          description=_("How many similar earlier studies to show with a study.")).key
