"""The web admin's configuration pages: settings, algorithms and models, periodic jobs.

Views parse the posted form, call one configuration service or selector and render.
Every change is a POST answered with a redirect (htmx follows it and swaps in what the
redirect points to), so what the page shows next is read after the change committed.
A refusal (a DomainError) comes back with the service's message and the error's HTTP
status, keeping what the administrator entered.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.exceptions import DomainError
from apps.tenancy.roles import STAFF_ROLES, Role
from apps.webadmin.views import fragment_login_required

from .algorithms import algorithm_task, algorithm_tasks
from .forms import (ImplementationForm, ModelActivateForm, PeriodicTaskForm, SettingValueForm, setting_default_scope,
                    setting_editable)
from .model_selectors import model_artifacts, model_deployment_history, model_deployments_current, shadow_summary
from .model_services import model_activate, model_rollback, model_shadow_stop
from .models import ModelDeployment
from .periodic import periodic_task_list, periodic_task_save
from .selectors import setting_value, settings_effective
from .services import setting_reset, setting_set

ADMIN_ROLES = (Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)
HISTORY_SHOWN = 10


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def role_required(*roles):
    """The page is for these roles at the current hospital. Anonymous visitors go to
    the login page (an htmx request gets 401 and HX-Redirect instead, so no login page
    lands inside a table row); anyone else, or a user with no hospital, gets 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                if _is_htmx(request):
                    return fragment_login_required(view)(request, *args, **kwargs)
                return redirect_to_login(request.get_full_path())
            if request.tenant is None or request.tenant.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- settings ---------------------------------------------------------------------------


def _anchor(key: str) -> str:
    return "setting-" + key.replace(".", "-")


def _display(setting: dict, value) -> str:
    if value is None:
        return "—"
    if setting["type"] == "bool":
        return _("Yes") if value else _("No")
    if setting["type"] == "int_range":
        return f"{value[0]} – {value[1]}"
    if value == "":
        return _("(empty)")
    return str(value)


def _bounds(setting: dict) -> str:
    low, high = setting["minimum"], setting["maximum"]
    if low is not None and high is not None:
        return f"{low} – {high}"
    if low is not None:
        return f"≥ {low}"
    if high is not None:
        return f"≤ {high}"
    return ""


def _source_label(source: str) -> str:
    return {"default": _("Default"), "platform": _("Platform"), "hospital": _("This hospital")}[source]


def _setting_row(tenant, setting: dict, *, form=None, error: str = "") -> dict:
    editable = setting_editable(setting, tenant.role)
    platform_admin = tenant.role == Role.PLATFORM_ADMIN
    return {
        "setting": setting,
        "anchor": _anchor(setting["key"]),
        "value_display": _display(setting, setting["value"]),
        "default_display": _display(setting, setting["default"]),
        "bounds": _bounds(setting),
        "source_label": _source_label(setting["source"]),
        "actions_column": tenant.role in ADMIN_ROLES,
        "editable": editable,
        "form": form if form is not None else (SettingValueForm(setting=setting) if editable else None),
        "choose_scope": editable and platform_admin and setting["hospital_may_override"],
        # Reset removes the value where the effective one comes from, falling back a level.
        "resettable": editable and (setting["source"] == "hospital"
                                    or (setting["source"] == "platform" and platform_admin)),
        "error": error,
    }


def _find_setting(tenant, key: str) -> dict:
    setting = next((row for row in settings_effective(hospital_id=tenant.hospital_id) if row["key"] == key), None)
    if setting is None:
        raise Http404
    return setting


def _settings_page(request, *, refused_key: str = "", refused_row: dict | None = None, status: int = 200):
    tenant = request.tenant
    rows = [refused_row if setting["key"] == refused_key else _setting_row(tenant, setting)
            for setting in settings_effective(hospital_id=tenant.hospital_id)]
    return render(request, "configuration/settings.html",
                  {"rows": rows, "actions_column": tenant.role in ADMIN_ROLES}, status=status)


def _setting_changed(request, key: str):
    if _is_htmx(request):
        return redirect("configuration_web:setting-row", key=key)
    return redirect(reverse("configuration_web:settings") + "#" + _anchor(key))


def _setting_refused(request, key: str, row: dict, status: int):
    if _is_htmx(request):
        return render(request, "configuration/setting_row.html", {"row": row}, status=status)
    messages.error(request, _("%(key)s was not changed; the reason is shown next to it.") % {"key": key})
    return _settings_page(request, refused_key=key, refused_row=row, status=status)


@require_GET
@role_required(*STAFF_ROLES)
def settings_page(request):
    return _settings_page(request)


