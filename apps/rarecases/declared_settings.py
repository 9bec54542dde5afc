"""The rare-case registry's presets (issue 7). Rarity and the access-trend model are
platform-wide (one analysis over every hospital, one model trained on every case's
access), so their presets are the platform's; what a hospital decides for its own
cases (keep-alive cadence, its region) it may set for itself. The preset range of
the prediction indexes belongs to step 7 and is declared by the sharing app
(`partners.share_index_low` / `_high`)."""

from django.utils.translation import gettext_lazy as _

from apps.configuration.algorithms import declare_algorithm_task
from apps.configuration.registry import declare
from apps.tenancy.roles import Role

PLATFORM_ONLY = frozenset({Role.PLATFORM_ADMIN})

TREND_TASK = "rare_trend"
declare_algorithm_task(TREND_TASK, implementations={"keras_mlp": _("Access-trend network (Keras), ml.rare_trend")},
                       default="keras_mlp",
                       description=_("Predicts whether a rare case's clicks and usage will rise next period."))

INCIDENCE_RATE = declare(
    "rarecases.incidence_rate", "float", default=0.001, minimum=0.0, maximum=0.5,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("A diagnosis is rare when at most this share of the platform's patients in the window has it "
                  "(0.001: one in a thousand).")).key
WINDOW_DAYS = declare(
    "rarecases.window_days", "int", default=365, minimum=7, maximum=3650,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("The rarity analysis counts diagnoses made in this many days before it runs.")).key
HOT_FIELD_DAYS = declare(
    "rarecases.hot_field_days", "int", default=90, minimum=7, maximum=730,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("The rare feature compares a category's diagnoses in this many recent days with the same "
                  "span before (how hot the field is).")).key
FIRST_PERIOD_BASE_DAYS = declare(
    "rarecases.first_period_base_days", "float", default=30.0, minimum=0.01, maximum=365.0,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("Length of the first preset period (clicks and usage are counted per period) when the "
                  "platform had the reference number of visits in the last period.")).key
FIRST_PERIOD_REFERENCE_VISITS = declare(
    "rarecases.first_period_reference_visits", "int", default=1000, minimum=1, maximum=100_000_000,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("Visits per period at which the first period has its base length; more visits shorten it "
                  "in proportion, fewer lengthen it.")).key
FIRST_PERIOD_BOUNDS_HOURS = declare(
    "rarecases.first_period_bounds_hours", "int_range", default=[24, 90 * 24], minimum=1, maximum=365 * 24,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("Shortest and longest first period, in hours.")).key
SECOND_PERIOD_DAYS = declare(
    "rarecases.second_period_days", "float", default=30.0, minimum=0.01, maximum=365.0,
    description=_("Second preset period: each case's related data is retrieved again after this many days.")).key
PROPAGATION_THRESHOLD = declare(
    "rarecases.propagation_threshold", "float", default=3.0, minimum=0.0, maximum=1_000_000.0,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("Cases whose propagation index (people reached through forwards, shares and downloads, "
                  "deeper and more recent counting more) is at least this feed the incremental update of the "
                  "access-trend model.")).key
DEGRADATION_BOUND = declare(
    "rarecases.degradation_bound", "float", default=0.02, minimum=0.0, maximum=1.0,
    editable_by=PLATFORM_ONLY, hospital_may_override=False,
    description=_("An incrementally updated model is kept only if its loss on the old validation data rises by "
                  "at most this fraction.")).key
