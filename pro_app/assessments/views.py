"""Routes for one assessment: answers and scores, not done with a reason, paper entry, corrections."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from .. import audit
from ..access import EDITORS
from ..clock import utcnow
from ..i18n import LANGUAGE_NAMES, current_language
from ..instruments import InvalidChoice
from ..vocabulary import (
    ALERT_KIND_LABELS,
    ITEM_STATE_LABELS,
    MODE_LABELS,
    NOT_DONE_LABELS,
    SCORE_STATUS_LABELS,
)
from ..web.guards import back_on_expired_token, keeps_input, roles_required, staff_required
from ..web.lookups import assessment_or_404
from . import answers, services
from .forms import CorrectionForm, NotDoneForm, ReasonForm, correction_choices, current_choice, paper_form
from .schedule import site_today

bp = Blueprint("assessments", __name__, url_prefix="/staff")


@bp.get("/assessments/<int:assessment_id>")
@staff_required
def detail(assessment_id: int):
    found = assessment_or_404(assessment_id)
    audit.record_read("read.assessment", "assessment", found.id, user_id=g.user.id,
                      study_id=found.participant.study_id)
    lang = current_language()
    sections = services.sections(found, lang)
    for section in sections:
        for it in section["items"]:
            it["choices"] = correction_choices(it["instrument"], it["id"], lang)
            it["current"] = current_choice(it["instrument"], it["row"])
    return render_template(
        "assessments/detail.html", assessment=found, sections=sections,
        status=found.effective_status(site_today(found.participant, utcnow())),
        before_window=services.before_window(found), reason_form=ReasonForm(formdata=None),
        alerts=services.alerts_of(found), corrections=services.staff_changes(found),
        not_done_form=NotDoneForm(formdata=None), correction_form=CorrectionForm(formdata=None),
        can_edit=g.user.role in EDITORS, not_done_labels=NOT_DONE_LABELS, state_labels=ITEM_STATE_LABELS,
        score_labels=SCORE_STATUS_LABELS, mode_labels=MODE_LABELS, alert_labels=ALERT_KIND_LABELS,
        language_names=LANGUAGE_NAMES, paper_open=found.status in services.PAPER_STATUSES,
        format_datetime=format_datetime)


def _assessment_page(assessment_id: int, **_) -> str:
    return url_for(".detail", assessment_id=assessment_id)


@bp.post("/assessments/<int:assessment_id>/not-done")
@back_on_expired_token(_assessment_page)
@roles_required(EDITORS)
def not_done(assessment_id: int):
    found = assessment_or_404(assessment_id)
    form = NotDoneForm()
    if not form.validate():
        return render_template("assessments/form_error.html", form=form, assessment_id=assessment_id), 400
    if form.confirm.data != "yes":  # the first post asks: nothing changes until it is confirmed
        form.confirm.data = "yes"
        return render_template("assessments/confirm_not_done.html", form=form, assessment=found,
                               reason_label=NOT_DONE_LABELS.get(form.reason.data))
    try:
        services.mark_not_done(answers.lock(assessment_id), form.reason.data, form.note.data, user_id=g.user.id)
    except services.StaffActionError:
        abort(409)
    return redirect(url_for(".detail", assessment_id=assessment_id))


def _with_reason(assessment_id: int, action) -> object:
    """A staff action that needs a reason: 400 (with the form's errors) without one, 409 when it does not fit
    the assessment's state; back to the assessment when done."""
    assessment_or_404(assessment_id)
    form = ReasonForm()
    if not form.validate():
        return render_template("assessments/form_error.html", form=form, assessment_id=assessment_id), 400
    try:
        action(answers.lock(assessment_id), form.reason.data, user_id=g.user.id)
    except services.StaffActionError:
        abort(409)
    return redirect(url_for(".detail", assessment_id=assessment_id))


@bp.post("/assessments/<int:assessment_id>/reopen")
@back_on_expired_token(_assessment_page)
@roles_required(EDITORS)
def reopen(assessment_id: int):
    return _with_reason(assessment_id, services.reopen)


@bp.post("/assessments/<int:assessment_id>/close")
@back_on_expired_token(_assessment_page)
@roles_required(EDITORS)
def close(assessment_id: int):
    return _with_reason(assessment_id, services.close_now)


@bp.post("/assessments/<int:assessment_id>/early")
@back_on_expired_token(_assessment_page)
@roles_required(EDITORS)
def early(assessment_id: int):
    return _with_reason(assessment_id, services.confirm_early)


def _paper_problems(found, form) -> list[tuple[str, str]]:
    """(item id, label) of what keeps the paper form from being saved; marks the fields' errors."""
    if not form.validate():
        errors = [(field.name, field.label.text) for field in form if field.errors and field.name != "csrf_token"]
        if form.csrf_token.errors:
            errors.append(("", _l("The form has expired. Please enter it again.")))
        return errors
    bad = services.validate_paper(found, _paper_answers(form))
    for e in bad:
        form[e.item_id].errors = [_l("This answer is not one of the item's options.")]
    return [(e.item_id, form[e.item_id].label.text) for e in bad]


def _paper_answers(form) -> dict[str, str]:
    return {name: field.data for name, field in form._fields.items() if name not in ("language", "csrf_token")}


@bp.route("/assessments/<int:assessment_id>/paper", methods=["GET", "POST"])
@keeps_input
@roles_required(EDITORS)
def paper(assessment_id: int):
    found = assessment_or_404(assessment_id)
    if found.status not in services.PAPER_STATUSES or services.before_window(found):
        abort(409)
    plan = answers.plan_of(found)  # fixed when the paper is saved, not when the page is looked at
    form = paper_form(plan, current_language(), formdata=request.form if request.method == "POST" else None,
                      language=found.participant.language)
    errors = _paper_problems(found, form) if request.method == "POST" else []
    changes, reasons = [], {}
    if request.method == "POST" and not errors:
        reasons = {k.removeprefix("reason-"): v[:500] for k, v in request.form.items() if k.startswith("reason-")}
        try:
            services.enter_paper(answers.lock(assessment_id), _paper_answers(form), language=form.language.data,
                                 user_id=g.user.id, reasons=reasons, lang=current_language())
        except (services.StaffActionError, answers.AssessmentClosed):
            abort(409)
        except services.PaperConflict as conflict:
            changes = conflict.changes  # shown item by item, each with its reason to give
        else:
            return redirect(url_for(".detail", assessment_id=assessment_id))
    sections = [(answers.instrument_of(part), [form[i] for i in part.items]) for part in plan]
    return render_template("assessments/paper.html", assessment=found, form=form, sections=sections,
                           errors=errors, changes=changes, reasons=reasons), 400 if errors else 200


@bp.post("/assessments/<int:assessment_id>/answers/<item_id>/correct")
@back_on_expired_token(lambda assessment_id, item_id: url_for(".detail", assessment_id=assessment_id)
                       + f"#item-{item_id}")
@roles_required(EDITORS)
def correct(assessment_id: int, item_id: str):
    found = assessment_or_404(assessment_id)
    part = services.correctable_part(found, item_id)
    if part is None:
        abort(404)
    if found.status not in answers.SUBMITTED:
        abort(409)
    form = CorrectionForm()
    form.choice.choices = correction_choices(answers.instrument_of(part), item_id, current_language())
    if not form.validate():
        return render_template("assessments/form_error.html", form=form, assessment_id=assessment_id), 400
    try:
        services.correct_answer(answers.lock(assessment_id), item_id, form.choice.data, form.reason.data,
                                user_id=g.user.id)
    except services.StaffActionError:
        abort(409)
    except (InvalidChoice, ValueError, KeyError):
        abort(400)
    return redirect(url_for(".detail", assessment_id=assessment_id) + f"#item-{item_id}")
