"""The `fhir` data set: HL7 FHIR R4 resources for a study. A `Questionnaire` per instrument (built from its
definition alone: our wording, both languages through the standard translation extension, answer options as
codings, branching and gates as enableWhen), then per assessment a `QuestionnaireResponse` per instrument it
asked and an `Observation` per scale score, a chunk of participants at a time.

Each chunk is a frame of one row per resource (resource_type, id, resource as compact JSON); the writers put
them in an NDJSON file or a collection Bundle. Identifiers are URNs under `urn:pro-app` (no web address is
claimed): participants appear only as their pseudonymous study code, never a name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pandas as pd

from ..instruments import Instrument
from ..instruments.model import Item, Option, Text
from ..models import Study
from . import chunks
from .chunks import Filters
from .layout import study_instruments

BASE = "urn:pro-app"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
DATA_ABSENT_CODES = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey",
                        "display": "Survey"}]}
UCUM = "http://unitsofmeasure.org"

#: The data-absent reason of an item with no answer, by item state (SCORING.md §5). A branched item and one its
#: gate rules out were not asked because an earlier answer made them not applicable (the Questionnaire's
#: enableWhen says which); one not reached was never asked.
ABSENT = {"declined": "asked-declined", "branched": "not-applicable", "not_applicable": "not-applicable",
          "not_reached": "not-asked"}
#: The data-absent reason of a scale with no score, by score status.
SCORE_ABSENT = {"insufficient": ("unknown", "Too few items answered for a score (the half rule)"),
                "not_applicable": ("not-applicable", "Not applicable: the gate item ruled the scale's items out")}
#: QuestionnaireResponse.status by assessment status (`amended` when an answer was corrected after completion).
STATUS = {"completed": "completed", "in_progress": "in-progress", "open": "in-progress", "partial": "stopped",
          "missed": "stopped", "not_done": "stopped"}
LANGUAGE = "en"  # the base language of every Questionnaire; Spanish is its translation

COLUMNS = ["resource_type", "id", "resource"]


def _fhir_id(*parts: object) -> str:
    """A resource id ([A-Za-z0-9.-], at most 64 characters) from the parts."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", "-".join(str(p) for p in parts))[:64]


def questionnaire_url(instrument_id: str) -> str:
    return f"{BASE}:questionnaire:{instrument_id}"


def option_system(instrument: Instrument, item: Item) -> str:
    """The code system of an item's answers: one per option set of the instrument."""
    return f"{BASE}:{instrument.id}:options:{item.option_set.id}"


def scale_system(instrument: Instrument) -> str:
    return f"{BASE}:{instrument.id}:scales"


def subject_system(study_code: str) -> str:
    return f"{BASE}:study:{study_code}:participant"


def _translated(text: Text) -> dict:
    """The `_element` of a translated string: its Spanish as the standard translation extension."""
    return {"extension": [{"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": "es"},
                                                             {"url": "content", "valueString": text.es}]}]}


def _code(option: Option) -> str:
    return str(option.value) if option.value is not None else option.code


def _coding(instrument: Instrument, item: Item, option: Option, translated: bool = False) -> dict:
    coding = {"system": option_system(instrument, item), "code": _code(option), "display": option.label.en}
    if translated:
        coding["_display"] = _translated(option.label)
    return coding


def _display(link_id: str, text: Text) -> dict:
    return {"linkId": link_id, "type": "display", "text": text.en, "_text": _translated(text)}


def _enable_when(instrument: Instrument, item: Item) -> list[dict]:
    """The item is enabled unless a branching condition or its gate holds: one `!=` per value that hides it
    (true also while the other item has no answer, as on the tablet), all of which must hold."""
    hidden_by = [(c.item, v) for c in item.skip_if for v in c.values]
    if item.gate is not None:
        hidden_by += [(item.gate.item, v) for v in item.gate.not_applicable_if]
    conditions = []
    for other_id, value in hidden_by:
        other = instrument.item(other_id)
        option = other.option_set.option_for(value)
        conditions.append({"question": other_id, "operator": "!=",
                           "answerCoding": {"system": option_system(instrument, other), "code": _code(option)}})
    return conditions


