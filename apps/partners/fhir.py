"""The share payload: an HL7 FHIR Bundle built with `fhir.resources`, and the check
an inbound one must pass.

Outbound, `share_bundle_build` turns the records that `data_release` returned
(already de-identified: pseudonym, age band, generalised region, dates to the
month or year, free text masked) into a `collection` Bundle of

* Patient: the pseudonym (none when anonymised), gender, age band and region as
  extensions; no name, identifier of ours, birth date, address or contact;
* Condition: the ICD-10 code and text, category, the retrieval feature's codes
  and findings, the rarity figures, the catalogue entry;
* DiagnosticReport + Observation: the patient's recent lab reports, when the
  partner accepts them;
* Provenance: who shared it, when, under which consent policy and purpose.

Bundle.meta.security carries PSEUDED or ANONYED, so the receiver sees how it was
de-identified. Bundle.identifier is the id the partner knows the case by (the first
share's id) and Bundle.meta.versionId the version: 1 for the first share, one more
for every update of it. Every version is the whole case, never a difference.
The models are R4B (4.3.0), which `fhir.resources` ships as its R4-line release;
these five resources are the same in R4 (4.0.1).

Inbound, `share_bundle_validate` parses with the same models and then checks what
the models do not: the resource types allowed, one Patient with nothing that
identifies a person, at least one ICD-10 Condition, one Provenance, references
that stay inside the bundle, the Bundle's identifier equal to the share id, and a
version that is a positive whole number (none: 1, a bundle from before updates).
"""

import json
import re
import uuid
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from .models import DataCategory

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
SHARE_ID_SYSTEM = "urn:hp-share:share-id"
PSEUDONYM_SYSTEM = "urn:hp-share:pseudonym"
LAB_CODE_SYSTEM = "urn:hp-share:lab-code"
CATEGORY_SYSTEM = "urn:hp-share:rare-category"
EXTENSION_BASE = "urn:hp-share:extension:"
AGE_BAND_URL = EXTENSION_BASE + "age-band"
REGION_URL = EXTENSION_BASE + "region-gbt2260"
RARE_FEATURE_URL = EXTENSION_BASE + "rare-feature"
INCIDENCE_URL = EXTENSION_BASE + "incidence"
FINDING_URL = EXTENSION_BASE + "finding"
RELATED_CODE_URL = EXTENSION_BASE + "related-code"
SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATALOGUE_SYSTEMS = {"orphanet": "http://www.orpha.net", "ccrd": "urn:hp-share:ccrd"}
ALLOWED_TYPES = {"Patient", "Condition", "Observation", "DiagnosticReport", "Provenance"}
MAX_ENTRIES = 500
MAX_VERSION = 10**9
_GENDERS = {"F": "female", "M": "male", "U": "unknown"}
_ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
# Patient elements that identify a person; a share carrying any of them is refused.
_IDENTIFYING = ("name", "telecom", "address", "birthDate", "photo", "contact", "deceasedDateTime",
                "multipleBirthInteger", "link", "generalPractitioner", "managingOrganization")


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _ref(url: str) -> dict:
    return {"reference": url}


def _ext(url: str, kind: str, value) -> dict:
    return {"url": url, kind: value}


def _patient(case: dict, mode: str) -> dict:
    resource = {"resourceType": "Patient", "gender": _GENDERS.get(case.get("sex") or "U", "unknown")}
    if case.get("pseudonym"):
        resource["identifier"] = [{"system": PSEUDONYM_SYSTEM, "value": case["pseudonym"]}]
    extensions = []
    if case.get("age"):
        extensions.append(_ext(AGE_BAND_URL, "valueString", case["age"]))
    if case.get("region"):
        extensions.append(_ext(REGION_URL, "valueCode", case["region"]))
    if extensions:
        resource["extension"] = extensions
    return resource


