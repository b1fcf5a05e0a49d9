"""Staff routes for one assessment: answers and scores, not done with a reason, paper entry, corrections."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..assessments import answers, staff
from ..extensions import db
from ..i18n import (
    ALERT_KIND_LABELS,
    ITEM_STATE_LABELS,
    LANGUAGE_NAMES,
    LANGUAGES,
    MODE_LABELS,
    NOT_DONE_LABELS,
    SCORE_STATUS_LABELS,
)
from ..models import Alert, AuditEvent
from .auth import staff_required
from .blueprint import bp
from .lookups import assessment_or_404

EDIT_ROLES = ("admin", "coordinator")



class NotDoneForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=[SelectChoice(k, v) for k, v in NOT_DONE_LABELS.items()],
                         validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])

    def validate_note(self, field):
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError(_l("Please explain the reason in the note."))


class CorrectionForm(FlaskForm):
    choice = SelectField(_l("New answer"), validators=[DataRequired()], validate_choice=True)
    reason = StringField(_l("Reason for the correction"), validators=[DataRequired(), Length(max=500)])


def _lang() -> str:
    return str(get_locale() or "en")


def _require_edit() -> None:
    if g.user.role not in EDIT_ROLES:
        abort(403)




def _choices(instrument, item_id: str, lang: str, blank=None) -> list[SelectChoice]:
    options = instrument.item(item_id).option_set.options
    choices = [SelectChoice("", blank)] if blank is not None else []
    for o in options:
        key = str(o.value) if o.value is not None else o.code
        label = f"{o.value} · {o.label.get(lang)}" if o.value is not None else o.label.get(lang)
        choices.append(SelectChoice(key, label))
    return choices


def _answer_label(instrument, row, lang: str) -> str:
    options = instrument.item(row.item_id).option_set.options
    for o in options:
        if row.state == "answered" and o.value is not None and o.value == row.value:
            return f"{o.value} · {o.label.get(lang)}"
        if row.option_code and o.code == row.option_code:
            return o.label.get(lang)
    return ""


def _sections(assessment, lang: str) -> list[dict]:
    """Per instrument: its items with text, answer and state, and its scores."""
    rows = answers.responses_by_item(assessment)
    scores = {s.scale_code: s for s in assessment.scores}
    sections = []
    for part in assessment.plan or []:
        instrument = answers.instrument_of(part)
        items = []
        for item_id in part["items"]:
            item = instrument.item(item_id)
            row = rows.get(item_id)
            items.append({"id": item_id, "number": item.number, "text": item.text.get(lang), "row": row,
                          "answer": _answer_label(instrument, row, lang) if row else "",
                          "choices": _choices(instrument, item_id, lang)})
        scale_rows = [(scale, scores[scale.code]) for scale in instrument.scales if scale.code in scores]
        sections.append({"instrument": instrument, "version": part["version"], "items": items,
                         "scores": scale_rows})
    return sections


@bp.get("/assessments/<int:assessment_id>")
@staff_required
def assessment(assessment_id: int):
    found = assessment_or_404(assessment_id)
    lang = _lang()
    alerts = db.session.scalars(select(Alert).where(Alert.assessment_id == found.id).order_by(Alert.id)).all()
    corrections = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "item_response",
                                 AuditEvent.entity_id.in_([r.id for r in found.responses] or [-1]),
                                 AuditEvent.actor == "user")
        .order_by(AuditEvent.id)).all()
    page = render_template(
        "coordinator/assessments/detail.html", assessment=found, sections=_sections(found, lang),
        alerts=alerts, corrections=corrections, not_done_form=NotDoneForm(formdata=None),
        correction_form=CorrectionForm(formdata=None), can_edit=g.user.role in EDIT_ROLES,
        not_done_labels=NOT_DONE_LABELS, state_labels=ITEM_STATE_LABELS, score_labels=SCORE_STATUS_LABELS,
        mode_labels=MODE_LABELS, alert_labels=ALERT_KIND_LABELS, language_names=LANGUAGE_NAMES,
        paper_open=found.status in staff.PAPER_STATUSES, format_datetime=format_datetime)
    db.session.commit()
    return page


@bp.post("/assessments/<int:assessment_id>/not-done")
@staff_required
def assessment_not_done(assessment_id: int):
    _require_edit()
    assessment_or_404(assessment_id)
    form = NotDoneForm()
    if not form.validate():
        db.session.rollback()
        return render_template("coordinator/assessments/form_error.html", form=form,
                               assessment_id=assessment_id), 400
    locked = answers.lock(assessment_id)
    try:
        staff.mark_not_done(locked, form.reason.data, form.note.data, user_id=g.user.id)
    except staff.StaffActionError:
        db.session.rollback()
        abort(409)
    db.session.commit()
    return redirect(url_for(".assessment", assessment_id=assessment_id))


def _paper_form_class(assessment, lang: str):
    """A form with one select per item of the plan (field name = item id) and the paper's language."""
    blank = _l("(blank: not answered)")
    fields = {"language": SelectField(_l("Language of the paper form"),
                                      choices=[SelectChoice(c, LANGUAGE_NAMES[c]) for c in LANGUAGES])}
    for part in answers.ensure_plan(assessment):
        instrument = answers.instrument_of(part)
        for item_id in part["items"]:
            item = instrument.item(item_id)
            fields[item_id] = SelectField(f"{item.number}. {item.text.get(lang)}",
                                          choices=_choices(instrument, item_id, lang, blank=blank),
                                          validators=[Optional()], validate_choice=False)
    return type("PaperForm", (FlaskForm,), fields)


