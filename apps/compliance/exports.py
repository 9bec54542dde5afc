"""CSV exports of audit events with a signed manifest, manifest verification, and
chain verification for one hospital.

The manifest holds the file's SHA-256, the filters, the row count and every chain
head of the hospital at export time (sequence and hash), and is signed with
HMAC-SHA256 under a key derived from the key ring (keys.py). Verifying a manifest
checks, in order: the signature (a forged or edited manifest fails here), that the
platform issued it (the export row), the file's hash when the file is given, and
that each chain still holds, at the recorded sequence, the recorded hash (a chain
rewritten after the export fails here, even by someone holding the audit key).
"""

import csv
import hashlib
import hmac
import io
import json

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import DomainError
from apps.privacy.chain import chain_owner
from apps.privacy.models import AuditChainHead, AuditEvent
from apps.privacy.selectors import audit_chain_verify
from apps.privacy.services import audit_record
from apps.tenancy.context import current_hospital_id

from .keys import derived_key
from .models import AuditExport
from .selectors import EventFilters, audit_events_search

CSV_COLUMNS = ("id", "chain", "sequence", "occurred_at", "actor_id", "actor_username", "role", "action",
               "object_type", "object_id", "patient_id", "ip", "request_id", "outcome", "detail", "hash")
MANIFEST_VERSION = 1


class ManifestError(DomainError):
    code = "manifest_invalid"


def hospital_chains(hospital_id: int) -> list[AuditChainHead]:
    owner = f"hospital:{hospital_id}"
    return [head for head in AuditChainHead.objects.filter(chain__startswith=owner + "/").order_by("chain")
            if chain_owner(head.chain) == owner]


