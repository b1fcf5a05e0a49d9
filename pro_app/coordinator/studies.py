"""Staff routes for studies: list, create, edit, and export / import a study definition as YAML."""

from __future__ import annotations

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import access
from .. import studies as service
from ..extensions import db
from ..instruments import get_registry
from ..models import DEFAULT_THRESHOLDS, Study, StudyGrant
from .auth import staff_required
from .blueprint import bp
from .lookups import study_or_404
from .navigation import register

register("coordinator.studies", _l("Studies"), order=20)

CUSTOM_TERMS = ""

EXAMPLE_SITES = [{"code": "BCN", "name": "Hospital Barcelona", "timezone": "Europe/Madrid"}]
EXAMPLE_TIMEPOINTS = [
    {"code": "baseline", "label": "Baseline", "target_day": 0, "window_before": 14, "window_after": 3,
     "instruments": ["qlq_c30", "qlq_br45", "pro_ctcae"]},
    {"code": "wk12", "label": "Week 12", "target_day": 84, "window_before": 14, "window_after": 14,
     "instruments": ["qlq_c30", "qlq_br45", "pro_ctcae"]},
]


class StudyForm(FlaskForm):
    code = StringField(_l("Study code"), validators=[DataRequired(), Length(max=64)],
                       description=_l("For example the trial's NCT number. It cannot change later."))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    anchor_event = StringField(_l("Anchor event"), validators=[DataRequired(), Length(max=120)],
                               description=_l("The day 0 of every participant's schedule, for example the "
                                              "start of radiotherapy."))
    term_set = SelectField(_l("PRO-CTCAE term set"), validators=[Optional()])
    terms = StringField(_l("PRO-CTCAE term numbers"), validators=[Optional(), Length(max=1000)],
                        description=_l("Used when no term set is chosen: numbers separated by commas."))
    sites = TextAreaField(_l("Sites (YAML)"), validators=[Length(max=20000)],
                          description=_l("A list of sites, each with code, name and an IANA time zone."))
    timepoints = TextAreaField(_l("Timepoints (YAML)"), validators=[Length(max=50000)],
                               description=_l("A list of timepoints, each with code, label, target_day, "
                                              "window_before, window_after and instruments."))
    thresholds = TextAreaField(_l("Thresholds for flags (YAML)"), validators=[Length(max=20000)],
                               description=_l("Scale code, then below or above a score, for example PF2: "
                                              "{below: 83}."))
    reason = StringField(_l("Reason for the change"), validators=[Length(max=500)])


class ImportForm(FlaskForm):
    file = FileField(_l("Study definition file (YAML)"))
    definition = TextAreaField(_l("Or paste the definition"), validators=[Length(max=200000)])
    confirm = BooleanField(_l("Update the existing study with this definition"))
    reason = StringField(_l("Reason"), validators=[Length(max=500)])


def _term_sets():
    return get_registry().get("pro_ctcae").term_sets


def _prepare(form: StudyForm) -> None:
    form.term_set.choices = [SelectChoice(CUSTOM_TERMS, _l("None: use the numbers below"))] + [
        SelectChoice(t.id, getattr(t.name, str(get_locale() or "en"), t.name.en)) for t in _term_sets()]


def _fill(form: StudyForm, definition: dict) -> None:
    form.code.data, form.title.data = definition["code"], definition["title"]
    form.anchor_event.data = definition["anchor_event"]
    terms = tuple(definition["proctcae_terms"])
    form.term_set.data = next((t.id for t in _term_sets() if t.terms == terms), CUSTOM_TERMS)
    form.terms.data = ", ".join(str(n) for n in terms)
    form.sites.data = service.to_yaml(definition["sites"])
    form.timepoints.data = service.to_yaml(definition["timepoints"])
    form.thresholds.data = service.to_yaml(definition["thresholds"])


def _definition_from(form: StudyForm) -> dict:
    """The form's fields as a definition for the service to validate (errors are its messages)."""
    errors: list[str] = []
    parsed = {}
    for name in ("sites", "timepoints", "thresholds"):
        try:
            parsed[name] = service.parse_yaml(getattr(form, name).data or "")
        except service.StudyError:
            errors.append(_("%(field)s: the text is not valid YAML.", field=getattr(form, name).label.text))
    if form.term_set.data:
        terms = list(next(t.terms for t in _term_sets() if t.id == form.term_set.data))
    else:
        terms = [part.strip() for part in (form.terms.data or "").split(",") if part.strip()]
    if errors:
        raise service.StudyError(errors)
    return {"code": form.code.data, "title": form.title.data, "anchor_event": form.anchor_event.data,
            "sites": parsed["sites"], "timepoints": parsed["timepoints"], "proctcae_terms": terms,
            "thresholds": parsed["thresholds"]}




