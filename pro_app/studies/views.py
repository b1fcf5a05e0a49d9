"""Routes: list studies, create and edit one, and export / import a study definition as YAML."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import access
from ..alerts import notify
from ..alerts.rules import default_rules
from ..alerts.services import DEFAULT_ACTIONS
from ..extensions import db, library
from ..models import default_thresholds
from ..vocabulary import ANCHOR_LABELS
from ..web import navigation
from ..web.forms import form_errors
from ..web.guards import keeps_input, staff_required
from ..web.lookups import study_or_404
from . import services
from .definition import StudyError, StudyExists, definition_of, parse_yaml, to_yaml
from .forms import ImportForm, ScheduleConfirmForm, study_form

bp = Blueprint("studies", __name__, url_prefix="/staff")
navigation.register("studies.index", _l("Studies"), order=20)

EXAMPLE_SITES = [{"code": "BCN", "name": "Hospital Barcelona", "timezone": "Europe/Madrid"}]


def _example_definition() -> dict:
    """What a new study's form starts with: every instrument in use at a baseline and a week-12 visit."""
    instruments = list(library.registry.ids)
    return {"code": "", "title": "", "anchor_event": "Start of radiotherapy", "sites": EXAMPLE_SITES,
            "timepoints": [
                {"code": "baseline", "label": "Baseline", "label_es": "Basal", "anchor": "treatment_start",
                 "target_day": 0, "window_before": 14, "window_after": 3, "instruments": instruments},
                {"code": "wk12", "label": "Week 12", "label_es": "Semana 12", "anchor": "treatment_start",
                 "target_day": 84, "window_before": 14, "window_after": 14, "instruments": instruments}],
            "selections": {i.id: list(i.default_selection()) for i in library.selectable()},
            "thresholds": default_thresholds(), "alert_rules": default_rules(), "alert_actions": list(DEFAULT_ACTIONS),
            "alert_recipients": [], "alert_digest": False}


@bp.get("/studies")
@staff_required
def index():
    listed = db.session.scalars(access.visible_studies(g.user)).all()
    editable = {s.id for s in listed if access.may_edit_study(g.user, s)}
    return render_template("studies/list.html", studies=listed, editable=editable,
                           may_create=access.may_create_study(g.user))


def _row_action(form):
    """A form re-shown with its rows changed when a row button (add, remove, move, term set, search) was
    pressed; None when Save was."""
    action = form.row_action(request.form)
    if action is None:
        return None
    rows = form.apply_action(action)
    shown = study_form(formdata=None)
    shown.fill_rows(rows)
    return shown


@bp.route("/studies/new", methods=["GET", "POST"])
@keeps_input
@staff_required
def new():
    if not access.may_create_study(g.user):
        abort(403)
    form = study_form()
    errors, status = [], 200
    if request.method == "GET":
        form.fill(_example_definition())
    elif (changed := _row_action(form)) is not None:
        form = changed
    elif not form.validate():
        errors, status = form_errors(form), 400
    else:
        try:
            study = services.create_study(form.definition(), g.user, form.reason.data or None)
        except StudyError as exc:
            errors, status = exc.messages, 400
        else:
            return redirect(url_for("participants.index", code=study.code))
    return render_template("studies/edit.html", form=form, study=None, errors=errors, unreachable=()), status


def _editable_study(code: str):
    """The study, for a user who may edit it (404: no such study; 403: not theirs to edit)."""
    study = study_or_404(code)
    if not access.may_edit_study(g.user, study):
        abort(403)
    return study


@bp.route("/studies/<code>/edit", methods=["GET", "POST"])
@keeps_input
@staff_required
def edit(code: str):
    study = _editable_study(code)
    form = study_form()
    errors, status = [], 200
    if request.method == "GET":
        form.fill(definition_of(study))
    elif (changed := _row_action(form)) is not None:
        form = changed
        form.code.data = study.code
    else:
        form.code.data = study.code  # the code is the study's identity; the form cannot change it
        if not form.validate():
            errors, status = form_errors(form), 400
        elif not (form.reason.data or "").strip():
            errors, status = [_("Give a reason for the change.")], 400
        else:
            try:
                services.update_study(study, form.definition(), g.user, form.reason.data.strip())
            except services.ScheduleChange as change:
                return _confirm_page(study, change, form.reason.data.strip())
            except StudyError as exc:
                errors, status = exc.messages, 400
            else:
                return redirect(url_for(".index"))
    return render_template("studies/edit.html", form=form, study=study, errors=errors,
                           unreachable=notify.unreachable(study)), status


@bp.get("/studies/<code>/export.yaml")
@staff_required
def export(code: str):
    study = study_or_404(code)
    return Response(to_yaml(definition_of(study)), mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="study-{study.code}.yaml"'})


@bp.route("/studies/import", methods=["GET", "POST"])
@keeps_input
@staff_required
def import_():
    if not access.may_create_study(g.user):
        abort(403)
    form = ImportForm()
    errors, status, pending = [], 200, None
    if request.method == "POST":
        try:
            if not form.validate():
                raise StudyError(form_errors(form))
            text = form.text()
            pending = text if form.confirm.data else None
            services.import_definition(text, g.user, (form.reason.data or "").strip() or None,
                                       confirm_update=form.confirm.data)
        except services.ScheduleChange as change:
            return _confirm_page(services.find(change.clean["code"]), change, (form.reason.data or "").strip())
        except StudyExists as exc:
            errors, status, pending = exc.messages, 409, text
        except StudyError as exc:
            errors, status = exc.messages, 400
        else:
            return redirect(url_for(".index"))
    if pending is not None:
        form.definition.data = pending
    return render_template("studies/import.html", form=form, errors=errors, pending=pending), status


#: Rows of moved or added assessments the confirmation page lists (the counts cover them all).
PREVIEW_ROWS = 200


def _confirm_page(study, change: services.ScheduleChange, reason: str, form: ScheduleConfirmForm | None = None,
                  errors: list[str] = (), status: int = 200):
    """The schedule change's preview: which assessments move or are added, a reason, and a confirm button."""
    if form is None:
        form = ScheduleConfirmForm(formdata=None, reason=reason)
    form.definition.data = to_yaml(change.clean)
    form.fingerprint.data = change.preview.fingerprint
    return render_template("studies/confirm_schedule.html", study=study, preview=change.preview, form=form,
                           errors=list(errors), rows=PREVIEW_ROWS, anchor_labels=ANCHOR_LABELS), status


@bp.post("/studies/<code>/schedule/confirm")
@keeps_input
@staff_required
def confirm_schedule(code: str):
    """Apply a previewed schedule change once confirmed with a reason; a stale preview is shown again."""
    study = _editable_study(code)
    form = ScheduleConfirmForm()
    try:
        data = parse_yaml(form.definition.data or "")
        if not form.validate():
            # the definition is re-checked by the service; the page shows it again with the field errors
            change = services.schedule_change_of(study, data)
            return _confirm_page(study, change, "", form=form, errors=form_errors(form), status=400)
        services.update_study(study, data, g.user, form.reason.data.strip(), confirmation=form.fingerprint.data)
    except services.ScheduleChange as change:
        stale = [_("The assessments that move have changed since the preview: check them again and confirm.")]
        return _confirm_page(study, change, (form.reason.data or "").strip(), form=form, errors=stale,
                             status=409)
    except StudyError as exc:
        return render_template("studies/confirm_schedule.html", study=study, preview=None, form=form,
                               errors=exc.messages, rows=PREVIEW_ROWS, anchor_labels=ANCHOR_LABELS), 400
    return redirect(url_for(".index"))
