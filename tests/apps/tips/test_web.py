"""The tips editor in the web admin: saving sanitises and tags, a script or a huge
image is refused with the form kept, and nothing is stored."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.tenancy.context import tenant_context
from apps.tips.models import Tip, TipImage

from .conftest import png_bytes


@pytest.fixture
def editor_web(client, editor_a):
    client.force_login(editor_a)
    return client


def _form(**overrides):
    return {"title": "贫血的饮食", "category": "diet", "summary": "", "published": "on",
            "body_html": "<p>缺铁性贫血可多吃红肉，必要时服用铁剂。</p>", **overrides}


def test_saving_a_tip_with_an_image(editor_web, hospital_a):
    upload = SimpleUploadedFile("a.png", png_bytes(1600, 900), content_type="image/png")

    response = editor_web.post(reverse("tips_web:new"), {**_form(), "image": upload})

    assert response.status_code == 302
    with tenant_context(hospital_a.pk):
        tip, image = Tip.objects.get(), TipImage.objects.get()
    assert tip.tag_names == ["贫血", "铁剂"]
    assert f'<img src="{image.file.url}"' in tip.body_html
    page = editor_web.get(response["Location"]).content.decode()
    assert 'data-testid="tip-preview"' in page and "贫血" in page


def test_a_script_is_refused_with_the_form_kept(editor_web, hospital_a):
    response = editor_web.post(reverse("tips_web:new"), _form(body_html="<p>x</p><script>alert(1)</script>"))

    assert response.status_code == 400
    assert 'data-testid="error-body_html"' in response.content.decode()
    assert "贫血的饮食" in response.content.decode()
    with tenant_context(hospital_a.pk):
        assert Tip.objects.count() == 0


def test_a_huge_image_stores_neither_image_nor_tip(editor_web, hospital_a):
    upload = SimpleUploadedFile("huge.jpg", b"\0" * (40 * 1024 * 1024), content_type="image/jpeg")

    response = editor_web.post(reverse("tips_web:new"), {**_form(), "image": upload})

    assert response.status_code == 413
    with tenant_context(hospital_a.pk):
        assert (Tip.objects.count(), TipImage.objects.count()) == (0, 0)


def test_the_list_shows_tags(editor_web, hospital_a):
    editor_web.post(reverse("tips_web:new"), _form())
    page = editor_web.get(reverse("tips_web:list")).content.decode()
    assert "贫血的饮食" in page and ">贫血<" in page


def test_patients_cannot_open_the_editor(client, patient_a):
    client.force_login(patient_a.user)
    assert client.get(reverse("tips_web:new")).status_code == 403
