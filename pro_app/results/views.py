"""Route: a study's results page (/staff/studies/<code>/results) for staff with access to the study, limited to
the sites they work at; filters are GET parameters (an unknown value is a 400 that says which)."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from .. import access, audit
from ..web.guards import staff_required
from ..web.lookups import study_or_404
from . import page, services

bp = Blueprint("results", __name__, url_prefix="/staff")


@bp.get("/studies/<code>/results")
@staff_required
def study(code: str):
    found = study_or_404(code)
    sites = access.granted_sites(g.user, found)
    context = {"study": found, "sites": sites, "families": page.families(found), "arms": page.arm_choices(found),
               "meaningful": services.MEANINGFUL_CHANGE, "arm_label": page.arm_label}
    try:
        filters = page.parse(request.args, found, sites)
    except page.BadFilter as refused:
        return render_template("results/study.html", filters=page.Filters(), problem=str(refused), results=None,
                               **context), 400
    audit.record_read("read.results", "study", found.id, user_id=g.user.id, study_id=found.id)
    results = page.build(found, filters, page.selection(filters, found, sites))
    return render_template("results/study.html", filters=filters, problem=None, results=results, **context)
