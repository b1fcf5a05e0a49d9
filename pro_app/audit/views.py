"""Route: the read-only view of the audit trail, filterable (admins only)."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from ..access import ADMINS
from ..web import navigation
from ..web.guards import roles_required
from . import services
from .forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/staff")
navigation.register("audit.index", _l("Audit trail"), roles=ADMINS, order=85)


def _readable(value) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@bp.get("/admin/audit")
@roles_required(ADMINS)
def index():
    form = AuditFilterForm(request.args)
    form.offer()
    if request.args and not form.validate():
        return render_template("audit/list.html", form=form, events=[], page=1, pages=1, total=0,
                               readable=_readable, args={}), 400
    found = services.search(form.query(), request.args.get("page", 1, type=int))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/list.html", form=form, events=found.rows, page=found.page, pages=found.pages,
                           total=found.total, readable=_readable, args=args, format_datetime=format_datetime)
