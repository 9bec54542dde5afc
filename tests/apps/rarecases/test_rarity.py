"""Step 2: incidence per ICD-10 code over every hospital, rare codes kept, ordered,
categorised, rated for heat, matched against the catalogue, and cases registered per
hospital, idempotently; the cross-tenant step is audited and returns counts only."""

import datetime

import pytest
from django.utils import timezone

from apps.configuration.services import setting_set
from apps.privacy.models import AuditEvent
from apps.rarecases.catalogue import catalogue_import
from apps.rarecases.knowledge import load_knowledge_graph
from apps.rarecases.models import RareCase, RarityAnalysis
from apps.rarecases.rarity import rarity_analyse
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role

from .conftest import FIXTURES, add_diagnoses

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(hospital_a, hospital_b, knowledge_file):
    """Hospital A: 20 patients with a cold, 3 with type 2 diabetes, one with Gaucher
    disease (on the catalogue); hospital B: 20 with a cold, one with Marfan syndrome
    (diagnosed twice), one with a cold long ago (outside the window)."""
    catalogue_import(folder=FIXTURES, graph=load_knowledge_graph(knowledge_file))
    add_diagnoses(hospital_a, [(f"a{i}", "J06.9", "急性上呼吸道感染") for i in range(20)]
                  + [(f"a{i}", "E11.9", "2型糖尿病") for i in range(3)] + [("g", "E75.2", "戈谢病")])
    add_diagnoses(hospital_b, [(f"b{i}", "J06.9", "急性上呼吸道感染") for i in range(20)]
                  + [("m", "Q87.4", "马方综合征"), ("m", "Q87.4", "马方综合征")])
    add_diagnoses(hospital_b, [("old", "Q99.9", "染色体异常")], when=timezone.now() - datetime.timedelta(days=800))
    setting_set(key="rarecases.incidence_rate", value=0.03, actor=None, role=Role.PLATFORM_ADMIN, hospital_id=None)
    return hospital_a, hospital_b


def test_the_analysis_keeps_codes_at_or_below_the_rate_ordered_by_incidence(platform):
    hospital_a, hospital_b = platform

    analysis = rarity_analyse()

    assert analysis.status == "done" and analysis.total_patients == 42 and analysis.codes_seen == 4
    codes = list(analysis.codes.values_list("icd10_code", "patients", "hospitals", "below_rate"))
    # 1/42 = 0.024 <= 0.03 (Gaucher, Marfan); diabetes 3/42 = 0.071 is not rare; Q99.9 is outside the window
    assert codes == [("E75.2", 1, 1, True), ("Q87.4", 1, 1, True)]
    gaucher = analysis.codes.get(icd10_code="E75.2")
    assert gaucher.category == "E00-E90 内分泌、营养和代谢疾病" and gaucher.catalogue_entry.code == "CCRD:31"
    assert gaucher.incidence == pytest.approx(1 / 42)
    assert 0.5 < gaucher.rare_feature < 1  # every diagnosis is recent: a growing field
    assert analysis.cases_registered == 2 and analysis.codes_rare == 2 and analysis.catalogue_matches == 2
    # per category: distinct patients (the three diabetics and the Gaucher patient), rarest first
    categories = {row["category"][:7]: row for row in analysis.categories}
    assert [row["category"][:7] for row in analysis.categories] == ["Q00-Q99", "E00-E90", "J00-J99"]
    assert categories["E00-E90"]["patients"] == 4 and categories["E00-E90"]["incidence"] == pytest.approx(4 / 42, 1e-4)
    assert categories["J00-J99"]["patients"] == 40


def test_each_hospital_registers_only_its_own_cases_once_per_patient_and_code(platform):
    hospital_a, hospital_b = platform

    rarity_analyse()

    with tenant_context(hospital_a.pk):
        cases_a = list(RareCase.objects.all())
    with tenant_context(hospital_b.pk):
        cases_b = list(RareCase.objects.all())
    assert [(c.icd10_code, c.diagnosis_text, c.status) for c in cases_a] == [("E75.2", "戈谢病", "registered")]
    assert [c.icd10_code for c in cases_b] == ["Q87.4"]  # two diagnoses, one case
    assert cases_a[0].catalogue_entry.name_zh == "戈谢病" and cases_a[0].category.startswith("E00-E90")


def test_a_second_run_registers_nothing_new_and_refreshes_the_figures(platform):
    hospital_a, _hospital_b = platform
    rarity_analyse()
    add_diagnoses(hospital_a, [(f"n{i}", "J06.9", "急性上呼吸道感染") for i in range(8)])

    second = rarity_analyse()

    assert second.cases_registered == 0 and second.cases_updated == 2
    with tenant_context(hospital_a.pk):
        case = RareCase.objects.get()
    assert case.incidence == pytest.approx(1 / 50) and case.analysis_id == second.pk


def test_the_platform_wide_step_is_audited_and_a_raised_rate_registers_more(platform):
    hospital_a, _hospital_b = platform
    setting_set(key="rarecases.incidence_rate", value=0.1, actor=None, role=Role.PLATFORM_ADMIN, hospital_id=None)

    analysis = rarity_analyse()

    assert [c.icd10_code for c in analysis.codes.all()] == ["E75.2", "Q87.4", "E11.9"]
    assert analysis.cases_registered == 5
    unscoped = AuditEvent.objects.filter(action="tenancy.unscoped").order_by("-occurred_at").first()
    assert "rarity analysis" in unscoped.detail["reason"]
    assert AuditEvent.objects.filter(action="rarecases.rarity_analyse", object_id=str(analysis.pk)).exists()
    assert AuditEvent.objects.filter(action="rarecases.cases_register", hospital_id=hospital_a.pk).exists()


def test_an_empty_platform_gives_an_empty_analysis(db):
    analysis = rarity_analyse()
    assert (analysis.status, analysis.total_patients, analysis.codes.count()) == (RarityAnalysis.Status.DONE, 0, 0)
