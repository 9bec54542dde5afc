import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.compliance.exports import ManifestError, manifest_verify
from apps.tenancy.context import tenant_context

from ._hospital import hospital_by_slug


class Command(BaseCommand):
    help = ("Verify an audit export manifest (signature, issuance, the CSV's hash with --file, and that the chains "
            "still hold the heads recorded at export). Exits non-zero on any mismatch.")

    def add_arguments(self, parser):
        parser.add_argument("manifest", help="path to the manifest JSON")
        parser.add_argument("--file", help="path to the exported CSV")
        parser.add_argument("--hospital", required=True, help="hospital slug")

    def handle(self, *args, manifest, file=None, hospital, **options):
        hospital = hospital_by_slug(hospital)
        try:
            data = json.loads(Path(manifest).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the manifest: {error}") from None
        content = Path(file).read_bytes() if file else None
        try:
            with tenant_context(hospital.pk):
                report = manifest_verify(manifest=data, content=content)
        except ManifestError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        self.stdout.write(f"OK  export {report['export_id']}: signature valid, {report['row_count']} rows, "
                          f"file {'matches' if report['file_checked'] else 'not given'}, "
                          f"{report['chains_checked']} chain heads still in place")