def _condition(case: dict, patient_url: str) -> dict:
    coding = [{"system": ICD10_SYSTEM, "code": case["icd10_code"], "display": case.get("diagnosis") or None}]
    if case.get("catalogue_source") in CATALOGUE_SYSTEMS and case.get("catalogue_code"):
        coding.append({"system": CATALOGUE_SYSTEMS[case["catalogue_source"]], "code": str(case["catalogue_code"])})
    resource = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                     "condition-ver-status", "code": "confirmed"}]},
        "code": {"coding": [{k: v for k, v in c.items() if v is not None} for c in coding],
                 "text": case.get("diagnosis") or case["icd10_code"]},
        "subject": _ref(patient_url),
    }
    if case.get("category"):
        resource["category"] = [{"coding": [{"system": CATEGORY_SYSTEM, "code": str(case["category"])[:80]}]}]
    if case.get("diagnosed_at"):
        resource["recordedDate"] = case["diagnosed_at"]
    extensions = [_ext(RARE_FEATURE_URL, "valueDecimal", float(case["rare_feature"]))] \
        if case.get("rare_feature") is not None else []
    if case.get("incidence") is not None:
        extensions.append(_ext(INCIDENCE_URL, "valueDecimal", float(case["incidence"])))
    extensions += [_ext(RELATED_CODE_URL, "valueCode", code) for code in case.get("related_codes") or []]
    extensions += [_ext(FINDING_URL, "valueString", str(text)[:500]) for text in case.get("findings") or []]
    if extensions:
        resource["extension"] = extensions
    return resource


def _observation(item: dict, patient_url: str) -> dict:
    resource = {
        "resourceType": "Observation",
        "status": "final" if item.get("report_status") == "final" else "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": {"coding": [{"system": LAB_CODE_SYSTEM, "code": item["code"]}],
                 "text": item.get("item_name") or item["code"]},
        "subject": _ref(patient_url),
    }
    if item.get("collected_at"):
        resource["effectiveDateTime"] = item["collected_at"]
    if item.get("value") is not None:
        quantity = {"value": float(item["value"])}
        if item.get("unit"):
            quantity["unit"] = item["unit"]
        resource["valueQuantity"] = quantity
    elif item.get("value_text"):
        resource["valueString"] = item["value_text"]
    if item.get("range_low") is not None or item.get("range_high") is not None:
        bounds = {}
        for key, name in (("range_low", "low"), ("range_high", "high")):
            if item.get(key) is not None:
                bounds[name] = {"value": float(item[key]), **({"unit": item["unit"]} if item.get("unit") else {})}
        resource["referenceRange"] = [bounds]
    if item.get("flag") in ("H", "L", "N"):
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": item["flag"]}]}]
    return resource


