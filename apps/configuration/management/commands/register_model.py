"""Register a trained artifact, e.g. at the end of a training run:

    python manage.py register_model ner bilstm-crf 2026.11.1 ner/bilstm-crf-2026.11.1 \
        --metrics metrics.json --training-data "CCKS 2019, 700 records" --card MODEL_CARD.md
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.configuration.model_services import model_register
from apps.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Register a trained model artifact (under MODEL_STORAGE_ROOT) in the model registry."

    def add_arguments(self, parser):
        parser.add_argument("task")
        parser.add_argument("name")
        parser.add_argument("version")
        parser.add_argument("path", help="Relative to MODEL_STORAGE_ROOT, or absolute inside it.")
        parser.add_argument("--metrics", help="A JSON file of evaluation metrics.")
        parser.add_argument("--training-data", default="", help="What the model was trained on.")
        parser.add_argument("--card", help="The model card (Markdown or JSON file).")
        parser.add_argument("--expected-checksum", default="")

    def handle(self, *args, task, name, version, path, metrics=None, training_data="", card=None,
               expected_checksum="", **options):
        try:
            artifact = model_register(
                task=task, name=name, version=version, path=path,
                metrics=json.loads(Path(metrics).read_text()) if metrics else {},
                training_data=training_data, model_card=Path(card).read_text() if card else "",
                expected_checksum=expected_checksum)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Registered {artifact} (id {artifact.pk}, sha256 {artifact.checksum_sha256}).")
