"""Routes: participants of a study (with a site filter), enrol, one participant with the schedule, change
site / language / anchor date, withdraw. Every change goes through participants/services.py (audited)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from .. import access
from ..access import EDITORS
from ..assessments import unscheduled
from ..assessments.schedule import awaiting, schedule_labels, site_today
from ..clock import utcnow
from ..extensions import library
from ..i18n import LANGUAGE_NAMES, current_language
from ..vocabulary import ANCHOR_LABELS, ParticipantStatus
from ..web import navigation
from ..web.forms import ActionForm, form_errors
from ..web.guards import keeps_input, roles_required
from ..web.lookups import participant_or_404, study_or_404
from ..web.paging import page_number, paginate
from ..worklist.services import participant_assessments
from . import services
from .forms import ParticipantEditForm, ParticipantForm, SubjectForm, WithdrawForm, unscheduled_form

bp = Blueprint("participants", __name__, url_prefix="/staff")


@bp.get("/studies/<code>/participants")
@roles_required(EDITORS)
def index(code: str):
    study = study_or_404(code)
    sites = access.granted_sites(g.user, study)
    chosen = request.args.get("site", "")
    site = services.site_named(sites, chosen) if chosen else None
    if chosen and site is None:
        abort(404)
    search = request.args.get("q", "").strip()[:64]
    arm = request.args.get("arm", "")
    arm = arm if arm in (study.arms or ()) else ""
    status = request.args.get("status", "")
    status = status if status in tuple(ParticipantStatus) else ""
    page = paginate(services.listed(g.user, study, site, search=search, arm=arm, status=status),
                    page_number(request.args.get("page")))
    return render_template("participants/list.html", study=study, participants=page.items, page=page,
                           sites=sites, chosen=site.code if site else "", search=search, arm=arm, status=status,
                           statuses=tuple(ParticipantStatus), language_names=LANGUAGE_NAMES)


@bp.route("/studies/<code>/participants/new", methods=["GET", "POST"])
@keeps_input
@roles_required(EDITORS)
def new(code: str):
    study = study_or_404(code)
    sites = access.granted_sites(g.user, study)
    form = ParticipantForm()
    form.offer(sites)
    errors, status = [], 200
    if request.method == "POST":
        if not form.validate():
            errors, status = form_errors(form), 400
        else:
            site = next(s for s in sites if s.id == form.site.data)
            try:
                participant = services.enrol(study, site, form.study_code.data.strip(), form.language.data,
                                             form.anchor_date.data, g.user, (form.reason.data or "").strip() or None)
            except services.ParticipantError as exc:
                errors, status = exc.messages, 400
            else:
                return redirect(url_for(".detail", participant_id=participant.id))
    elif len(sites) == 1:
        form.site.data = sites[0].id
    return render_template("participants/new.html", study=study, form=form, errors=errors), status


@bp.get("/participants/<int:participant_id>")
@roles_required(EDITORS)
def detail(participant_id: int):
    participant = participant_or_404(participant_id)
    today = site_today(participant, utcnow())
    rows = [(a, a.effective_status(today)) for a in participant_assessments(participant)]
    return render_template("participants/detail.html", participant=participant, rows=rows,
                           awaiting=awaiting(participant), anchor_labels=ANCHOR_LABELS, language=current_language(),
                           today=today, form=ActionForm(), language_names=LANGUAGE_NAMES,
                           back=navigation.return_to(request.args.get("back")))


@bp.route("/participants/<int:participant_id>/edit", methods=["GET", "POST"])
@keeps_input
@roles_required(EDITORS)
def edit(participant_id: int):
    participant = participant_or_404(participant_id)
    sites = access.granted_sites(g.user, participant.study)
    form = ParticipantEditForm(obj=participant if request.method == "GET" else None)
    form.offer(sites)
    errors, status = [], 200
    if request.method == "GET":
        form.site.data = participant.site_id
    elif not form.validate():
        errors, status = form_errors(form), 400
    else:
        site = next(s for s in sites if s.id == form.site.data)
        changes = services.change_participant(
            participant, site=site, language=form.language.data, anchor=form.anchor_date.data, user=g.user,
            reason=form.reason.data.strip(), treatment_end=form.treatment_end.data,
            enrolled_on=form.enrolled_on.data)
        if not any(changes.values()):
            return redirect(url_for(".detail", participant_id=participant.id))
        return render_template("participants/rescheduled.html", participant=participant, changes=changes,
                               iso_date=date.fromisoformat,
                               labels=schedule_labels(participant.study, current_language()))
    return render_template("participants/edit.html", participant=participant, form=form,
                           errors=errors), status


@bp.route("/participants/<int:participant_id>/withdraw", methods=["GET", "POST"])
@keeps_input
@roles_required(EDITORS)
def withdraw(participant_id: int):
    participant = participant_or_404(participant_id)
    form = WithdrawForm()
    errors, status = [], 200
    if request.method == "GET":
        form.withdrawn_on.data = site_today(participant, utcnow())
    else:
        if not form.validate():
            errors, status = form_errors(form), 400
        else:
            try:
                services.withdraw(participant, g.user, form.reason.data.strip(), on=form.withdrawn_on.data,
                                  follow_up_continues=form.follow_up_continues.data)
            except services.ParticipantError as exc:
                errors, status = exc.messages, 409
            else:
                return redirect(url_for(".detail", participant_id=participant.id))
    return render_template("participants/withdraw.html", participant=participant, form=form,
                           errors=errors), status


@bp.route("/participants/<int:participant_id>/subject", methods=["GET", "POST"])
@keeps_input
@roles_required(EDITORS)
def subject(participant_id: int):
    """Subject data: consent date, arm or cohort, death, and a withdrawal's details; every change audited."""
    participant = participant_or_404(participant_id)
    form = SubjectForm(obj=participant if request.method == "GET" else None)
    form.offer(list(participant.study.arms or ()))
    errors, status = [], 200
    if request.method == "GET":
        form.arm.data = participant.arm or ""
    elif not form.validate():
        errors, status = form_errors(form), 400
    else:
        try:
            services.change_subject_data(
                participant, user=g.user, reason=form.reason.data.strip(), consent_date=form.consent_date.data,
                arm=form.arm.data or None, death_date=form.death_date.data, withdrawn_on=form.withdrawn_on.data,
                withdrawn_reason=form.withdrawn_reason.data, follow_up_continues=form.follow_up_continues.data)
        except services.ParticipantError as exc:
            errors, status = exc.messages, 400
        else:
            return redirect(url_for(".detail", participant_id=participant.id))
    return render_template("participants/subject.html", participant=participant, form=form,
                           errors=errors), status


@bp.route("/participants/<int:participant_id>/unscheduled", methods=["GET", "POST"])
@keeps_input
@roles_required(EDITORS)
def add_unscheduled(participant_id: int):
    """Add an unscheduled assessment: any of the study's instruments (and terms), a reason, a date."""
    participant = participant_or_404(participant_id)
    instruments = unscheduled.study_instruments(participant)
    selections = {i.id: participant.study.selection_of(i) for i in library.selectable()}
    form = unscheduled_form(instruments, selections)
    errors, status = [], 200
    if request.method == "GET":
        form.on.data = site_today(participant, utcnow())
        form.instruments.data = list(instruments)
    elif not form.validate():
        errors, status = form_errors(form), 400
    else:
        try:
            unscheduled.add_unscheduled(participant, instruments=list(form.instruments.data or []),
                                        terms=form.chosen_terms(), reason=form.reason.data, on=form.on.data,
                                        user=g.user)
        except unscheduled.UnscheduledError as exc:
            errors, status = exc.messages, 400
        else:
            return redirect(url_for(".detail", participant_id=participant.id))
    return render_template("participants/unscheduled.html", participant=participant, form=form,
                           errors=errors), status
