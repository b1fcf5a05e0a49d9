"""Every export column, once: name, label, type and allowed values. The codebook is built from here."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..instruments import Instrument, value_range
from ..models import ASSESSMENT_STATUSES, NOT_DONE_REASONS

ITEM_STATE_CODES = "answered = answered; declined = skipped by the patient; branched = not shown: branching, taken " \
    "as 0 for PRO-CTCAE composites; not_applicable = a not-applicable option chosen, or not shown: its gate " \
    "rules it out; not_reached = left before shown"
#: Allowed values are always `code = label`, separated by "; " (formats and value labels are built from them).
FLAG = "0 = no; 1 = yes"
LANGUAGE_CODES = "en = English; es = Spanish"


def coded(codes) -> str:
    """`code = label` for vocabulary codes whose label is the code in words (not_done -> Not done)."""
    return "; ".join(f"{c} = {c.replace('_', ' ').capitalize()}" for c in codes)


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str  # string | integer | number | date | datetime | boolean
    values: str = ""  # allowed values with their labels
    instrument: str = ""
    scales: str = ""  # scales an item belongs to
    missing: str = ""  # how missing data shows
    extra: dict = field(default_factory=dict, compare=False)


IDENTIFIERS = [
    Column("study", "Study code", "string"),
    Column("site", "Site code", "string"),
    Column("participant", "Participant (pseudonymous study code)", "string"),
    Column("timepoint", "Timepoint code", "string", missing="blank: an unscheduled assessment"),
    Column("visit", "Visit number: the timepoint's order in the schedule; occurrence k of a repeating timepoint "
           "100 x that order + k; an unscheduled assessment the visit it followed + n / 100 (2.01, 2.02)", "number"),
    Column("visit_name", "Visit name: the timepoint's label (with the occurrence of a repeating one), or "
           "UNSCHEDULED and the visit number", "string"),
    Column("assessment_id", "Assessment id (unique within this installation)", "integer"),
    Column("target_date", "Target date of the timepoint (site-local date)", "date"),
    Column("window_start", "First day of the assessment window", "date"),
    Column("window_end", "Last day of the assessment window", "date"),
    Column("assessment_status", "Assessment status", "string", coded(ASSESSMENT_STATUSES)),
    Column("started_at", "When the first answer was given (UTC, ISO 8601)", "datetime", missing="blank: not started"),
    Column("completed_at", "When the assessment was completed (UTC, ISO 8601)", "datetime",
           missing="blank: not completed"),
    Column("mode", "Mode of administration", "string",
           "self = patient on the tablet; assisted = staff read the items aloud; paper = keyed from a paper form",
           missing="blank: not started"),
    Column("early", "1 when staff confirmed giving the assessment before its window opened", "integer", FLAG),
    Column("administered_by", "Who gave the patient the paper form or read it aloud (as staff entered it)", "string",
           missing="blank: not keyed from paper"),
    Column("keyed_at", "When staff keyed the paper form in (UTC, ISO 8601; completed_at is the date on the paper)",
           "datetime", missing="blank: not keyed from paper"),
    Column("entered_by", "Staff member who keyed the paper form (their login)", "string",
           missing="blank: not keyed from paper"),
    Column("verified_by", "Staff member who keyed it a second time (double data entry)", "string",
           missing="blank: not keyed twice"),
    Column("language", "Language the assessment was answered in (most items)", "string", LANGUAGE_CODES,
           missing="blank: no answers"),
]

ITEM_ROW = [
    Column("instrument", "Instrument id", "string"),  # its values: the study's instruments (codebook.py)
    Column("instrument_version", "Version of the instrument definition used", "string"),
    Column("item", "Item id", "string"),
    Column("item_label", "Item text (English; pro-app's own paraphrased wording unless a licensed file is used)",
           "string"),
    Column("value", "Answer value (its scale: the item's column in the wide data set)", "integer", "",
           missing="blank unless state = answered"),
    Column("value_label", "Label of the answer (English)", "string", missing="blank when there is no value"),
    Column("state", "Item state", "string", ITEM_STATE_CODES),
    Column("branched", "1 when the item was not shown because of branching (SDTM QSCBRFL)", "integer", FLAG),
    Column("item_language", "Language the item was shown in", "string", LANGUAGE_CODES),
    Column("shown_at", "When the tablet showed the item's page for this answer (UTC, ISO 8601)", "datetime",
           missing="blank: not answered on the tablet, or recorded before shown times were kept"),
    Column("answered_at", "When the item was answered or its state set (UTC, ISO 8601)", "datetime"),
    Column("corrected", "1 when staff corrected this answer after it was given (audit trail: old values)", "integer",
           FLAG),
    Column("corrected_at", "When staff last corrected this answer (UTC, ISO 8601)", "datetime",
           missing="blank: not corrected"),
    Column("correction_reason", "The reason staff gave for the last correction", "string",
           missing="blank: not corrected"),
]

#: Between the identifiers and the item columns of `wide`.
WIDE_ROW = [
    Column("corrected_items", "Items whose answer staff corrected after it was given, space-separated (the items "
           "data set has each correction's time and reason)", "string", missing="blank: none corrected"),
]

SCORE_ROW = [
    Column("instrument", "Instrument id", "string"),  # its values: the study's instruments (codebook.py)
    Column("instrument_version", "Version of the instrument definition used", "string"),
    Column("scale", "Scale code", "string"),
    Column("scale_name", "Scale name (English)", "string"),
    Column("value", "Score, unrounded (EORTC 0-100; PRO-CTCAE composite grade 0-3)", "number",
           missing="blank unless status = scored"),
    Column("status", "Score status", "string",
           "scored = scored; insufficient = fewer answered items than the half rule needs; not_applicable = gated out"),
    Column("n_items", "Number of items the score used", "integer"),
    Column("baseline_flag", "1 on the participant's baseline assessment (first timepoint)", "integer", FLAG),
    Column("baseline_value", "The participant's baseline score on this scale", "number",
           missing="blank when the baseline score is missing"),
    Column("change", "Change from baseline (value − baseline_value)", "number",
           missing="blank when either score is missing"),
    Column("threshold_flag", "1 when the score is past the study's threshold for clinical importance",
           "integer", FLAG, missing="blank: no threshold for this scale, or no score"),
    Column("days_from_target", "Days from the target date to completion", "integer",
           missing="blank: not completed"),
    Column("in_window", "1 when completed within the window", "integer", FLAG, missing="blank: not completed"),
    Column("scoring_version", "Version of pro-app's scoring code", "string"),
]

COMPLIANCE_ROW = [
    Column("expected", "1 when the assessment was expected (CONSORT-PRO: window opened while the participant was "
           "alive and on study)", "integer", FLAG),
    Column("not_expected_reason", "Why the assessment was not expected (never counted as missed)", "string",
           "window_not_open = not yet due; died = died on or before the last day of the window, nothing given; "
           "withdrawn = withdrawn on or before the last day of the window, follow-up not continued, nothing given; "
           "unscheduled = added by staff at an unplanned visit, never part of the schedule",
           missing="blank when expected"),
    Column("received", "1 when the assessment was completed or partly completed (partial)", "integer", FLAG),
    Column("items_answered", "Items answered", "integer"),
    Column("items_asked", "Items the patient was asked (not counting items skipped by branching)", "integer"),
    Column("not_done_reason", "Why the assessment was not done", "string",
           coded(NOT_DONE_REASONS),
           missing="blank unless assessment_status = not_done"),
]


SUBJECTS = [
    Column("study", "Study code", "string"),
    Column("site", "Site code", "string"),
    Column("participant", "Participant (pseudonymous study code)", "string"),
    Column("arm", "Arm or cohort code", "string", missing="blank: not assigned"),  # values: the study's arms
    Column("language", "Preferred language", "string", LANGUAGE_CODES),
    Column("consent_date", "Date of informed consent (site-local)", "date", missing="blank: not entered"),
    Column("anchor_date", "Date of the study's anchor event (site-local; day 0 of the schedule)", "date"),
    Column("enrolled_at", "When the participant was enrolled in pro-app (UTC, ISO 8601)", "datetime"),
    Column("status", "Participant status", "string", "active = active; withdrawn = withdrawn"),
    Column("withdrawn_on", "Date of withdrawal (site-local)", "date", missing="blank: not withdrawn, or no date"),
    Column("withdrawn_reason", "Reason for withdrawal (free text entered by staff)", "string",
           missing="blank: not withdrawn"),
    Column("follow_up_continues", "1 when questionnaires continue after withdrawal", "integer", FLAG),
    Column("death_date", "Date of death (site-local)", "date", missing="blank: no death recorded"),
    Column("treatment_end", "Date of the end of study treatment (site-local; an anchor event)", "date",
           missing="blank: not entered yet"),
]


#: SDTMIG 3.4 QS and its supplemental qualifiers. QSTESTCD, QSTEST and QSCAT values: the study's
#: instruments' cdisc blocks (codebook.py).
SDTM_QS = [
    Column("STUDYID", "Study Identifier", "string"),
    Column("DOMAIN", "Domain Abbreviation", "string", "QS = Questionnaires"),
    Column("USUBJID", "Unique Subject Identifier", "string", missing="study code, a hyphen, participant code"),
    Column("QSSEQ", "Sequence Number", "integer", missing="1, 2, ... within each subject"),
    Column("QSTESTCD", "Question Short Name", "string"),
    Column("QSTEST", "Question Name", "string"),
    Column("QSCAT", "Category of Question", "string"),
    Column("QSORRES", "Finding in Original Units", "string", missing="blank when not answered (see QSSTAT)"),
    Column("QSSTRESC", "Character Result/Finding in Std Format", "string",
           missing="blank when not answered; NOT APPLICABLE for a not-applicable option"),
    Column("QSSTRESN", "Numeric Result/Finding in Standard Units", "integer",
           missing="blank unless a scored answer was given"),
    Column("QSSTAT", "Completion Status", "string", "NOT DONE = not done", missing="blank when answered"),
    Column("QSREASND", "Reason Not Performed", "string",
           "DECLINED BY SUBJECT = skipped by the patient; LOGICALLY SKIPPED ITEM = not shown: branching; "
           "NOT APPLICABLE = not shown: its gate rules it out; "
           "NOT REACHED = left before shown; SUBJECT REFUSED = subject refused; SUBJECT TOO ILL = too ill; "
           "STAFF ERROR = staff error; OUTSIDE WINDOW = outside window; DEVICE FAILURE = device failure; "
           "OTHER = other", missing="blank unless QSSTAT = NOT DONE"),
    Column("QSCBRFL", "Skipped by Conditional Branching Flag", "string", "Y = yes",
           missing="blank: shown (PRO-CTCAE composites take a branched item as 0)"),
    Column("QSEVLINT", "Evaluation Interval", "string", missing="blank: no recall period (right now)"),
    Column("VISITNUM", "Visit Number", "number"),
    Column("VISIT", "Visit Name", "string"),
    Column("QSDTC", "Date/Time of Finding", "string",
           missing="ISO 8601, site-local time; blank on a not-done record"),
    Column("QSDY", "Study Day of Finding", "integer",
           missing="day 1 = the anchor date (RFSTDTC); blank without a date"),
    Column("QSLOBXFL", "Last Observation Before Exposure Flag", "string", "Y = yes",
           missing="blank: not the last result on or before the anchor date"),
]

SUPPQS = [
    Column("STUDYID", "Study Identifier", "string"),
    Column("RDOMAIN", "Related Domain Abbreviation", "string", "QS = Questionnaires"),
    Column("USUBJID", "Unique Subject Identifier", "string"),
    Column("IDVAR", "Identifying Variable", "string", "QSSEQ = QSSEQ"),
    Column("IDVARVAL", "Identifying Variable Value", "string"),
    Column("QNAM", "Qualifier Variable Name", "string",
           "QSLANG = language of administration; QSMODE = mode of administration"),
    Column("QLABEL", "Qualifier Variable Label", "string"),
    Column("QVAL", "Data Value", "string",
           "ENG = English; SPA = Spanish; ELECTRONIC SELF-ADMINISTERED = patient on the tablet; "
           "INTERVIEWER-ADMINISTERED = staff read the items aloud; PAPER SELF-ADMINISTERED = keyed from paper"),
    Column("QORIG", "Origin", "string", "COLLECTED = collected"),
    Column("QEVAL", "Evaluator", "string", missing="blank: reported by the subject"),
]


#: The subject keys and period-01 treatments that ADSL defines and ADQS carries (ADaM: ADSL variables in a BDS).
SUBJECT_KEYS = [
    Column("STUDYID", "Study Identifier", "string"),
    Column("USUBJID", "Unique Subject Identifier", "string"),
    Column("SUBJID", "Subject Identifier for the Study", "string"),
    Column("SITEID", "Study Site Identifier", "string"),
]
TREATMENTS = [
    Column("TRT01P", "Planned Treatment for Period 01", "string", missing="blank: not assigned"),
    Column("TRT01A", "Actual Treatment for Period 01", "string",
           missing="the planned arm (pro-app records no actual treatment)"),
]

#: ADaM ADSL, one record per participant (built from SUBJECTS).
ADSL = [
    *SUBJECT_KEYS,
    Column("ARM", "Description of Planned Arm", "string", missing="blank: not assigned"),
    *TREATMENTS,
    Column("RFSTDT", "Reference Start Date", "date", missing="the anchor date (day 1 of QSDY and ADY)"),
    Column("RFICDT", "Date of Informed Consent", "date", missing="blank: not entered"),
    Column("EOSSTT", "End of Study Status", "string", "ONGOING = on study; DISCONTINUED = withdrawn"),
    Column("EOSDT", "End of Study Date", "date", missing="blank: not withdrawn, or no date"),
    Column("DCSREAS", "Reason for Discontinuation from Study", "string", missing="blank: not withdrawn"),
    Column("FUCONTFL", "Follow-up Continues After Withdrawal", "string", "Y = yes", missing="blank: no"),
    Column("DTHFL", "Subject Death Flag", "string", "Y = yes", missing="blank: no death recorded"),
    Column("DTHDT", "Date of Death", "date", missing="blank: no death recorded"),
    Column("ENRLFL", "Enrolled Population Flag", "string", "Y = yes"),
    Column("ITTFL", "Intent-To-Treat Population Flag", "string", "Y = arm assigned; N = no arm"),
    Column("PROFL", "PRO Population Flag", "string", "Y = at least one assessment completed; N = none"),
]


def item_column(instrument: Instrument, item_id: str, proae: bool = False) -> Column:
    """An item's column; in the proae data set a branched item is written as 0, as ProAE expects."""
    item = instrument.item(item_id)
    scales = [s.code for s in instrument.scales if item_id in s.items]
    missing = "blank: not answered (see the items data set for the state)"
    if proae:
        missing = "0 when skipped by branching (ProAE convention); blank: not answered"
    return Column(item_id, item.text.en, "integer", instrument.item(item_id).codebook(), instrument.id,
                  ", ".join(scales), missing)