def may_edit(study: Study) -> bool:
    """Admins, and coordinators granted the whole study (not one site of it)."""
    if g.user.role == "admin":
        return True
    if g.user.role != "coordinator":
        return False
    return db.session.scalar(select(StudyGrant.id).where(StudyGrant.user_id == g.user.id,
                                                         StudyGrant.study_id == study.id,
                                                         StudyGrant.site_id.is_(None))) is not None


@bp.get("/studies")
@staff_required
def studies():
    listed = db.session.scalars(access.visible_studies(g.user)).all()
    editable = {s.id for s in listed if may_edit(s)}
    db.session.commit()
    return render_template("coordinator/studies/list.html", studies=listed, editable=editable)


@bp.route("/studies/new", methods=["GET", "POST"])
@staff_required
def study_new():
    if g.user.role != "admin":
        abort(403)
    form = StudyForm()
    _prepare(form)
    errors, status = [], 200
    if request.method == "GET":
        _fill(form, {"code": "", "title": "", "anchor_event": "Start of radiotherapy", "sites": EXAMPLE_SITES,
                     "timepoints": EXAMPLE_TIMEPOINTS,
                     "proctcae_terms": list(get_registry().get("pro_ctcae").default_term_set.terms),
                     "thresholds": DEFAULT_THRESHOLDS})
    elif form.validate():
        try:
            study = service.create_study(_definition_from(form), g.user, form.reason.data or None)
        except service.StudyError as exc:
            errors, status = exc.messages, 400
        else:
            db.session.commit()
            return redirect(url_for(".participants", code=study.code))
    else:
        errors, status = _form_errors(form), 400
    db.session.commit()
    return render_template("coordinator/studies/edit.html", form=form, study=None, errors=errors), status


@bp.route("/studies/<code>/edit", methods=["GET", "POST"])
@staff_required
def study_edit(code: str):
    study = study_or_404(code)
    if not may_edit(study):
        abort(403)
    form = StudyForm()
    _prepare(form)
    errors, status = [], 200
    if request.method == "GET":
        _fill(form, service.definition_of(study))
    else:
        form.code.data = study.code  # the code is the study's identity; the form cannot change it
        if not form.validate():
            errors, status = _form_errors(form), 400
        elif not (form.reason.data or "").strip():
            errors, status = [_("Give a reason for the change.")], 400
        else:
            try:
                service.update_study(study, _definition_from(form), g.user, form.reason.data.strip())
            except service.StudyError as exc:
                errors, status = exc.messages, 400
            else:
                db.session.commit()
                return redirect(url_for(".studies"))
    db.session.commit()
    return render_template("coordinator/studies/edit.html", form=form, study=study, errors=errors), status


def _form_errors(form: FlaskForm) -> list[str]:
    return [_("%(field)s: %(problem)s", field=getattr(form, name).label.text, problem=problem)
            for name, problems in form.errors.items() for problem in problems]


@bp.get("/studies/<code>/export.yaml")
@staff_required
def study_export(code: str):
    study = study_or_404(code)
    text = service.to_yaml(service.definition_of(study))
    db.session.commit()
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="study-{study.code}.yaml"'})


@bp.route("/studies/import", methods=["GET", "POST"])
@staff_required
def study_import():
    if g.user.role != "admin":
        abort(403)
    form = ImportForm()
    errors, status, pending = [], 200, None
    if request.method == "POST":
        text = ""
        upload = form.file.data
        if upload is not None and getattr(upload, "filename", ""):
            raw = upload.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                errors = [_("The file is not UTF-8 text.")]
        else:
            text = form.definition.data or ""
        if not form.validate():
            errors = errors or _form_errors(form)
        if not errors and not text.strip():
            errors = [_("Choose a file or paste a study definition.")]
        if errors:
            status = 400
        else:
            try:
                study, created = service.import_definition(text, g.user, (form.reason.data or "").strip() or None,
                                                           confirm_update=form.confirm.data)
            except service.StudyExists as exc:
                errors, status, pending = exc.messages, 409, text
            except service.StudyError as exc:
                errors, status = exc.messages, 400
                if form.confirm.data:
                    pending = text
            else:
                db.session.commit()
                return redirect(url_for(".studies"))
    db.session.commit()
    if pending is not None:
        form.definition.data = pending
    return render_template("coordinator/studies/import.html", form=form, errors=errors,
                           pending=pending), status