@require_GET
@never_cache
@role_required(*STAFF_ROLES)
def setting_row(request, key):
    """One setting's table row: where an inline change redirects to."""
    setting = _find_setting(request.tenant, key)
    return render(request, "configuration/setting_row.html",
                  {"row": _setting_row(request.tenant, setting), "fragment": True})


@require_POST
@role_required(*ADMIN_ROLES)
def setting_update(request, key):
    tenant = request.tenant
    setting = _find_setting(tenant, key)
    form = SettingValueForm(request.POST, setting=setting)
    status = 400
    if form.is_valid():
        scope = form.scope_value()
        try:
            saved = setting_set(key=key, value=form.typed_value(), actor=request.user, role=tenant.role,
                                hospital_id=None if scope == "platform" else tenant.hospital_id)
        except DomainError as error:
            form.add_service_error(error)
            status = error.status_code
        else:
            values = {"key": key, "value": _display(setting, saved["value"])}
            if scope == "platform":
                messages.success(request, _("%(key)s is now %(value)s platform-wide.") % values)
            else:
                messages.success(request, _("%(key)s is now %(value)s at this hospital.") % values)
            return _setting_changed(request, key)
    return _setting_refused(request, key, _setting_row(tenant, setting, form=form), status)


@require_POST
@role_required(*ADMIN_ROLES)
def setting_reset_view(request, key):
    tenant = request.tenant
    setting = _find_setting(tenant, key)
    scope = request.POST.get("scope") or setting_default_scope(setting)
    try:
        had_value = setting_reset(key=key, actor=request.user, role=tenant.role,
                                  hospital_id=None if scope == "platform" else tenant.hospital_id)
    except DomainError as error:
        return _setting_refused(request, key, _setting_row(tenant, setting, error=error.message), error.status_code)
    if had_value:
        messages.success(request, _("%(key)s now uses the inherited value.") % {"key": key})
    else:
        messages.info(request, _("%(key)s had no value of its own to reset.") % {"key": key})
    return _setting_changed(request, key)


# --- algorithms and models --------------------------------------------------------------


def _algorithm_panels(tenant, *, refused_task: str = "", activate_form=None, implementation_form=None) -> list:
    serving = {(deployment.task, deployment.mode): deployment for deployment in model_deployments_current()}
    artifacts = list(model_artifacts())
    panels = []
    for task in algorithm_tasks():
        own_artifacts = [artifact for artifact in artifacts if artifact.task == task.name]
        refused = task.name == refused_task
        summary = shadow_summary(task=task.name)
        active_implementation = setting_value(task.setting_key)
        panels.append({
            "task": task,
            "active_implementation": active_implementation,
            "implementations": sorted(task.implementations.items()),
            "active": serving.get((task.name, ModelDeployment.Mode.ACTIVE)),
            "shadow": serving.get((task.name, ModelDeployment.Mode.SHADOW)),
            "artifacts": own_artifacts,
            "activate_form": (activate_form if refused and activate_form is not None
                              else ModelActivateForm(artifacts=own_artifacts, prefix_id=task.name)),
            "implementation_form": (implementation_form if refused and implementation_form is not None
                                    else ImplementationForm(initial={"implementation": active_implementation})),
            "history": list(model_deployment_history(task=task.name)[:HISTORY_SHOWN]),
            "shadow_summary": summary if summary["shadow"] or summary["comparisons"] else None,
        })
    return panels


def _algorithms_page(request, *, status: int = 200, **refused):
    tenant = request.tenant
    return render(request, "configuration/algorithms.html", {
        "panels": _algorithm_panels(tenant, **refused),
        "artifacts": model_artifacts(),
        "is_admin": tenant.role in ADMIN_ROLES,
    }, status=status)


def _task_or_404(name: str):
    task = algorithm_task(name)
    if task is None:
        raise Http404
    return task


def _back_to_task(task_name: str):
    return redirect(reverse("configuration_web:algorithms") + f"#task-{task_name}")


@require_GET
@role_required(*STAFF_ROLES)
def algorithms_page(request):
    return _algorithms_page(request)


@require_POST
@role_required(*ADMIN_ROLES)
def implementation_choose(request, task):
    algorithm = _task_or_404(task)
    tenant = request.tenant
    form = ImplementationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an implementation."))
        return _algorithms_page(request, status=400, refused_task=task, implementation_form=form)
    implementation = form.cleaned_data["implementation"]
    try:
        setting_set(key=algorithm.setting_key, value=implementation, actor=request.user, role=tenant.role,
                    hospital_id=tenant.hospital_id)
    except DomainError as error:
        messages.error(request, error.message)
        return _algorithms_page(request, status=error.status_code, refused_task=task, implementation_form=form)
    messages.success(request, _("%(task)s now uses %(implementation)s at this hospital.")
                     % {"task": task, "implementation": algorithm.implementations.get(implementation, implementation)})
    return _back_to_task(task)


