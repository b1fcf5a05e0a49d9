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
from ..kiosk import services as kiosk_services
from ..vocabulary import (
    ALERT_KIND_LABELS,
    ITEM_STATE_LABELS,
    MODE_LABELS,
    NOT_DONE_LABELS,
    SCORE_STATUS_LABELS,
)
from ..web.forms import ActionForm
from ..web.guards import back_on_expired_token, keeps_input, roles_required, staff_required
from ..web.lookups import assessment_or_404
from . import answers, double_entry, paper, services
from .forms import (
    PAPER_HEADER,
    CorrectionForm,
    NotDoneForm,
    ReasonForm,
    ResolveForm,
    correction_choices,
    current_choice,
    paper_form,
    paper_rows,
    resolution_rows,
)
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
        language_names=LANGUAGE_NAMES, paper_open=found.status in paper.PAPER_STATUSES,
        keyings=double_entry.pending(found) if double_entry.required(found) else [],
        format_datetime=format_datetime, open_on=kiosk_services.open_on(found), release_form=ActionForm())


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
    """(field name, label) of what keeps the paper form from being saved; marks the fields' errors."""
    if not form.validate():
        errors = [(field.name, field.label.text) for field in form if field.errors and field.name != "csrf_token"]
        if form.csrf_token.errors:
            errors.append(("", _l("The form has expired. Please enter it again.")))
        return errors
    bad = paper.validate_choices(found, _paper_answers(form))
    for e in bad:
        form[e.item_id].errors = [_l("This answer is not one of the item's options.")]
    return [(e.item_id, form[e.item_id].label.text) for e in bad]


def _paper_answers(form) -> dict[str, str]:
    return {name: field.data for name, field in form._fields.items()
            if name not in PAPER_HEADER and name != "csrf_token"}


def _header(form) -> paper.PaperHeader:
    return paper.PaperHeader(form.completed_on.data, form.mode.data, form.administered_by.data or "",
                             form.language.data)


def _reasons() -> dict[str, str]:
    return {k.removeprefix("reason-"): v[:500] for k, v in request.form.items() if k.startswith("reason-")}


def _keyer_state(found) -> tuple[str | None, list]:
    """Under double entry: "first" (nobody has keyed it), "own" (this user keyed it first and must wait for
    someone else), "second" (someone else keyed it first: this is the blind second keying) or "resolve"
    (both keyings are in and disagree). None without double entry."""
    if not double_entry.required(found):
        return None, []
    keyings = double_entry.pending(found)
    if not keyings:
        return "first", keyings
    if len(keyings) >= 2:
        return "resolve", keyings
    return ("own" if keyings[0].user_id == g.user.id else "second"), keyings


@bp.route("/assessments/<int:assessment_id>/paper", methods=["GET", "POST"], endpoint="paper")
@keeps_input
@roles_required(EDITORS)
def paper_entry(assessment_id: int):
    found = assessment_or_404(assessment_id)
    if found.status not in paper.PAPER_STATUSES or services.before_window(found):
        abort(409)
    keying, keyings = _keyer_state(found)
    if keying == "resolve":
        return redirect(url_for(".resolve", assessment_id=assessment_id))
    plan = answers.plan_of(found)  # fixed when the paper is saved, not when the page is looked at
    form = paper_form(plan, current_language(), formdata=request.form if request.method == "POST" else None,
                      language=found.participant.language)
    posted = request.method == "POST" and keying != "own"
    errors = _paper_problems(found, form) if posted else []
    changes, reasons, outside = [], {}, False
    if posted and not errors:
        reasons = _reasons()
        try:
            if keying is None:
                paper.enter_paper(answers.lock(assessment_id), _paper_answers(form), _header(form),
                                  user_id=g.user.id, reasons=reasons, lang=current_language(),
                                  outside_confirmed=form.confirm_outside.data)
            else:
                double_entry.key(answers.lock(assessment_id), _paper_answers(form), _header(form),
                                 user_id=g.user.id, reasons=reasons, lang=current_language(),
                                 outside_confirmed=form.confirm_outside.data)
        except (services.StaffActionError, answers.AssessmentClosed):
            abort(409)
        except paper.PaperDateRefused as refused:
            form.completed_on.errors = [str(refused)]
            errors = [("completed_on", form.completed_on.label.text)]
        except paper.OutsideWindow:
            outside = True  # shown with the confirmation to tick
        except paper.PaperConflict as conflict:
            changes = conflict.changes  # shown item by item, each with its reason to give
        else:
            return redirect(url_for(".detail", assessment_id=assessment_id))
    return render_template("assessments/paper.html", assessment=found, form=form,
                           sections=paper_rows(plan, current_language()), errors=errors, changes=changes,
                           reasons=reasons, outside=outside, keying=keying,
                           today=site_today(found.participant, utcnow()), earliest=paper.earliest_date(found),
                           first_keyer=keyings[0].user if keyings else None), 400 if errors else 200


@bp.route("/assessments/<int:assessment_id>/paper/resolve", methods=["GET", "POST"])
@roles_required(EDITORS)
def resolve(assessment_id: int):
    """The discrepancies of the two keyings, item by item: each decided as on the paper, with a reason."""
    found = assessment_or_404(assessment_id)
    if found.status not in paper.PAPER_STATUSES:
        abort(409)
    keyings = double_entry.pending(found)
    if len(keyings) < 2:
        abort(409)
    form = ResolveForm(formdata=request.form if request.method == "POST" else None)
    found_discrepancies = double_entry.discrepancies(found, keyings[0], keyings[1])
    missing, changes, reasons, outside = [], [], {}, False
    if request.method == "POST":
        if not form.validate():
            abort(400)
        decisions = {k.removeprefix("decide-"): v for k, v in request.form.items() if k.startswith("decide-")}
        why = {k.removeprefix("why-"): v[:500] for k, v in request.form.items() if k.startswith("why-")}
        reasons = _reasons()
        try:
            double_entry.resolve(answers.lock(assessment_id), decisions, why, user_id=g.user.id, reasons=reasons,
                                 lang=current_language(), outside_confirmed=request.form.get("confirm_outside") == "y")
        except services.StaffActionError:
            abort(409)
        except (InvalidChoice, ValueError) as problem:
            missing = getattr(problem, "missing", None) or [d.field for d in found_discrepancies]
        except paper.PaperDateRefused as refused:
            missing = [str(refused)]
        except paper.OutsideWindow:
            outside = True
        except paper.PaperConflict as conflict:
            changes = conflict.changes
        else:
            return redirect(url_for(".detail", assessment_id=assessment_id))
    return render_template("assessments/resolve.html", assessment=found, form=form, keyings=keyings,
                           rows=resolution_rows(found, found_discrepancies, current_language()), missing=missing,
                           changes=changes, reasons=reasons, outside=outside,
                           posted=request.form if request.method == "POST" else {}), 400 if missing else 200


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
