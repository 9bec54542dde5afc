"""Import the rare-disease catalogue:

    python manage.py import_rare_catalogue /work/shared/data/rare

ICD-10 codes come from `icd10.json` in the folder when present, else from the PyCMeKG
knowledge graph (loaded with the restricted unpickler); `--no-knowledge-graph` skips it."""

from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import DomainError
from apps.rarecases.catalogue import catalogue_import
from apps.rarecases.knowledge import knowledge_graph


class Command(BaseCommand):
    help = "Import China's national rare-disease list and the Chinese Orphanet names (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("folder")
        parser.add_argument("--no-knowledge-graph", action="store_true",
                            help="Do not take ICD-10 codes from the PyCMeKG knowledge graph.")

    def handle(self, *args, folder, no_knowledge_graph=False, **options):
        graph = None if no_knowledge_graph else knowledge_graph()
        try:
            result = catalogue_import(folder=folder, graph=graph)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}; "
                          f"{result.with_icd10} entries with ICD-10 codes (from {result.icd10_source})")
