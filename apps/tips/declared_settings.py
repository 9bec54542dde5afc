from django.utils.translation import gettext_lazy as _

from apps.configuration.registry import declare

MAX_IMAGE_MB = declare(
    "tips.max_image_mb", "int", default=10, minimum=1, maximum=30,
    description=_("Largest image file (MB) staff may upload into a health tip; larger ones are refused."))
IMAGE_MAX_SIDE = declare(
    "tips.image_max_side", "int", default=1280, minimum=320, maximum=4096,
    description=_("Tip images are resized so their longer side is at most this many pixels."))
IMAGE_QUALITY = declare(
    "tips.image_quality", "int", default=82, minimum=40, maximum=95,
    description=_("JPEG quality of stored tip images (lower: smaller files)."))
TAG_WEIGHT = declare(
    "tips.tag_weight", "float", default=0.6, minimum=0.0, maximum=1.0,
    description=_("Recommendations blend tag matches with the patient's data (this weight) and collaborative "
                  "filtering over favourites and reads (the rest)."))
