"""Routes: the clinic's tablets, for staff (register this browser as a tablet, list with last use, unlock one
locked by wrong codes, revoke), and moving an assessment open on one tablet to another."""

from __future__ import annotations

from flask import Blueprint, abort, g, make_response, redirect, render_template, url_for
from flask_babel import format_datetime, format_time
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..access import EDITORS
from ..extensions import db
from ..models import Tablet
from ..web import navigation
from ..web.forms import ActionForm
from ..web.guards import roles_required
from ..web.lookups import assessment_or_404
from . import services, tablets

bp = Blueprint("tablets", __name__, url_prefix="/staff")
navigation.register("tablets.index", _l("Tablets"), roles=EDITORS, order=70)


class TabletForm(FlaskForm):
    name = StringField(_l("Name of this tablet"), validators=[DataRequired(), Length(max=80)],
                       description=_l("For example: Clinic 2, tablet 1"))


def _tablet_or_404(tablet_id: int) -> Tablet:
    tablet = db.session.get(Tablet, tablet_id)
    if tablet is None or not ActionForm().validate():
        abort(404 if tablet is None else 400)
    return tablet


def _page(form: TabletForm, status: int = 200):
    return render_template("tablets/list.html", form=form, rows=tablets.listing(), action=ActionForm(),
                           here=tablets.this_tablet(), format_datetime=format_datetime,
                           format_time=format_time), status


@bp.get("/tablets")
@roles_required(EDITORS)
def index():
    return _page(TabletForm())


@bp.post("/tablets")
@roles_required(EDITORS)
def register():
    """Register the browser this form is sent from (staff do it on the tablet itself)."""
    form = TabletForm()
    if not form.validate():
        return _page(form, 400)
    previous = tablets.this_tablet()
    if previous is not None:
        tablets.revoke(g.user.id, previous)  # registered again under a new name: one credential per tablet
    _, token = tablets.register(g.user.id, form.name.data)
    response = make_response(redirect(url_for(".index")))
    tablets.set_cookie(response, token)
    return response


@bp.post("/tablets/<int:tablet_id>/unlock")
@roles_required(EDITORS)
def unlock(tablet_id: int):
    tablets.unlock(g.user.id, _tablet_or_404(tablet_id))
    return redirect(url_for(".index"))


@bp.post("/tablets/<int:tablet_id>/revoke")
@roles_required(EDITORS)
def revoke(tablet_id: int):
    tablets.revoke(g.user.id, _tablet_or_404(tablet_id))
    return redirect(url_for(".index"))


@bp.post("/assessments/<int:assessment_id>/release-tablet")
@roles_required(EDITORS)
def release(assessment_id: int):
    """End the assessment's session on the tablet that has it open: the patient carries on with the code on
    another tablet (or staff start it there)."""
    assessment = assessment_or_404(assessment_id)
    if not ActionForm().validate():
        abort(400)
    services.release(assessment, g.user.id)
    return redirect(url_for("assessments.detail", assessment_id=assessment.id))