def questionnaire(instrument: Instrument) -> dict:
    """The instrument as a FHIR R4 Questionnaire: its instructions, a heading per recall period, and every
    item with its answer options; English, with Spanish translations."""
    items = [_display("instructions", instrument.instructions)]
    recall = None
    for item in instrument.items:
        if item.recall != recall and item.recall in instrument.recall_periods:
            recall = item.recall
            items.append(_display(f"recall-{len(items)}", instrument.recall_periods[recall]))
        entry = {"linkId": item.id, "prefix": str(item.number), "text": item.text.en, "_text": _translated(item.text),
                 "type": "choice", "required": False,
                 "answerOption": [{"valueCoding": _coding(instrument, item, o, translated=True)}
                                  for o in item.option_set.options]}
        conditions = _enable_when(instrument, item)
        if conditions:
            entry["enableWhen"] = conditions
            entry["enableBehavior"] = "all"
        if item.gate is not None:
            entry["item"] = [_display(f"{item.id}-instruction", item.gate.instruction)]
        items.append(entry)
    return {
        "resourceType": "Questionnaire", "id": _fhir_id(instrument.id), "language": LANGUAGE,
        "url": questionnaire_url(instrument.id), "version": instrument.version,
        "name": re.sub(r"[^A-Za-z0-9]", "", instrument.id.title()), "title": instrument.title.en,
        "_title": _translated(instrument.title), "status": "active", "subjectType": ["Patient"],
        "publisher": "pro-app", "copyright": instrument.licence, "item": items,
    }