@require_POST
@role_required(*ADMIN_ROLES)
def model_activate_view(request, task):
    _task_or_404(task)
    tenant = request.tenant
    form = ModelActivateForm(request.POST, artifacts=model_artifacts(task=task), prefix_id=task)
    if not form.is_valid():
        messages.error(request, _("Choose a registered model and whether it serves or runs in shadow."))
        return _algorithms_page(request, status=400, refused_task=task, activate_form=form)
    try:
        deployment = model_activate(task=task, artifact_id=form.cleaned_data["artifact"],
                                    hospital_id=tenant.hospital_id, mode=form.cleaned_data["mode"],
                                    actor=request.user, role=tenant.role)
    except DomainError as error:
        messages.error(request, error.message)
        return _algorithms_page(request, status=error.status_code, refused_task=task, activate_form=form)
    values = {"model": deployment.artifact, "task": task}
    if deployment.mode == ModelDeployment.Mode.SHADOW:
        messages.success(request, _("%(model)s now runs in shadow for %(task)s at this hospital.") % values)
    else:
        messages.success(request, _("%(model)s now serves %(task)s at this hospital.") % values)
    return _back_to_task(task)


@require_POST
@role_required(*ADMIN_ROLES)
def model_rollback_view(request, task):
    _task_or_404(task)
    tenant = request.tenant
    try:
        deployment = model_rollback(task=task, hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role)
    except DomainError as error:
        messages.error(request, error.message)
        return _algorithms_page(request, status=error.status_code)
    messages.success(request, _("%(task)s is back on %(model)s.") % {"task": task, "model": deployment.artifact})
    return _back_to_task(task)


@require_POST
@role_required(*ADMIN_ROLES)
def shadow_stop_view(request, task):
    _task_or_404(task)
    tenant = request.tenant
    try:
        stopped = model_shadow_stop(task=task, hospital_id=tenant.hospital_id, actor=request.user, role=tenant.role)
    except DomainError as error:
        messages.error(request, error.message)
        return _algorithms_page(request, status=error.status_code)
    if stopped:
        messages.success(request, _("The shadow run for %(task)s has stopped.") % {"task": task})
    else:
        messages.info(request, _("No shadow model was running for %(task)s.") % {"task": task})
    return _back_to_task(task)


# --- periodic jobs (platform administrators) -------------------------------------------


@require_GET
@role_required(Role.PLATFORM_ADMIN)
def periodic_list(request):
    return render(request, "configuration/periodic_list.html", {"jobs": periodic_task_list()})


@require_http_methods(["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def periodic_edit(request, task_id=None):
    """Create (no task_id) or change a periodic job."""
    job = None
    if task_id is not None:
        job = periodic_task_list().filter(pk=task_id).first()
        if job is None:
            raise Http404
    creating = job is None
    status = 200
    if request.method == "POST":
        form = PeriodicTaskForm(request.POST, creating=creating)
        status = 400
        if form.is_valid():
            try:
                saved = periodic_task_save(actor=request.user, role=request.tenant.role, task_id=task_id,
                                           **form.service_arguments())
            except DomainError as error:
                form.add_service_error(error)
                status = error.status_code
            else:
                messages.success(request, _("Periodic job %(name)s saved.") % {"name": saved.name})
                return redirect("configuration_web:periodic")
    else:
        form = PeriodicTaskForm(creating=creating, initial=None if creating else PeriodicTaskForm.initial_for(job))
    return render(request, "configuration/periodic_form.html", {"form": form, "job": job}, status=status)


# --- monitoring -------------------------------------------------------------------------


def _monitoring_context(request) -> dict:
    from .monitoring.collectors import monitoring_snapshot

    tenant = request.tenant
    failures_of = None if tenant.role == Role.PLATFORM_ADMIN else tenant.hospital_id
    return {"snapshot": monitoring_snapshot(failures_of_hospital=failures_of)}


@require_GET
@role_required(*ADMIN_ROLES)
def monitoring_page(request):
    """System health: dependencies, queues, workers, tasks, failures, model latency,
    WebSocket connections and alerts. The panel refreshes itself every 10 s."""
    return render(request, "configuration/monitoring.html", _monitoring_context(request))


@require_GET
@never_cache
@role_required(*ADMIN_ROLES)
def monitoring_panel(request):
    return render(request, "configuration/monitoring_panel.html", _monitoring_context(request))