def share_bundle_build(*, records: list[dict], share_id: str, mode: str, categories: list[str],
                       platform_code: str, platform_name: str, version: int = 1) -> str:
    """The Bundle's JSON text, exactly the bytes that are signed and sent. `share_id`
    is the id the partner knows the case by, `version` which version of it this is."""
    case = next(r for r in records if r.get("record") == "case")
    case = {**case, "findings": [r["text"] for r in records if r.get("record") == "finding" and r.get("text")]}
    patient_url, condition_url = _urn(), _urn()
    entries = [{"fullUrl": patient_url, "resource": _patient(case, mode)},
               {"fullUrl": condition_url, "resource": _condition(case, patient_url)}]
    if DataCategory.OBSERVATION in categories or DataCategory.DIAGNOSTIC_REPORT in categories:
        reports: dict = {}
        for item in (r for r in records if r.get("record") == "lab_item"):
            reports.setdefault(item["report_ref"], []).append(item)
        for items in reports.values():
            observation_urls = []
            if DataCategory.OBSERVATION in categories:
                for item in items:
                    url = _urn()
                    observation_urls.append(url)
                    entries.append({"fullUrl": url, "resource": _observation(item, patient_url)})
            if DataCategory.DIAGNOSTIC_REPORT in categories:
                first = items[0]
                report = {"resourceType": "DiagnosticReport",
                          "status": "final" if first.get("report_status") == "final" else "preliminary",
                          "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                                    "code": "LAB"}]}],
                          "code": {"text": "Laboratory report"}, "subject": _ref(patient_url)}
                if first.get("collected_at"):
                    report["effectiveDateTime"] = first["collected_at"]
                if observation_urls:
                    report["result"] = [_ref(url) for url in observation_urls]
                entries.append({"fullUrl": _urn(), "resource": report})
    now = timezone.now().isoformat(timespec="seconds")
    entries.append({"fullUrl": _urn(), "resource": {
        "resourceType": "Provenance",
        "target": [_ref(entry["fullUrl"]) for entry in entries],
        "recorded": now,
        "policy": ["urn:hp-share:consent:partner_sharing"],
        "reason": [{"coding": [{"system": PURPOSE_SYSTEM, "code": "HRESCH"}], "text": "partner_sharing"}],
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                                 "code": "CREATE" if version == 1 else "UPDATE"}],
                     "text": "rare case shared with a partner platform" if version == 1
                     else "update of a rare case shared with a partner platform"},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "custodian"}]},
                   "who": {"identifier": {"system": "urn:hp-share:platform", "value": platform_code},
                           "display": platform_name or platform_code}}],
    }})
    bundle = {
        "resourceType": "Bundle",
        "meta": {"versionId": str(version),
                 "security": [{"system": SECURITY_SYSTEM, "code": "PSEUDED" if mode == "pseudonymise" else "ANONYED"}]},
        "identifier": {"system": SHARE_ID_SYSTEM, "value": share_id},
        "type": "collection",
        "timestamp": now,
        "entry": entries,
    }
    # Through the models on the way out too: what we send is what we would accept.
    return Bundle.model_validate(bundle).model_dump_json(exclude_none=True)


class BundleInvalid(Exception):
    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


@dataclass
class ReceivedCase:
    """What staff search external cases by, read from a validated bundle."""

    icd10_code: str
    version: int = 1
    diagnosis_text: str = ""
    category: str = ""
    pseudonym: str = ""
    sex: str = ""
    age_band: str = ""
    region: str = ""
    observations: int = 0
    related_codes: list = field(default_factory=list)


def _pydantic_fields(error: ValidationError) -> dict:
    fields = {}
    for detail in error.errors()[:20]:
        location = ".".join(str(part) for part in detail.get("loc", ())) or "bundle"
        fields.setdefault(location, []).append(str(detail.get("msg", ""))[:200])
    return fields


def _extension_value(resource: dict, url: str) -> str:
    for extension in resource.get("extension") or []:
        if extension.get("url") == url:
            return str(next((v for k, v in extension.items() if k.startswith("value")), ""))
    return ""


