"""Settings for bench/labreport_e2e.py's processes (this one, daphne, the worker): the
test settings' fixed keys, with tasks sent to the broker instead of run inline."""

from hospital_platform.settings.test import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = False
DEBUG = False
