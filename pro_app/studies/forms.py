"""Study forms: the study's definition (fields, sites and timepoints as rows, the terms asked as ticks;
thresholds and alert rules as YAML) and import. Rows are added, removed and moved with submit buttons, so
the form works without JavaScript."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .. import safe_yaml
from ..extensions import library
from ..i18n import current_language
from ..vocabulary import ANCHOR_LABELS, REPEAT_UNIT_LABELS, Anchor, RepeatUnit
from .definition import StudyError, StudyYamlError, parse_yaml, to_yaml

#: The term-set choice that means "keep the terms ticked below".
CUSTOM_TERMS = ""
#: Rows a study form may hold (far more than any study has; bounds the work of one request).
MAX_ROWS = 100
#: The buttons that change the rows without saving: (name, whether its value is a row number).
ROW_ACTIONS = ("add_site", "remove_site", "add_timepoint", "remove_timepoint", "up_timepoint", "apply_set",
               "search_terms")


def _set_field(instrument) -> str:
    return f"term_set__{instrument.id}"


def _terms_field(instrument) -> str:
    return f"terms__{instrument.id}"


def _search_field(instrument) -> str:
    return f"term_search__{instrument.id}"


@lru_cache(maxsize=1)
def zone_choices() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


class SiteRow(Form):
    """One site. Row fields carry no length checks of their own: the definition's validation bounds every
    value and names the row in its message."""

    code = StringField(_l("Site code"))
    name = StringField(_l("Site name"))
    timezone = SelectField(_l("Time zone"), validate_choice=False, default="UTC")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = list(zone_choices())


class TimepointRow(Form):
    """One timepoint; its `instruments` choices are set by the study form (the installed instruments)."""

    code = StringField(_l("Timepoint code"))
    label = StringField(_l("Label (English)"))
    label_es = StringField(_l("Label (Spanish)"))
    anchor = SelectField(_l("Counted from"), choices=[SelectChoice(a.value, ANCHOR_LABELS[a]) for a in Anchor],
                         default=Anchor.TREATMENT_START.value, validate_choice=False)
    target_day = StringField(_l("Target day"))
    window_before = StringField(_l("Days before"))
    window_after = StringField(_l("Days after"))
    instruments = SelectMultipleField(_l("Instruments"), widget=ListWidget(prefix_label=False),
                                      option_widget=CheckboxInput(), validate_choice=False)
    # Repeats: all empty for a timepoint that happens once.
    repeat_every = StringField(_l("Repeat every"))
    repeat_unit = SelectField(_l("Unit"), choices=[SelectChoice(u.value, REPEAT_UNIT_LABELS[u]) for u in RepeatUnit],
                              default=RepeatUnit.WEEKS.value, validate_choice=False)
    repeat_until = SelectField(_l("Until"), choices=[SelectChoice("", _l("No end event"))] + [
        SelectChoice(a.value, ANCHOR_LABELS[a]) for a in Anchor], default="", validate_choice=False)
    repeat_count = StringField(_l("At most (times)"))


def _blank(row: dict, fields: tuple[str, ...]) -> bool:
    return not any(str(row.get(f) or "").strip() for f in fields)


class StudyForm(FlaskForm):
    """The study's fields, its sites and timepoints as rows, and for each instrument with selectable items a
    term set to start from and the terms ticked (`study_form()` adds these: `term_set__<instrument>`,
    `terms__<instrument>`, `term_search__<instrument>`)."""

    code = StringField(_l("Study code"), validators=[DataRequired(), Length(max=64)],
                       description=_l("For example the trial's NCT number. It cannot change later."))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    anchor_event = StringField(_l("Start of treatment, as this study names it"),
                               validators=[DataRequired(), Length(max=120)],
                               description=_l("The event a participant's anchor date is, for example the first "
                                              "fraction of SBRT. Timepoints count from it, from enrolment or "
                                              "from the end of treatment."))
    arms = StringField(_l("Arms or cohorts"), validators=[Length(max=3000)],
                       description=_l("Codes separated by commas, for example A, B. Leave empty for a single-arm "
                                      "study."))
    sites = FieldList(FormField(SiteRow), min_entries=0, max_entries=MAX_ROWS)
    timepoints = FieldList(FormField(TimepointRow), min_entries=0, max_entries=MAX_ROWS)
    thresholds = TextAreaField(_l("Thresholds for flags (YAML)"), validators=[Length(max=20000)],
                               description=_l("Scale code, then below or above a score, for example PF2: "
                                              "{below: 83}."))
    alert_rules = TextAreaField(_l("Alert rules (YAML)"), validators=[Length(max=20000)],
                                description=_l("A list of rules, each with kind (grade_at_least, "
                                               "worsening_grade, item_value, threshold, worsening_score), "
                                               "value, optional source (a scale or item), urgency (urgent, "
                                               "review or note), enabled and exclude_baseline."))
    alert_actions = TextAreaField(_l("Actions taken on an alert"), validators=[Length(max=5000)],
                                  description=_l("One per line: what a nurse can choose when acknowledging an "
                                                 "alert. Leave empty for the standard list."))
    alert_recipients = TextAreaField(_l("Who is emailed about urgent alerts"), validators=[Length(max=15000)],
                                     description=_l("One email address per line, optionally followed by the "
                                                    "language of the email (en or es; without it: English and "
                                                    "Spanish). Only staff accounts with access to the "
                                                    "participant's site are emailed."))
    alert_digest = BooleanField(_l("Also email alerts to review, in one digest"),
                                description=_l("Review-level alerts reach the same people in one summary email per "
                                               "study, sent once the oldest has waited an hour (or the "
                                               "interval the site set)."))
    double_entry = BooleanField(_l("Double data entry of paper forms"),
                                description=_l("Each paper form is keyed twice, by two staff members, and stored "
                                               "once both keyings agree (differences decided item by item)."))
    reason = StringField(_l("Reason for the change"), validators=[Length(max=500)])

    def selection_fields(self) -> list[tuple[Any, SelectField, SelectMultipleField, StringField]]:
        """(instrument, term set, terms ticked, search) per instrument with selectable items."""
        return [(i, self[_set_field(i)], self[_terms_field(i)], self[_search_field(i)]) for i in library.selectable()]

    def shown_terms(self, instrument) -> list[tuple[str, str, bool]]:
        """(value, label, shown) for each term: shown unless a search is typed that the term does not match
        (a ticked term that is not shown stays ticked, as a hidden field)."""
        search = (self[_search_field(instrument)].data or "").strip().casefold()
        out = []
        for choice in self[_terms_field(instrument)].choices:
            value, label = choice.value, str(choice.label)
            out.append((value, label, not search or search in label.casefold() or search == value))
        return out

    # --- the rows as plain data -------------------------------------------------------------------------

    def rows(self) -> dict[str, Any]:
        """What the form holds, as typed (strings; blank rows dropped), for re-showing or validating."""
        sites = [dict(r) for r in (self.sites.data or []) if not _blank(r, ("code", "name"))]
        timepoints = [dict(r) for r in (self.timepoints.data or [])
                      if not _blank(r, ("code", "label", "label_es", "target_day", "window_before", "window_after",
                                        "repeat_every", "repeat_count"))]
        for row in sites + timepoints:
            row.pop("csrf_token", None)
        terms = {i.id: list(self[_terms_field(i)].data or []) for i in library.selectable()}
        term_sets = {i.id: self[_set_field(i)].data or CUSTOM_TERMS for i in library.selectable()}
        searches = {i.id: self[_search_field(i)].data or "" for i in library.selectable()}
        return {"code": self.code.data, "title": self.title.data, "anchor_event": self.anchor_event.data,
                "arms": self.arms.data or "", "sites": sites, "timepoints": timepoints, "terms": terms,
                "term_sets": term_sets, "searches": searches, "thresholds": self.thresholds.data or "",
                "alert_rules": self.alert_rules.data or "", "alert_actions": self.alert_actions.data or "",
                "alert_recipients": self.alert_recipients.data or "", "alert_digest": bool(self.alert_digest.data),
                "double_entry": bool(self.double_entry.data), "reason": self.reason.data or ""}

    def fill_rows(self, rows: dict[str, Any]) -> None:
        """Show `rows()`-shaped data in the fields (a form built without form data)."""
        self.code.data, self.title.data = rows["code"], rows["title"]
        self.anchor_event.data, self.arms.data = rows["anchor_event"], rows["arms"]
        self.thresholds.data, self.alert_rules.data = rows["thresholds"], rows["alert_rules"]
        self.alert_actions.data = rows.get("alert_actions", "")
        self.alert_recipients.data = rows.get("alert_recipients", "")
        self.alert_digest.data = bool(rows.get("alert_digest"))
        self.double_entry.data = bool(rows.get("double_entry"))
        self.reason.data = rows.get("reason", "")
        for field, entries in ((self.sites, rows["sites"]), (self.timepoints, rows["timepoints"])):
            while field.entries:
                field.pop_entry()
            for entry in entries[:MAX_ROWS]:
                field.append_entry(entry)
        self._offer_instruments()
        for instrument in library.selectable():
            self[_terms_field(instrument)].data = list(rows["terms"].get(instrument.id, []))
            self[_set_field(instrument)].data = rows["term_sets"].get(instrument.id, CUSTOM_TERMS)
            self[_search_field(instrument)].data = rows["searches"].get(instrument.id, "")

    def fill(self, definition: dict) -> None:
        """Show a definition (services' plain-data form of a study) in the fields."""
        self.fill_rows({
            "code": definition["code"], "title": definition["title"], "anchor_event": definition["anchor_event"],
            "arms": ", ".join(definition.get("arms") or ()),
            "sites": [dict(s) for s in definition["sites"]],
            "timepoints": [{"code": t["code"], "label": t.get("label") or "", "label_es": t.get("label_es") or "",
                            "anchor": t.get("anchor") or Anchor.TREATMENT_START.value,
                            "target_day": str(t["target_day"]), "window_before": str(t["window_before"]),
                            "window_after": str(t["window_after"]), "instruments": list(t["instruments"]),
                            **_repeat_row(t)}
                           for t in definition["timepoints"]],
            "terms": {i: [str(n) for n in terms] for i, terms in definition["selections"].items()},
            "term_sets": {}, "searches": {},
            "thresholds": to_yaml(definition["thresholds"]), "alert_rules": to_yaml(definition["alert_rules"]),
            "alert_actions": "\n".join(definition.get("alert_actions") or ()),
            "alert_recipients": "\n".join(" ".join(filter(None, (e["email"], e.get("language"))))
                                          for e in definition.get("alert_recipients") or ()),
            "alert_digest": bool(definition.get("alert_digest")),
            "double_entry": bool(definition.get("double_entry"))})

    def _offer_instruments(self) -> None:
        lang = current_language()
        choices = [SelectChoice(i.id, i.title.get(lang)) for i in library.registry]
        for entry in self.timepoints:
            entry.form.instruments.choices = choices

    # --- buttons that change rows -------------------------------------------------------------------------

    @staticmethod
    def row_action(formdata) -> tuple[str, str] | None:
        """(button, value) when a button that changes the rows was pressed instead of Save."""
        for name in ROW_ACTIONS:
            if name in formdata:
                return name, formdata.get(name, "")
        return None

    def apply_action(self, action: tuple[str, str]) -> dict[str, Any]:
        """The rows after a row button: add, remove or move a row, start from a term set, search the terms."""
        name, value = action
        rows = self.rows()
        index = int(value) if value.isdigit() else -1
        if name == "add_site" and len(rows["sites"]) < MAX_ROWS:
            rows["sites"].append({"code": "", "name": "", "timezone": "UTC"})
        elif name == "add_timepoint" and len(rows["timepoints"]) < MAX_ROWS:
            rows["timepoints"].append({"code": "", "label": "", "label_es": "",
                                       "anchor": Anchor.TREATMENT_START.value, "target_day": "",
                                       "window_before": "0", "window_after": "0",
                                       "instruments": list(library.registry.ids), **_repeat_row({})})
        elif name in ("remove_site", "remove_timepoint"):
            key = "sites" if name == "remove_site" else "timepoints"
            if 0 <= index < len(rows[key]):
                del rows[key][index]
        elif name == "up_timepoint" and 0 < index < len(rows["timepoints"]):
            tps = rows["timepoints"]
            tps[index - 1], tps[index] = tps[index], tps[index - 1]
        elif name == "apply_set":
            instrument = next((i for i in library.selectable() if i.id == value), None)
            chosen = rows["term_sets"].get(value) if instrument else None
            if instrument is not None and chosen and chosen in {t.id for t in instrument.term_sets}:
                rows["terms"][value] = [str(n) for n in instrument.term_set(chosen).terms]
                rows["term_sets"][value] = CUSTOM_TERMS
        return rows

    # --- the definition the services validate ---------------------------------------------------------------

    def definition(self) -> dict:
        """The fields as a definition for the services to validate (StudyError: YAML that does not parse, or
        a term set chosen but not applied to ticked terms that differ from it)."""
        errors: list[str] = []
        parsed = {}
        for name in ("thresholds", "alert_rules"):
            try:
                parsed[name] = parse_yaml(getattr(self, name).data or "")
            except StudyYamlError as error:
                label = getattr(self, name).label.text
                errors.append(_("%(field)s: the text is not valid YAML.", field=label) if error.kind == safe_yaml.SYNTAX
                              else _("%(field)s: %(problem)s", field=label, problem=error.messages[0]))
        rows = self.rows()
        selections = {}
        for instrument in library.selectable():
            chosen = rows["term_sets"][instrument.id]
            ticked = rows["terms"][instrument.id]
            terms = ticked
            if chosen and chosen in {t.id for t in instrument.term_sets}:
                from_set = [str(n) for n in instrument.term_set(chosen).terms]
                if ticked and sorted(ticked, key=_number) != sorted(from_set, key=_number):
                    errors.append(_("%(instrument)s: a term set is chosen but the terms ticked differ from it. "
                                    "Press \u201cStart from this set\u201d to tick the set's terms, or choose no "
                                    "set to keep the terms ticked.",
                                    instrument=instrument.title.get(current_language())))
                terms = ticked or from_set
            if terms:
                selections[instrument.id] = terms
        if errors:
            raise StudyError(errors)
        arms = [a.strip() for a in (self.arms.data or "").split(",") if a.strip()]
        timepoints = [_timepoint_entry(t) for t in rows["timepoints"]]
        return {"code": self.code.data, "title": self.title.data, "anchor_event": self.anchor_event.data,
                "arms": arms, "sites": rows["sites"], "timepoints": timepoints, "selections": selections,
                "thresholds": parsed["thresholds"], "alert_rules": parsed["alert_rules"],
                "alert_actions": _lines(self.alert_actions.data), "alert_recipients": self._recipients(),
                "alert_digest": bool(self.alert_digest.data), "double_entry": bool(self.double_entry.data)}

    def _recipients(self) -> list:
        """`address` or `address language` per line, as the definition's entries (validated by services)."""
        entries: list = []
        for line in _lines(self.alert_recipients.data):
            parts = line.split()
            entry = {"email": parts[0]}
            if len(parts) == 2 and "@" not in parts[1]:
                entry["language"] = parts[1].lower()
            elif len(parts) > 1:
                entry["email"] = line  # two addresses on a line, or a note: not an address, the validation says
            entries.append(entry)
        return entries


def _repeat_row(timepoint: dict) -> dict[str, str]:
    """A definition's repeat fields as the row shows them (a timepoint that happens once: empty)."""
    if not timepoint.get("repeat_every"):
        return {"repeat_every": "", "repeat_unit": RepeatUnit.WEEKS.value, "repeat_until": "", "repeat_count": ""}
    count = timepoint.get("repeat_count")
    return {"repeat_every": str(timepoint["repeat_every"]), "repeat_unit": timepoint.get("repeat_unit") or "days",
            "repeat_until": timepoint.get("repeat_until") or "", "repeat_count": "" if count is None else str(count)}


def _timepoint_entry(row: dict) -> dict:
    """A timepoint row as a definition's entry: no repeat fields unless an interval is typed (the unit a
    select always sends means nothing by itself)."""
    entry = {**row, "label_es": row.get("label_es") or None}
    if not str(row.get("repeat_every") or "").strip() and not str(row.get("repeat_count") or "").strip() \
            and not row.get("repeat_until"):
        for field in ("repeat_every", "repeat_unit", "repeat_until", "repeat_count"):
            entry.pop(field, None)
    return entry


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _number(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (10**9, value)


def study_form(**kwargs) -> StudyForm:
    """The study form, with a term set, the terms and a term search for each instrument with selectable
    items."""
    lang = current_language()
    fields = {}
    for instrument in library.selectable():
        name = instrument.title.get(lang)
        choices = [SelectChoice(CUSTOM_TERMS, _l("None: keep the terms ticked"))] + [
            SelectChoice(t.id, t.name.get(lang)) for t in instrument.term_sets]
        fields[_set_field(instrument)] = SelectField(_l("Start from a term set: %(instrument)s", instrument=name),
                                                     choices=choices, validators=[Optional()], validate_choice=True)
        fields[_terms_field(instrument)] = SelectMultipleField(
            _l("Terms asked: %(instrument)s", instrument=name), validate_choice=False,
            choices=[SelectChoice(str(t.number), f"{t.number}. {t.name.get(lang)}")
                     for t in instrument.selection_choices()])
        fields[_search_field(instrument)] = StringField(_l("Search the terms"), validators=[Length(max=100)])
    form = type("StudyForm", (StudyForm,), fields)(**kwargs)
    form._offer_instruments()
    return form


class ImportForm(FlaskForm):
    file = FileField(_l("Study definition file (YAML)"))
    definition = TextAreaField(_l("Or paste the definition"), validators=[Length(max=200000)])
    confirm = BooleanField(_l("Update the existing study with this definition"))
    reason = StringField(_l("Reason"), validators=[Length(max=500)])

    def text(self) -> str:
        """The uploaded file's text, else the pasted definition (StudyError: not UTF-8, or nothing given)."""
        upload = self.file.data
        if upload is not None and getattr(upload, "filename", ""):
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise StudyError([_("The file is not UTF-8 text.")]) from None
        else:
            text = self.definition.data or ""
        if not text.strip():
            raise StudyError([_("Choose a file or paste a study definition.")])
        return text


class ScheduleConfirmForm(FlaskForm):
    """Confirms a previewed schedule change: the definition as previewed, the preview's fingerprint, and the
    reason the audit record keeps."""

    definition = TextAreaField(validators=[DataRequired(), Length(max=200000)])
    fingerprint = StringField(validators=[DataRequired(), Length(max=64)])
    reason = StringField(_l("Reason for the change"), validators=[DataRequired(), Length(max=500)])