def share_bundle_validate(data, *, share_id: str) -> ReceivedCase:
    """Raise BundleInvalid (with fields) unless `data` is a share bundle we accept."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise BundleInvalid(_("The body must be a FHIR Bundle."), {"resourceType": [_("Expected Bundle.")]})
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        raise BundleInvalid(_("The Bundle has no entries."), {"entry": [_("At least one entry is required.")]})
    if len(entries) > MAX_ENTRIES:
        raise BundleInvalid(_("The Bundle has too many entries."), {"entry": [f"at most {MAX_ENTRIES}"]})
    types = [entry["resource"].get("resourceType") if isinstance(entry, dict)
             and isinstance(entry.get("resource"), dict) else None for entry in entries]
    unknown = sorted({str(t)[:40] for t in types if not isinstance(t, str) or t not in ALLOWED_TYPES})
    if unknown:
        raise BundleInvalid(_("The Bundle holds resource types a share may not carry."),
                            {"entry.resource.resourceType": unknown[:10]})
    try:
        Bundle.model_validate(data)
    except ValidationError as error:
        raise BundleInvalid(_("The Bundle is not valid FHIR."), _pydantic_fields(error)) from None
    except (KeyError, ValueError, TypeError) as error:
        raise BundleInvalid(_("The Bundle is not valid FHIR."), {"bundle": [str(error)[:200]]}) from None

    if data.get("type") != "collection":
        raise BundleInvalid(_("A share is a collection Bundle."), {"type": [_("Expected collection.")]})
    identifier = data.get("identifier") or {}
    if identifier.get("system") != SHARE_ID_SYSTEM or identifier.get("value") != share_id:
        raise BundleInvalid(_("The Bundle's identifier must be the share id sent as Idempotency-Key."),
                            {"identifier": [_("Does not match the Idempotency-Key.")]})
    version = bundle_version(data)
    resources = [entry["resource"] for entry in entries]
    full_urls = {entry.get("fullUrl") for entry in entries if entry.get("fullUrl")}
    if len(full_urls) != len(entries):
        raise BundleInvalid(_("Every entry needs its own fullUrl."), {"entry.fullUrl": [_("Missing or repeated.")]})
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        raise BundleInvalid(_("A share describes exactly one patient."), {"Patient": [str(len(patients))]})
    patient = patients[0]
    identifying = [name for name in _IDENTIFYING if patient.get(name)]
    foreign_ids = [i for i in patient.get("identifier") or [] if i.get("system") != PSEUDONYM_SYSTEM]
    if identifying or foreign_ids:
        raise BundleInvalid(_("The Patient carries data that identifies a person; send it de-identified."),
                            {"Patient": identifying + (["identifier"] if foreign_ids else [])})
    conditions = [r for r in resources if r["resourceType"] == "Condition"]
    icd = [c.get("code") or {} for c in conditions]
    codes = [coding.get("code") for code in icd for coding in code.get("coding") or []
             if coding.get("system") == ICD10_SYSTEM and _ICD10.match(str(coding.get("code") or ""))]
    if not codes:
        raise BundleInvalid(_("A share needs a Condition coded in ICD-10."), {"Condition": [_("No ICD-10 code.")]})
    if sum(1 for r in resources if r["resourceType"] == "Provenance") != 1:
        raise BundleInvalid(_("A share carries exactly one Provenance."), {"Provenance": [_("Expected one.")]})
    for resource in resources:
        for key in ("subject", "patient"):
            reference = (resource.get(key) or {}).get("reference") if isinstance(resource.get(key), dict) else None
            if reference and reference not in full_urls:
                raise BundleInvalid(_("References must point inside the Bundle."),
                                    {f"{resource['resourceType']}.{key}": [str(reference)[:100]]})
    first = conditions[0]
    category = ((first.get("category") or [{}])[0].get("coding") or [{}])[0].get("code", "")
    pseudonym = next((i.get("value", "") for i in patient.get("identifier") or []), "")
    return ReceivedCase(
        icd10_code=codes[0], version=version, diagnosis_text=str((first.get("code") or {}).get("text") or "")[:200],
        category=str(category)[:80], pseudonym=str(pseudonym)[:64], sex=str(patient.get("gender") or "")[:8],
        age_band=_extension_value(patient, AGE_BAND_URL)[:16], region=_extension_value(patient, REGION_URL)[:16],
        observations=sum(1 for r in resources if r["resourceType"] == "Observation"),
        related_codes=[_extension_value({"extension": [e]}, RELATED_CODE_URL)
                       for e in first.get("extension") or [] if e.get("url") == RELATED_CODE_URL])


def bundle_version(data: dict) -> int:
    """Bundle.meta.versionId as a number: absent is 1 (a share from before updates);
    anything but a positive whole number is refused."""
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    raw = meta.get("versionId")
    if raw is None:
        return 1
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_VERSION:
        raise BundleInvalid(_("Bundle.meta.versionId must be the share's version: a whole number from 1."),
                            {"meta.versionId": [text[:20]]})
    return int(text)


def parse_json_body(body: bytes):
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleInvalid(_("The body is not JSON."), {"body": [str(error)[:200]]}) from None