@bp.route("/assessments/<int:assessment_id>/paper", methods=["GET", "POST"])
@staff_required
def paper_entry(assessment_id: int):
    _require_edit()
    found = assessment_or_404(assessment_id)
    if found.status not in staff.PAPER_STATUSES:
        db.session.rollback()
        abort(409)
    lang = _lang()
    form = _paper_form_class(found, lang)(formdata=request.form if request.method == "POST" else None,
                                          language=found.participant.language)
    errors, status = [], 200
    if request.method == "POST":
        given = {name: field.data for name, field in form._fields.items() if name not in ("language", "csrf_token")}
        if not form.validate():
            errors = [(field.name, field.label.text) for field in form if field.errors and field.name != "csrf_token"]
            if form.csrf_token.errors:
                errors.append(("", _l("The form has expired. Please enter it again.")))
            status = 400
        else:
            bad = staff.validate_paper(found, given)
            if bad:
                for e in bad:
                    form[e.item_id].errors = [_l("This answer is not one of the item's options.")]
                errors = [(e.item_id, form[e.item_id].label.text) for e in bad]
                status = 400
            else:
                locked = answers.lock(assessment_id)
                try:
                    staff.enter_paper(locked, given, language=form.language.data, user_id=g.user.id)
                except (staff.StaffActionError, answers.AssessmentClosed):
                    db.session.rollback()
                    abort(409)
                db.session.commit()
                return redirect(url_for(".assessment", assessment_id=assessment_id))
    sections = []
    for part in answers.ensure_plan(found):
        instrument = answers.instrument_of(part)
        sections.append((instrument, [form[i] for i in part["items"]]))
    page = render_template("coordinator/assessments/paper.html", assessment=found, form=form,
                           sections=sections, errors=errors)
    db.session.rollback()  # the plan is fixed when the paper is saved, not when the page is looked at
    return page, status


@bp.post("/assessments/<int:assessment_id>/answers/<item_id>/correct")
@staff_required
def correct_answer(assessment_id: int, item_id: str):
    _require_edit()
    found = assessment_or_404(assessment_id)
    part = next((p for p in found.plan or [] if item_id in p["items"]), None)
    if part is None:
        abort(404)
    if found.status != "completed":
        abort(409)
    form = CorrectionForm()
    form.choice.choices = _choices(answers.instrument_of(part), item_id, _lang())
    if not form.validate():
        db.session.rollback()
        return render_template("coordinator/assessments/form_error.html", form=form,
                               assessment_id=assessment_id), 400
    locked = answers.lock(assessment_id)
    try:
        staff.correct_answer(locked, item_id, form.choice.data, form.reason.data, user_id=g.user.id)
    except staff.StaffActionError:
        db.session.rollback()
        abort(409)
    except (answers.InvalidChoice, ValueError, KeyError):
        db.session.rollback()
        abort(400)
    db.session.commit()
    return redirect(url_for(".assessment", assessment_id=assessment_id) + f"#item-{item_id}")