def _canonical(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_sign(manifest: dict) -> str:
    _key_id, key = derived_key("manifest", key_id=manifest["key_id"] if manifest["key_id"] != "settings" else None)
    return hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()


def audit_export_create(*, filters: EventFilters, actor, role: str) -> tuple[bytes, AuditExport]:
    """The CSV bytes of the filtered events (oldest first) and the stored, signed manifest."""
    hospital_id = current_hospital_id()
    limit = setting_value("compliance.export_max_rows")
    queryset = audit_events_search(filters=filters).order_by("occurred_at", "chain", "sequence")
    count = queryset.count()
    if count > limit:
        raise DomainError(_("The export would hold %(count)s events; narrow the filters to at most %(limit)s.")
                          % {"count": count, "limit": limit}, code="export_too_large")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in queryset.iterator(chunk_size=2000):
        writer.writerow([event.pk, event.chain, event.sequence, event.occurred_at.isoformat(timespec="microseconds"),
                         event.actor_id or "", event.actor_username, event.role, event.action, event.object_type,
                         event.object_id, event.patient_id or "", event.ip or "", event.request_id, event.outcome,
                         json.dumps(event.detail, sort_keys=True, ensure_ascii=False), event.hash])
    content = buffer.getvalue().encode("utf-8")
    with transaction.atomic():
        heads = {h.chain: {"sequence": h.sequence, "hash": h.hash} for h in hospital_chains(hospital_id)}
        key_id, _key = derived_key("manifest")
        manifest = {"version": MANIFEST_VERSION, "hospital_id": hospital_id, "created_at": timezone.now().isoformat(),
                    "created_by": getattr(actor, "pk", None), "filters": filters.as_dict(), "row_count": count,
                    "file_sha256": hashlib.sha256(content).hexdigest(), "chain_heads": heads, "key_id": key_id}
        export = AuditExport.objects.create(hospital_id=hospital_id, created_by=actor if getattr(actor, "pk", None)
                                            else None, filters=manifest["filters"], row_count=count,
                                            file_sha256=manifest["file_sha256"], manifest=manifest, signature="")
        manifest["export_id"] = export.pk
        manifest["signature"] = manifest_sign(manifest)
        export.manifest, export.signature = manifest, manifest["signature"]
        export.save(update_fields=["manifest", "signature"])
        audit_record(action="compliance.audit_events_exported", actor=actor, role=role, object_type="audit_export",
                     object_id=export.pk, detail={"rows": count, "filters": manifest["filters"],
                                                  "file_sha256": manifest["file_sha256"]})
    return content, export


def manifest_verify(*, manifest, content: bytes | None = None, actor=None, role: str = "") -> dict:
    """Check a manifest (and its file, when given). Returns a report; raises
    ManifestError with a specific code when the manifest is forged, foreign, or does
    not match the file or the chains. Every check, passed or failed, is audited."""
    try:
        report = _verify(manifest, content)
    except ManifestError as error:
        audit_record(action="compliance.manifest_verified", actor=actor, role=role, outcome="invalid",
                     object_type="audit_export", object_id=_export_id(manifest),
                     detail={"code": error.code, "reason": error.message})
        raise
    audit_record(action="compliance.manifest_verified", actor=actor, role=role, object_type="audit_export",
                 object_id=report["export_id"], detail={"chains_checked": report["chains_checked"],
                                                        "file_checked": report["file_checked"]})
    return report


def _export_id(manifest) -> str:
    return str(manifest.get("export_id", ""))[:64] if isinstance(manifest, dict) else ""


def _verify(manifest, content):
    if not isinstance(manifest, dict) or not isinstance(manifest.get("signature"), str) or "key_id" not in manifest:
        raise ManifestError(_("This is not an export manifest."), code="manifest_malformed")
    try:
        expected = manifest_sign(manifest)
    except (KeyError, TypeError, ValueError):
        raise ManifestError(_("The manifest was signed with a key this platform does not hold."),
                            code="manifest_key_unknown") from None
    if not hmac.compare_digest(expected, manifest["signature"]):
        raise ManifestError(_("The manifest's signature does not match its content: it was forged or edited."),
                            code="manifest_signature_invalid")
    if manifest.get("hospital_id") != current_hospital_id():
        raise ManifestError(_("The manifest belongs to another hospital."), code="manifest_other_hospital")
    export = AuditExport.objects.filter(pk=manifest.get("export_id")).first()
    if export is None or export.signature != manifest["signature"]:
        raise ManifestError(_("This platform has no record of issuing the manifest."), code="manifest_unknown")
    file_checked = content is not None
    if file_checked and hashlib.sha256(content).hexdigest() != manifest["file_sha256"]:
        raise ManifestError(_("The file does not match the manifest: it was changed after the export."),
                            code="manifest_file_mismatch")
    for chain, head in manifest["chain_heads"].items():
        if head["sequence"] == 0:
            continue
        event = AuditEvent.objects.filter(chain=chain, sequence=head["sequence"]).only("hash").first()
        if event is None or event.hash != head["hash"]:
            raise ManifestError(_("Chain %(chain)s no longer holds the event recorded at export: the audit log was "
                                  "rewritten after the export.") % {"chain": chain}, code="manifest_chain_mismatch",
                                fields={"chain": [chain]})
    return {"ok": True, "export_id": export.pk, "row_count": manifest["row_count"], "file_checked": file_checked,
            "chains_checked": len(manifest["chain_heads"])}


def hospital_chains_verify(*, actor=None, role: str = "") -> list[dict]:
    """Verify every chain of the current hospital; the result is audited."""
    hospital_id = current_hospital_id()
    results = []
    for head in hospital_chains(hospital_id):
        result = audit_chain_verify(chain=head.chain)
        results.append({"chain": result.chain, "ok": result.ok, "events_checked": result.events_checked,
                        "broken_sequence": result.broken_sequence,
                        "broken_event_id": str(result.broken_event_id) if result.broken_event_id else None,
                        "reason": result.reason})
    audit_record(action="compliance.chains_verified", actor=actor, role=role,
                 outcome="success" if all(r["ok"] for r in results) else "invalid",
                 detail={"chains": len(results), "broken": [r["chain"] for r in results if not r["ok"]]})
    return results
