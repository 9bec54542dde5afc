"""The feature tags and the matching rule of step 7 (pure functions)."""

import pytest

from apps.partners.feature_tags import FeatureTag, case_matches_tag, categories_to_send, tags_can_talk


def tag(focus, categories=("condition", "observation"), protocols=("hp-share/1",)):
    return FeatureTag.build(protocols=protocols, research_focus=focus, data_categories=categories)


def test_a_tag_is_built_from_its_attributes_into_canonical_text():
    built = tag(["e75.2", " G71 ", "E70-E90", "Metabolic", "*", "G71"], categories=["observation", "condition", "x"])
    assert built.research_focus == ("E752", "G71", "E70-E90", "metabolic", "*")
    assert built.data_categories == ("condition", "observation")  # unknown dropped, fixed order
    assert built.text == "protocols=hp-share/1;fhir=4.3;focus=E752,G71,E70-E90,metabolic,*;data=condition,observation"


@pytest.mark.parametrize("focus, code, category, codes, expected", [
    (["E75"], "E75.22", "", [], ["icd10:E75"]),                    # prefix of the case's code
    (["E75.2"], "E75.22", "", [], ["icd10:E752"]),                 # dotted prefix
    (["E76"], "E75.2", "", [], []),
    (["E70-E90"], "E75.2", "", [], ["range:E70-E90"]),             # an ICD-10 block
    (["E70-E74"], "E75.2", "", [], []),
    (["G71"], "E75.2", "", ["G71.0"], ["icd10:G71"]),               # a code of the retrieval feature
    (["Lysosomal storage"], "E75.2", "lysosomal STORAGE", [], ["category:lysosomal storage"]),
    (["eye"], "E75.2", "", [], []),                                 # a word, not an ICD prefix
    (["*"], "Q87.4", "", [], ["focus:*"]),
])
def test_a_case_matches_a_tag_by_code_prefix_range_feature_code_or_category(focus, code, category, codes, expected):
    assert case_matches_tag(tag(focus), icd10_code=code, category=category,
                            retrieval_feature={"codes": codes}) == expected


def test_a_broken_retrieval_feature_matches_on_the_case_code_alone():
    assert case_matches_tag(tag(["E75"]), icd10_code="E75.2", category="", retrieval_feature="not a dict") \
        == ["icd10:E75"]


def test_partners_talk_when_they_share_a_protocol_and_accept_the_diagnosis():
    ours = tag(["*"])
    assert tags_can_talk(ours, tag(["E75"]))
    assert not tags_can_talk(ours, tag(["E75"], protocols=("other/2",)))
    assert not tags_can_talk(ours, tag(["E75"], categories=("observation",)))


def test_a_share_carries_only_what_the_partner_accepts():
    assert categories_to_send(tag(["*"], categories=("condition", "diagnostic_report"))) == \
        ["condition", "diagnostic_report"]