def scale_column(instrument: Instrument, code: str) -> Column:
    scale = instrument.scale(code)
    low, high = value_range(instrument, scale)
    kind = f"composite grade {low:g}-{high:g}" if scale.type == "composite" else f"{scale.type}, {low:g}-{high:g}"
    return Column(code, f"{scale.name.en} ({kind})", "number", "", instrument.id, "",
                  "blank: not scored (insufficient or not applicable; see the scores data set)")


#: ADaM ADQS (BDS), one record per participant, scale (every scale score and PRO-CTCAE composite grade: a
#: parameter) and assessment, built from the scores data set. PARAMCD, PARAM, PARCAT1 and CRIT1 values: the
#: study's instruments (codebook.py). No derived (DTYPE) records: every record is an observed score.
ADQS = [
    *SUBJECT_KEYS,
    *TREATMENTS,
    Column("TRTP", "Planned Treatment", "string", missing="blank: not assigned"),
    Column("TRTA", "Actual Treatment", "string", missing="the planned arm"),
    Column("ASEQ", "Analysis Sequence Number", "integer", missing="1, 2, ... within each subject"),
    Column("PARAMCD", "Parameter Code", "string"),
    Column("PARAM", "Parameter", "string"),
    Column("PARCAT1", "Parameter Category 1", "string"),
    Column("AVAL", "Analysis Value", "number",
           missing="blank: not scored (fewer answers than the half rule needs, or gated out)"),
    Column("BASE", "Baseline Value", "number", missing="blank: no baseline score"),
    Column("ABLFL", "Baseline Record Flag", "string", "Y = yes",
           missing="blank: not the scored baseline record"),
    Column("CHG", "Change from Baseline", "number",
           missing="blank on baseline records and when AVAL or BASE is blank"),
    Column("PCHG", "Percent Change from Baseline", "number", missing="blank as CHG, and when BASE is 0"),
    Column("AVISIT", "Analysis Visit", "string"),
    Column("AVISITN", "Analysis Visit (N)", "number"),
    Column("ADT", "Analysis Date", "date", missing="site-local completion date; blank: not completed"),
    Column("ADY", "Analysis Relative Day", "integer", missing="day 1 = the anchor date (RFSTDT); blank without ADT"),
    Column("ANL01FL", "Analysis Record Flag 01", "string", "Y = yes",
           missing="blank: no analysis value (the record is not used)"),
    Column("CRIT1", "Analysis Criterion 1", "string"),
    Column("CRIT1FL", "Criterion 1 Evaluation Result Flag", "string", "Y = yes; N = no",
           missing="blank when CHG is blank"),
    Column("SRCDOM", "Source Data", "string", "SCORES = pro-app's scores data set"),
    Column("SRCVAR", "Source Variable", "string", "value = the score"),
    Column("SRCSEQ", "Source Sequence Number", "integer",
           missing="assessment_id of the scores row (with the scale of PARAMCD)"),
]

#: The fhir data set: one row per resource; the ndjson and json (Bundle) files hold the `resource` column.
FHIR = [
    Column("resource_type", "FHIR R4 resource type", "string",
           "Questionnaire = an instrument (items, answer codings, English and Spanish); QuestionnaireResponse = "
           "one instrument of one assessment (answers as codings, unanswered items with a data-absent reason); "
           "Observation = one scale score of one assessment (derived from its QuestionnaireResponse)"),
    Column("id", "Resource id (unique per resource type; assessment id and instrument or scale)", "string"),
    Column("resource", "The resource as FHIR R4 JSON (subject: the pseudonymous study code, never a name; "
           "data-absent reasons: asked-declined = skipped; not-applicable = branched or gated out; not-asked = "
           "not reached)", "string"),
]
