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
from ..web import navigation
from ..web.forms import form_errors
from ..web.guards import keeps_input, staff_required
from ..web.lookups import study_or_404
from . import services
from .definition import StudyError, StudyExists, definition_of, to_yaml
from .forms import ImportForm, study_form

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


@bp.route("/studies/<code>/edit", methods=["GET", "POST"])
@keeps_input
@staff_required
def edit(code: str):
    study = study_or_404(code)
    if not access.may_edit_study(g.user, study):
        abort(403)
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
        except StudyExists as exc:
            errors, status, pending = exc.messages, 409, text
        except StudyError as exc:
            errors, status = exc.messages, 400
        else:
            return redirect(url_for(".index"))
    if pending is not None:
        form.definition.data = pending
    return render_template("studies/import.html", form=form, errors=errors, pending=pending), status
