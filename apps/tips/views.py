"""Web admin pages for health tips: the list and the editor (with image upload).
The editor posts to the same services as the API, so the HTML is sanitised and the
image resized the same way; a refusal comes back with the form as typed."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from apps.configuration.views import role_required
from apps.core.exceptions import DomainError

from . import selectors, services
from .forms import TipForm
from .models import Tip


@require_GET
@role_required(*selectors.EDITORS)
def tip_list(request):
    category = request.GET.get("category") or None
    if category not in Tip.Category.values:
        category = None
    tips = selectors.tips_for(tenant=request.tenant, category=category)[:500]
    return render(request, "tips/list.html", {"tips": tips, "categories": Tip.Category.choices, "category": category})


@require_http_methods(["GET", "POST"])
@role_required(*selectors.EDITORS)
def tip_edit(request, tip_id: int | None = None):
    tip = None
    if tip_id is not None:
        tip = Tip.objects.filter(pk=tip_id).first()
        if tip is None:
            raise Http404
    status = 200
    if request.method == "POST":
        form = TipForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            values = {key: form.cleaned_data[key] for key in ("title", "category", "summary", "body_html", "published")}
            try:
                with transaction.atomic():  # an image refused or text refused: neither is stored
                    upload = form.cleaned_data.get("image")
                    if upload:
                        image = services.tip_image_upload(hospital_id=request.tenant.hospital_id, actor=request.user,
                                                          role=request.tenant.role, upload=upload)
                        values["body_html"] += f'<p><img src="{escape(image.file.url)}" alt="{escape(values["title"])}"></p>'
                    saved = services.tip_save(tip=tip, hospital_id=request.tenant.hospital_id, actor=request.user,
                                              role=request.tenant.role, **values)
            except DomainError as error:
                form.add_service_error(error)
                status = error.status_code
            else:
                messages.success(request, _("Tip “%(title)s” saved.") % {"title": saved.title})
                return redirect("tips_web:edit", tip_id=saved.pk)
    else:
        initial = ({"title": tip.title, "category": tip.category, "summary": tip.summary, "body_html": tip.body_html,
                    "published": tip.published} if tip else {})
        form = TipForm(initial=initial)
    return render(request, "tips/edit.html", {"form": form, "tip": tip}, status=status)
