"""Routes: an analyst's API tokens (list, create, revoke)."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from .. import access
from ..access import TOKEN_HOLDERS
from ..clock import utcnow
from ..extensions import db
from ..web import navigation
from ..web.forms import ActionForm
from ..web.guards import back_on_expired_token, keeps_input, roles_required
from . import services
from .forms import TokenForm

bp = Blueprint("tokens", __name__, url_prefix="/staff")
navigation.register("tokens.index", _l("API tokens"), roles=TOKEN_HOLDERS, order=90)


@bp.route("/tokens", methods=["GET", "POST"])
@keeps_input
@roles_required(TOKEN_HOLDERS)
def index():
    form = TokenForm()
    form.offer(db.session.scalars(access.visible_studies(g.user)).all())
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                token, plain = services.create(g.user, form.name.data, form.studies.data, form.days.data)
            except services.TokenError as exc:
                form.name.errors = [str(exc)]
            else:
                return render_template("tokens/created.html", token=token, plain=plain)
    return render_template("tokens/list.html", form=form, tokens=services.tokens_of(g.user), action=ActionForm(),
                           now=utcnow()), status


@bp.post("/tokens/<int:token_id>/revoke")
@back_on_expired_token(lambda token_id: url_for(".index"))
@roles_required(TOKEN_HOLDERS)
def revoke(token_id: int):
    if not ActionForm().validate():
        abort(400)
    if services.revoke(g.user, token_id) is None:
        abort(404)
    return redirect(url_for(".index"))
