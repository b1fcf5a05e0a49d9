"""Study forms: the study's definition (fields, plus sites, timepoints and thresholds as YAML) and import."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import safe_yaml
from ..extensions import library
from ..i18n import current_language
from .definition import StudyError, StudyYamlError, parse_yaml, to_yaml

#: The term-set choice that means "use the numbers typed below".
CUSTOM_TERMS = ""


def _set_field(instrument) -> str:
    return f"term_set__{instrument.id}"


def _terms_field(instrument) -> str:
    return f"terms__{instrument.id}"


class StudyForm(FlaskForm):
    """The study's fields; `study_form()` adds a term set and term numbers for each instrument with
    selectable items (field names `term_set__<instrument>` and `terms__<instrument>`)."""

    code = StringField(_l("Study code"), validators=[DataRequired(), Length(max=64)],
                       description=_l("For example the trial's NCT number. It cannot change later."))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    anchor_event = StringField(_l("Anchor event"), validators=[DataRequired(), Length(max=120)],
                               description=_l("The day 0 of every participant's schedule, for example the "
                                              "start of radiotherapy."))
    arms = StringField(_l("Arms or cohorts"), validators=[Length(max=3000)],
                       description=_l("Codes separated by commas, for example A, B. Leave empty for a single-arm "
                                      "study."))
    sites = TextAreaField(_l("Sites (YAML)"), validators=[Length(max=20000)],
                          description=_l("A list of sites, each with code, name and an IANA time zone."))
    timepoints = TextAreaField(_l("Timepoints (YAML)"), validators=[Length(max=50000)],
                               description=_l("A list of timepoints, each with code, label, target_day, "
                                              "window_before, window_after and instruments."))
    thresholds = TextAreaField(_l("Thresholds for flags (YAML)"), validators=[Length(max=20000)],
                               description=_l("Scale code, then below or above a score, for example PF2: "
                                              "{below: 83}."))
    alert_rules = TextAreaField(_l("Alert rules (YAML)"), validators=[Length(max=20000)],
                                description=_l("A list of rules, each with kind (grade_at_least, "
                                               "worsening_grade, item_value, threshold, worsening_score), "
                                               "value, optional source (a scale or item), urgency (urgent, "
                                               "review or note), enabled and exclude_baseline."))
    double_entry = BooleanField(_l("Double data entry of paper forms"),
                                description=_l("Each paper form is keyed twice, by two staff members, and stored "
                                               "once both keyings agree (differences decided item by item)."))
    reason = StringField(_l("Reason for the change"), validators=[Length(max=500)])

    def selection_fields(self) -> list[tuple[SelectField, StringField]]:
        """(term set, term numbers) per instrument with selectable items, in the registry's order."""
        return [(self[_set_field(i)], self[_terms_field(i)]) for i in library.selectable()]

    def fill(self, definition: dict) -> None:
        """Show a definition (services' plain-data form of a study) in the fields."""
        self.code.data, self.title.data = definition["code"], definition["title"]
        self.anchor_event.data = definition["anchor_event"]
        self.arms.data = ", ".join(definition.get("arms") or ())
        for instrument in library.selectable():
            terms = tuple(definition["selections"].get(instrument.id, ()))
            self[_set_field(instrument)].data = next((t.id for t in instrument.term_sets if t.terms == terms),
                                                     CUSTOM_TERMS)
            self[_terms_field(instrument)].data = ", ".join(str(n) for n in terms)
        self.sites.data = to_yaml(definition["sites"])
        self.timepoints.data = to_yaml(definition["timepoints"])
        self.thresholds.data = to_yaml(definition["thresholds"])
        self.alert_rules.data = to_yaml(definition["alert_rules"])
        self.double_entry.data = bool(definition.get("double_entry"))

    def definition(self) -> dict:
        """The fields as a definition for the services to validate (StudyError: YAML that does not parse)."""
        errors: list[str] = []
        parsed = {}
        for name in ("sites", "timepoints", "thresholds", "alert_rules"):
            try:
                parsed[name] = parse_yaml(getattr(self, name).data or "")
            except StudyYamlError as error:
                label = getattr(self, name).label.text
                errors.append(_("%(field)s: the text is not valid YAML.", field=label) if error.kind == safe_yaml.SYNTAX
                              else _("%(field)s: %(problem)s", field=label, problem=error.messages[0]))
        if errors:
            raise StudyError(errors)
        selections = {}
        for instrument in library.selectable():
            chosen = self[_set_field(instrument)].data
            typed = [p.strip() for p in (self[_terms_field(instrument)].data or "").split(",") if p.strip()]
            terms = typed
            if chosen:
                terms = list(instrument.term_set(chosen).terms)
                if typed and typed != [str(n) for n in terms]:
                    errors.append(_("%(instrument)s: choose a term set or type term numbers; the numbers typed "
                                    "differ from the set.", instrument=instrument.title.get(current_language())))
            if terms:
                selections[instrument.id] = terms
        if errors:
            raise StudyError(errors)
        arms = [a.strip() for a in (self.arms.data or "").split(",") if a.strip()]
        return {"code": self.code.data, "title": self.title.data, "anchor_event": self.anchor_event.data,
                "arms": arms, "sites": parsed["sites"], "timepoints": parsed["timepoints"], "selections": selections,
                "thresholds": parsed["thresholds"], "alert_rules": parsed["alert_rules"],
                "double_entry": bool(self.double_entry.data)}


def study_form(**kwargs) -> StudyForm:
    """The study form, with a term set and term numbers for each instrument with selectable items."""
    lang = current_language()
    fields = {}
    for instrument in library.selectable():
        name = instrument.title.get(lang)
        choices = [SelectChoice(CUSTOM_TERMS, _l("None: use the numbers below"))] + [
            SelectChoice(t.id, t.name.get(lang)) for t in instrument.term_sets]
        fields[_set_field(instrument)] = SelectField(_l("Term set: %(instrument)s", instrument=name),
                                                     choices=choices, validators=[Optional()], validate_choice=True)
        fields[_terms_field(instrument)] = StringField(
            _l("Term numbers: %(instrument)s", instrument=name), validators=[Optional(), Length(max=1000)],
            description=_l("Used when no term set is chosen: numbers separated by commas."))
    return type("StudyForm", (StudyForm,), fields)(**kwargs)


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
