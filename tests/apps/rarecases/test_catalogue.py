"""Importing the catalogue from the fixture files, with ICD-10 codes from a small
knowledge graph or from icd10.json; the restricted unpickler."""

import json
import pickle
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.privacy.models import AuditEvent
from apps.rarecases.catalogue import catalogue_import
from apps.rarecases.knowledge import KnowledgeGraphUnavailable, load_knowledge_graph
from apps.rarecases.models import RareDisease

from .conftest import FIXTURES

pytestmark = pytest.mark.django_db


def test_import_reads_the_national_list_with_subtypes_maps_and_orphanet_names(knowledge_file):
    out = StringIO()
    call_command("import_rare_catalogue", str(FIXTURES), stdout=out)

    assert "created 9" in out.getvalue()
    subtype = RareDisease.objects.get(source="ccrd", code="CCRD:9.1")
    assert subtype.parent_code == "CCRD:9" and subtype.name_zh == "抗 NMDAR 脑炎"
    gaucher = RareDisease.objects.get(source="ccrd", code="CCRD:31")
    assert gaucher.name_en == "Gaucher disease" and gaucher.aliases == ["GD"]
    assert gaucher.icd10_codes == ["E75.2"]  # from the knowledge graph, by name
    assert gaucher.cross_references["orpha"] == [{"code": "ORPHA:355", "relation": "E"}]
    assert [ref["code"] for ref in gaucher.cross_references["omim"]] == ["OMIM:230800", "OMIM:230900"]
    assert gaucher.phenotypes == ["HP:0001744", "HP:0002240"]
    orphanet = RareDisease.objects.get(source="orphanet", code="ORPHA:355")
    assert orphanet.icd10_codes == ["E75.2"] and orphanet.cross_references == {
        "ccrd": [{"code": "CCRD:31", "relation": "E"}]}
    assert RareDisease.objects.get(code="ORPHA:558").icd10_codes == ["Q87.4"]  # Marfan, by its Chinese name
    assert AuditEvent.objects.filter(action="rarecases.catalogue_import").count() == 1


def test_a_second_import_changes_nothing_and_a_changed_file_updates_its_rows(knowledge_file, tmp_path):
    folder = tmp_path / "rare"
    shutil.copytree(FIXTURES, folder)
    first = catalogue_import(folder=folder, graph=load_knowledge_graph(knowledge_file))
    again = catalogue_import(folder=folder, graph=load_knowledge_graph(knowledge_file))
    assert (first.created, again.created, again.updated, again.unchanged) == (9, 0, 0, 9)

    (folder / "icd10.json").write_text(json.dumps({"CCRD:36": ["d66"], "CCRD:9.1": ["G04.8", "not a code"]}))
    changed = catalogue_import(folder=folder, graph=None)
    assert changed.icd10_source == "file" and changed.created == 0
    assert RareDisease.objects.get(code="CCRD:9.1").icd10_codes == ["G04.8"]
    assert RareDisease.objects.get(code="CCRD:36").icd10_codes == ["D66"]
    assert RareDisease.objects.get(code="CCRD:31").icd10_codes == []  # the file is the source now
    assert RareDisease.objects.count() == 9


def test_a_folder_without_the_list_is_refused_and_nothing_is_written(tmp_path):
    (tmp_path / "conpendium_hpo.json").write_text("{not json")
    with pytest.raises(CommandError, match="JSON"):
        call_command("import_rare_catalogue", str(tmp_path), "--no-knowledge-graph")
    with pytest.raises(CommandError, match="not a folder|不是文件夹"):
        call_command("import_rare_catalogue", str(tmp_path / "missing"), "--no-knowledge-graph")
    assert RareDisease.objects.count() == 0


class _Boom:
    def __reduce__(self):
        return (print, ("executed",))


def test_the_knowledge_graph_loader_refuses_anything_but_plain_builtins(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"戈谢病": {"ICD10": [_Boom()]}}))
    with pytest.raises(KnowledgeGraphUnavailable, match="plain built-in types"):
        load_knowledge_graph(path)


def test_the_installed_pycmekg_graph_loads_through_the_restricted_unpickler():
    pytest.importorskip("pyCMeKG")
    from apps.rarecases.knowledge import default_path

    graph = load_knowledge_graph(default_path())
    assert len(graph) > 5000  # disease entries only
    assert graph.by_name("戈谢病").icd10_codes == ["E75.2"]
    assert any(entry.subject == "戈谢病" for entry in graph.by_code("E75.2"))
    assert graph.by_name("龟鹿益肾胶囊") is None  # a drug, not kept
