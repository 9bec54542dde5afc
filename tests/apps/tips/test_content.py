"""Tip content: HTML refused with scripts and otherwise sanitised by nh3, images
resized and compressed by Pillow, tags found by jieba with the medical dictionary."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tips.models import Tip, TipImage, TipTag
from apps.tips.sanitise import sanitise
from apps.tips.tagging import tags_for_drug, tags_for_icd10, tags_for_indicator, tip_tags

from .conftest import png_bytes

TIPS = "/api/v1/tips/"
BODY = "<p>高血压患者应每天监测<strong>血压</strong>，按时服用氨氯地平。</p>"


def test_staff_write_a_tip_and_its_tags_come_from_the_text(editor_client, hospital_a):
    response = editor_client.post(TIPS, {"title": "高血压的日常管理", "category": "prevention", "body_html": BODY,
                                         "published": True}, format="json")

    assert response.status_code == 201, response.json()
    assert [entry["tag"] for entry in response.json()["tags"]] == ["高血压", "血压", "钙通道阻滞剂"]
    with tenant_context(hospital_a.pk):
        assert set(TipTag.objects.values_list("tag", flat=True)) == {"高血压", "血压", "钙通道阻滞剂"}
        assert AuditEvent.objects.filter(action="tip.create").count() == 1


@pytest.mark.parametrize("body", [
    "<p>好</p><script>alert(1)</script>",
    '<p onclick="steal()">点我</p>',
    '<a href="javascript:alert(1)">链接</a>',
    '<a href=" JaVaScRiPt:alert(1)">链接</a>',
    '<img src="x" onerror="alert(1)">',
    "<iframe src='https://evil.example'></iframe>",
    "<svg><script>alert(1)</script></svg>",
])
def test_active_content_is_refused_and_nothing_is_stored(editor_client, hospital_a, body):
    response = editor_client.post(TIPS, {"title": "注意", "category": "diet", "body_html": body}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsafe_html"
    with tenant_context(hospital_a.pk):
        assert Tip.objects.count() == 0


def test_other_markup_is_cleaned_not_refused():
    cleaned = sanitise('<div class="x" style="color:red"><p>饮食<font>清淡</font></p>'
                       '<a href="https://example.org/a">参考</a><!-- note --></div>')
    assert cleaned == ('<p>饮食清淡</p><a href="https://example.org/a" rel="noopener noreferrer nofollow">参考</a>')


def test_patients_cannot_write_tips(patient_a):
    response = patient_a.client.post(TIPS, {"title": "x", "category": "diet", "body_html": "<p>x</p>"}, format="json")
    assert response.status_code == 403


def test_an_image_is_resized_and_compressed(editor_client, hospital_a):
    # Given a 3000x2000 PNG with transparency
    upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")

    # When it is uploaded
    response = editor_client.post(f"{TIPS}images/", {"image": upload}, format="multipart")

    # Then it is stored as a JPEG at most 1280 px wide
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["width"], body["height"]) == (1280, 853)
    with tenant_context(hospital_a.pk):
        image = TipImage.objects.get()
        stored = Image.open(io.BytesIO(image.file.read()))
    assert stored.format == "JPEG" and stored.size == (1280, 853)
    assert image.bytes < image.original_bytes


def test_a_40_megabyte_image_is_refused_before_it_is_read(editor_client, hospital_a):
    upload = SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"\0" * (40 * 1024 * 1024), content_type="image/jpeg")

    response = editor_client.post(f"{TIPS}images/", {"image": upload}, format="multipart")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"
    with tenant_context(hospital_a.pk):
        assert TipImage.objects.count() == 0


def test_a_file_that_is_not_an_image_is_refused(editor_client, hospital_a):
    upload = SimpleUploadedFile("notes.png", b"%PDF-1.4 not an image", content_type="image/png")

    response = editor_client.post(f"{TIPS}images/", {"image": upload}, format="multipart")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "unsupported_image")
    with tenant_context(hospital_a.pk):
        assert TipImage.objects.count() == 0


def test_the_dictionary_maps_codes_drugs_and_synonyms():
    assert tags_for_icd10("E11.9") == ["糖尿病"]
    assert tags_for_icd10("I63.9") == ["脑卒中"]
    assert tags_for_indicator("HGB") == ["血红蛋白"]
    assert tags_for_drug("阿托伐他汀钙片") == ["他汀类", "血脂异常", "冠心病"]
    assert [entry["tag"] for entry in tip_tags(title="中风之后", body_html="<p>脑卒中康复</p>")] == ["脑卒中"]
