"""Panels other apps add to the registry's case page, so the registry does not
import them. The sharing app shows its decisions there:

    from apps.rarecases.panels import register_case_panel

    register_case_panel("partners.sharing", template="partners/case_sharing.html",
                        context=lambda case: {"sharing": case_sharing(case_id=case.pk), "case": case})

`context(case)` runs in the case's hospital's tenant context during the page request.
A panel that fails is logged and left out; the page still renders."""

import logging
from collections.abc import Callable

from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

_PANELS: dict[str, tuple[str, Callable]] = {}


def register_case_panel(name: str, *, template: str, context: Callable) -> None:
    _PANELS[name] = (template, context)


def unregister_case_panel(name: str) -> None:
    _PANELS.pop(name, None)


def case_panels_render(*, case, request) -> list[str]:
    rendered = []
    for name, (template, context) in _PANELS.items():
        try:
            rendered.append(render_to_string(template, context(case), request=request))
        except Exception:
            logger.exception("case page panel %s failed for rare case %s", name, case.pk)
    return rendered