def _stamp(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(resource: dict) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


class _Builder:
    """Turns one chunk's reads into resources (the study's instruments looked up once)."""

    def __init__(self, study: Study, instruments: list[Instrument]):
        self.study = study
        self.instruments = {i.id: i for i in instruments}
        self.order = {i.id: n for n, i in enumerate(instruments)}

    def subject(self, participant: str) -> dict:
        return {"type": "Patient", "identifier": {"system": subject_system(self.study.code), "value": participant}}

    @staticmethod
    def language(assessment, rows: pd.DataFrame) -> str:
        """The language most answers were given in; else the one most items were shown in (nothing answered)."""
        if isinstance(assessment.language, str):
            return assessment.language
        shown = rows["item_language"].dropna()
        return str(shown.mode().sort_values().iloc[0]) if len(shown) else LANGUAGE

    def response(self, assessment, instrument_id: str, rows: pd.DataFrame) -> dict:
        instrument = self.instruments[instrument_id]
        order = {item_id: n for n, item_id in enumerate(instrument.item_ids)}
        rows = rows.assign(_order=rows["item"].map(order)).sort_values("_order", kind="stable")
        items = []
        for row in rows.itertuples(index=False):
            entry = {"linkId": row.item}
            chosen = row.value if pd.notna(row.value) else (row.option_code if pd.notna(row.option_code) else None)
            if chosen is not None and instrument.has_item(row.item):
                item = instrument.item(row.item)
                option = next((o for o in item.option_set.options if _code(o) == str(chosen)), None)
                if option is not None:
                    entry["answer"] = [{"valueCoding": _coding(instrument, item, option)}]
            if "answer" not in entry:
                entry["extension"] = [{"url": DATA_ABSENT, "valueCode": ABSENT.get(row.state, "unknown")}]
            items.append(entry)
        status = STATUS.get(assessment.assessment_status, "in-progress")
        if status == "completed" and rows["corrected_at"].notna().any():
            status = "amended"
        authored = _stamp(assessment.completed_at) or _stamp(pd.to_datetime(rows["answered_at"], utc=True).max())
        version = rows["instrument_version"].iloc[0]
        resource = {
            "resourceType": "QuestionnaireResponse", "id": _fhir_id(assessment.assessment_id, instrument_id),
            "language": self.language(assessment, rows),
            "identifier": {"system": f"{BASE}:study:{self.study.code}:assessment",
                           "value": f"{assessment.participant}/{assessment.timepoint}/{instrument_id}"},
            "questionnaire": f"{questionnaire_url(instrument_id)}|{version}", "status": status,
            "subject": self.subject(assessment.participant),
        }
        if authored:
            resource["authored"] = authored
        resource["item"] = items
        return resource

    def observation(self, assessment, response_id: str, score, effective: str | None) -> dict:
        instrument = self.instruments[score.instrument]
        scale = instrument.scale(score.scale)
        resource = {
            "resourceType": "Observation", "id": _fhir_id(assessment.assessment_id, score.scale),
            "status": "final" if assessment.assessment_status in ("completed", "partial") else "preliminary",
            "category": [CATEGORY],
            "code": {"coding": [{"system": scale_system(instrument), "code": scale.code, "display": scale.name.en}],
                     "text": scale.name.en},
            "subject": self.subject(assessment.participant),
        }
        if effective:
            resource["effectiveDateTime"] = effective
        if pd.notna(score.value):
            if scale.type == "composite":
                resource["valueInteger"] = int(score.value)
            else:
                resource["valueQuantity"] = {"value": float(score.value), "unit": "score", "system": UCUM,
                                             "code": "{score}"}
        else:
            code, text = SCORE_ABSENT.get(score.status, ("unknown", score.status))
            resource["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT_CODES, "code": code}], "text": text}
        resource["method"] = {"text": f"{instrument.id} {score.instrument_version}, scoring {score.scoring_version}, "
                                      f"{int(score.n_items)} items"}
        resource["derivedFrom"] = [{"reference": f"QuestionnaireResponse/{response_id}"}]
        return resource


def _frame(resources: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"resource_type": pd.array([r["resourceType"] for r in resources], dtype="string"),
                         "id": pd.array([r["id"] for r in resources], dtype="string"),
                         "resource": pd.array([_dumps(r) for r in resources], dtype="string")}, columns=COLUMNS)


def fhir(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """The Questionnaires first, then a chunk of participants at a time: each assessment's responses (one per
    instrument it asked that has item records) and the Observations of their scores."""
    from .datasets import _responses, _scores  # the items and scores data sets' reads
    instruments = study_instruments(study)
    yield _frame([questionnaire(i) for i in instruments])
    builder = _Builder(study, instruments)

    def read(assessment_ids, _participants):
        return {"responses": _responses(assessment_ids), "scores": _scores(assessment_ids)}

    for base, reads in chunks.participant_chunks(study, filters, read):
        responses = reads["responses"]
        if responses.empty:
            continue
        by_assessment = dict(tuple(responses.groupby("assessment_id", sort=False)))
        scores = dict(tuple(reads["scores"].groupby("assessment_id", sort=False)))
        resources = []
        for assessment in base.itertuples(index=False):
            rows = by_assessment.get(assessment.assessment_id)
            if rows is None:
                continue
            parts = sorted(rows["instrument"].unique(), key=lambda i: builder.order.get(i, len(builder.order)))
            for instrument_id in parts:
                if instrument_id not in builder.instruments:
                    continue
                response = builder.response(assessment, instrument_id, rows[rows["instrument"] == instrument_id])
                resources.append(response)
                own = scores.get(assessment.assessment_id)
                if own is None:
                    continue
                instrument = builder.instruments[instrument_id]
                scale_order = {code: n for n, code in enumerate(instrument.scale_codes)}
                own = own[own["instrument"] == instrument_id]
                own = own.assign(_order=own["scale"].map(scale_order)).sort_values("_order", kind="stable")
                for score in own.itertuples(index=False):
                    if score.scale in scale_order:
                        resources.append(builder.observation(assessment, response["id"], score,
                                                             response.get("authored")))
        if resources:
            yield _frame(resources)
