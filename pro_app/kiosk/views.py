"""Kiosk routes: thin views over kiosk.services. Every questionnaire page needs a live patient session."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from ..assessments import answers
from ..errors import back_after_expired_token
from ..extensions import csrf, db
from ..i18n import LANGUAGES, current_language
from ..instruments import InvalidChoice
from ..models import Assessment, PlanPart
from ..security import sessions
from ..transactions import commit_early, committing, is_read_request
from ..vocabulary import DONE_STATUSES, ItemState, Mode, SessionKind
from . import services
from .forms import TEXT_SIZES, ConfirmForm, ExitForm, StartForm, TextSizeForm, item_options

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

START_MESSAGES = {
    "unknown": _l("That code was not recognised. Please check it and try again, or ask a member of staff."),
    "throttled": _l("Too many attempts on this tablet. Please ask a member of staff for help."),
    "paused": _l("Code entry is paused on every tablet after too many wrong codes. Please ask a member of staff: "
                 "they can start your questionnaire for you."),
    "completed": _l("This questionnaire has already been completed. Thank you."),
    "closed": _l("This questionnaire is not open at the moment. Please ask a member of staff."),
    "expired": _l("This code has expired. Please ask a member of staff for a new code."),
    "not_yet_open": _l("This questionnaire is not open yet. Please come back on the day of your visit, "
                       "or ask a member of staff."),
    "in_use": _l("This questionnaire is open on another tablet right now. Please carry on there, or ask a member "
                 "of staff to move it to this tablet."),
    "ended": _l("Your session has ended. Your answers are saved: enter your code to carry on."),
}
START_STATUS = {"throttled": 429, "paused": 429, "unknown": 403, "completed": 409, "closed": 409, "expired": 409,
                "not_yet_open": 409, "in_use": 409}


#: What a language switch keeps of the page's address: where the patient came from (the review screen) and the
#: start screen's message. Never an answer: a choice in an address would stay in the browser's history.
KEPT_ON_SWITCH = ("from", "m")


@bp.context_processor
def _language_links():
    def language_url(code: str) -> str:
        """This page in another language, with the context the patient is in (e.g. answering from the review
        screen, also when the page was re-shown after a form was sent)."""
        kept = {k: request.args[k] for k in KEPT_ON_SWITCH if request.args.get(k)}
        if request.form.get("from") == "review":
            kept["from"] = "review"
        return f"{request.path}?{urlencode(kept | {'lang': code})}"

    return {"language_url": language_url}


@bp.before_request
def _tablet_id() -> None:
    # A random id for this tablet's browser, for throttling code entry per tablet (not per IP address).
    session.setdefault("device", secrets.token_urlsafe(16))


#: Sent by send.js with every form it posts: the page goes on itself, so a redirect is answered as JSON.
SCRIPT_HEADER = "X-Kiosk-Send"


@bp.after_request
def _redirect_for_the_script(response):
    """A form sent by the page's script (send.js) gets its redirect as {"location": ...} with 200: the script
    then opens that page (fetch cannot read a redirect's target). Everything else is answered as for a plain
    form, which the script then sends as one (an error page, a re-shown question)."""
    if request.headers.get(SCRIPT_HEADER) == "1" and response.status_code in (302, 303) and response.location:
        answer = jsonify(location=response.location)
        answer.headers["Cache-Control"] = "no-store"
        return answer
    return response


def _live_patient():
    """(session, assessment) of the patient on this tablet, or None. A request that may write (POST) reads
    the assessment under its lock straight away, before anything of it is read: its answers are then current
    for the whole request (PostgreSQL: row lock; SQLite: the write transaction), with no expiry and re-read."""
    record = sessions.current(SessionKind.PATIENT)
    if record is None:
        return None
    if is_read_request():
        assessment = db.session.get(Assessment, record.assessment_id)
    else:
        assessment = answers.load_locked(record.assessment_id)
    if assessment is None or assessment.status in DONE_STATUSES:
        return None
    g.patient_language = record.language
    g.patient_session_id = record.id
    g.idle_remaining_ms = int(sessions.idle_remaining(record) / timedelta(milliseconds=1))
    return record, assessment


def patient_required(view):
    """Refuse to render or accept anything without a live patient session (a restored page after the
    session ended shows nothing: back to the start screen)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        live = _live_patient()
        if live is None:
            session.pop("lang", None)
            return redirect(url_for(".start", m="ended"))
        return view(*live, *args, **kwargs)

    return wrapper


@bp.context_processor
def _comfort() -> dict:
    """The patient's text size and the one-time "welcome back" (both reset when a patient session begins:
    services.prepare_tablet)."""
    live = g.get("patient_session_id") is not None
    welcome = live and session.pop("welcome_back", None) == "yes"
    return {"text_size": session.get("text_size") if live else None, "welcome_back": welcome,
            "text_sizes": TEXT_SIZES if live else None}


@bp.get("/")
def start():
    if _live_patient() is not None:
        return redirect(url_for(".current"))
    message = START_MESSAGES.get(request.args.get("m", ""))
    picked = request.args.get("lang") if request.args.get("lang") in LANGUAGES else None
    return render_template("kiosk/start.html", form=StartForm(data={"language": picked}), message=message)


@bp.post("/")
def start_post():
    form = StartForm()
    if not form.validate():
        return render_template("kiosk/start.html", form=form, message=None), 400
    try:
        record = services.start_with_code(form.code.data)
    except services.StartRefused as refused:
        return render_template("kiosk/start.html", form=StartForm(formdata=None, data={"language": form.language.data}),
                               message=START_MESSAGES[refused.reason]), START_STATUS[refused.reason]
    # The language the patient picked on the start screen wins over the one registered for them.
    session["lang"] = services.choose_language(record, form.language.data or None)
    services.prepare_tablet(db.session.get(Assessment, record.assessment_id))
    return redirect(url_for(".current"))


def _step_url(assessment: Assessment, step: answers.Step | None):
    """The page for a step: its instrument's instructions first, when nothing was given for it yet."""
    if step is None:
        return url_for(".review")
    if services.is_first_of_instrument(assessment, step):
        return url_for(".intro", instrument_id=step.instrument.id)
    return url_for(".item", item_id=step.item_id)


@bp.post("/a/text-size")
@patient_required
def text_size(record, assessment):
    """Three text sizes, kept for this patient's session. The page's script sends this in the background and
    applies the size at once (a chosen but unsent answer stays chosen); without script the page reloads."""
    form = TextSizeForm()
    if not form.validate():  # one of the form's three sizes, and the token
        abort(400)
    session["text_size"] = form.size.data
    if request.headers.get("X-Requested-With") == "fetch":
        return "", 204
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/kiosk/a") and "//" not in back and "\\" not in back
                    else url_for(".current"))


@bp.get("/a")
@patient_required
def current(record, assessment):
    return redirect(_step_url(assessment, services.resume_point(assessment)))


def _plan_part(assessment: Assessment, instrument_id: str) -> PlanPart:
    part = next((p for p in answers.ensure_plan(assessment) if p.instrument == instrument_id), None)
    if part is None:
        abort(404)
    return part


@bp.route("/a/intro/<instrument_id>", methods=["GET", "POST"])
@patient_required
def intro(record, assessment, instrument_id):
    part = _plan_part(assessment, instrument_id)
    instrument = answers.instrument_of(part)
    steps = answers.sequence(assessment)
    first = next((s for s in steps if s.instrument.id == instrument_id), None)
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        return redirect(url_for(".item", item_id=first.item_id) if first else url_for(".review"))
    earlier = steps[: steps.index(first)] if first else steps
    back = url_for(".item", item_id=earlier[-1].item_id) if earlier else None
    return render_template("kiosk/intro.html", instrument=instrument, form=form, back=back,
                           recall=instrument.recall_periods[instrument.recall], position=len(earlier),
                           total=len(steps))


def _render_item(pos, chosen, *, error=None, notice=None, status=200, from_review=False):
    """The item's page, with `chosen` (a choice key, or None) selected."""
    item = pos.step.instrument.item(pos.step.item_id)
    instrument = pos.step.instrument
    lang = current_language()
    return render_template(
        "kiosk/item.html", instrument=instrument, item=item, pos=pos, options=item_options(item, lang),
        chosen=chosen, error=error, notice=notice, recall=instrument.recall_periods[item.recall], lang=lang,
        from_review=from_review, shown=services.shown_stamp(item.id),
    ), status


@bp.get("/a/item/<item_id>")
@patient_required
def item(record, assessment, item_id):
    pos = services.position(assessment, item_id)
    if pos is None:
        return redirect(url_for(".current"))
    row = answers.response_states(assessment).get(item_id)
    chosen = None
    if row is not None and row.state == ItemState.ANSWERED:
        chosen = str(row.value)
    elif row is not None and row.option_code and row.state == ItemState.NOT_APPLICABLE:
        chosen = row.option_code
    return _render_item(pos, chosen, from_review=request.args.get("from") == "review")


def _back_url(assessment, pos) -> str:
    if pos.previous is None or pos.previous.instrument.id != pos.step.instrument.id:
        return url_for(".intro", instrument_id=pos.step.instrument.id)
    return url_for(".item", item_id=pos.previous.item_id)


def _after(assessment: Assessment, item_id: str) -> str:
    """Where Next leads once the item has a response: when the patient came from the review screen, the
    follow-up items the change made necessary, then the review again; else the following item (branching
    and gates re-applied)."""
    if request.values.get("from") == "review":
        needed = services.follow_up(assessment)
        if needed is not None:
            return url_for(".item", item_id=needed.item_id, **{"from": "review"})
        return url_for(".review", _anchor=f"entry-{item_id}")  # where the patient was on the review screen
    pos = services.position(assessment, item_id)
    following = pos.following if pos else services.resume_point(assessment)
    return _step_url(assessment, following)


@bp.post("/a/item/<item_id>")
@patient_required
def item_post(record, assessment, item_id):
    pos = services.position(assessment, item_id)
    if pos is None:
        return redirect(url_for(".current"))
    action = request.form.get("action", "next")
    if action == "back":
        return redirect(_back_url(assessment, pos))
    if action == "skip":
        return redirect(url_for(".skip", item_id=item_id, **({"from": "review"} if request.form.get("from") else {})))
    from_review = request.form.get("from") == "review"
    choice = request.form.get("choice", "")  # the CSRF token was checked by CSRFProtect before the view
    if not choice:
        return _render_item(pos, None, error=_l("Please choose an answer, or press Skip."), from_review=from_review)
    try:
        value, code, state = answers.parse_choice(pos.step.instrument, item_id, choice)
    except InvalidChoice:
        return _render_item(pos, None, error=_l("That answer is not one of the choices."), status=400,
                            from_review=from_review)
    return _record_and_go_on(record, assessment, pos, value=value, option_code=code, state=state)


def _tablet_mode(assessment: Assessment) -> str:
    """The mode of this session's answers: assisted when staff handed the tablet over as assisted (the
    assessment keeps its latest session's mode; paper keyed meanwhile does not make tablet answers paper)."""
    return Mode.ASSISTED if assessment.mode == Mode.ASSISTED else Mode.SELF


def _request_key() -> str | None:
    """The idempotency key send.js puts in every form it sends (one per page shown): a form sent again after
    a lost connection carries the same key, and the answer it stored is not stored again."""
    key = request.form.get("request_key", "")
    return key if 16 <= len(key) <= 64 and key.isalnum() else None


def _record_and_go_on(record, assessment, pos, *, value, option_code, state):
    """Commit the patient's response to the item (the assessment was read under its lock: `_live_patient`),
    then go on. The next page is worked out from the answers in memory (no query), and the answer is
    committed before the redirect acknowledges it (the documented early commit of transactions.py)."""
    shown_at = services.shown_at(request.form.get("shown"), pos.step.item_id)
    try:
        answers.record(assessment, pos.step.instrument, pos.step.item_id, value=value, option_code=option_code,
                       state=state, language=current_language(), mode=_tablet_mode(assessment),
                       actor="patient", user_id=record.user_id, shown_at=shown_at, request_key=_request_key())
    except answers.AssessmentClosed:
        return redirect(url_for(".start", m="completed"))
    following = _after(assessment, pos.step.item_id)
    commit_early()
    return redirect(following)


@bp.route("/a/item/<item_id>/skip", methods=["GET", "POST"])
@patient_required
def skip(record, assessment, item_id):
    pos = services.position(assessment, item_id)
    if pos is None:
        return redirect(url_for(".current"))
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        return _record_and_go_on(record, assessment, pos, value=None, option_code=None, state=ItemState.DECLINED)
    return render_template("kiosk/skip.html", form=form, pos=pos, item=pos.step.instrument.item(item_id),
                           lang=current_language(), from_review=request.args.get("from") == "review")


@bp.get("/a/review")
@patient_required
def review(record, assessment):
    steps = answers.sequence(assessment)
    return render_template("kiosk/review.html", review=services.review(assessment, current_language()),
                           form=ConfirmForm(), lang=current_language(),
                           last=url_for(".item", item_id=steps[-1].item_id) if steps else None)


@bp.post("/a/submit")
def submit():
    live = _live_patient()
    if live is None:
        found = sessions.find()
        if found is not None and found.end_reason == "submitted":
            return redirect(url_for(".thanks"))  # a second tap on Submit
        return redirect(url_for(".start", m="ended"))
    record, assessment = live
    if not ConfirmForm().validate():
        abort(400)
    services.submit(assessment, record, current_language())  # read under its lock: _live_patient
    return redirect(url_for(".thanks"))


@bp.post("/alive")
def alive():
    """The page tells the server how long ago the patient last tapped or typed (`idle_ms`): the server's idle
    clock starts from that tap, and the answer says how long the session has left, so the page's clock and the
    server's agree (kiosk.js). 401: the session has ended."""
    record = sessions.current(SessionKind.PATIENT, touch=False)
    if record is None:
        return ("", 401)
    try:
        idle_ms = int(request.form.get("idle_ms", "0"))
    except ValueError:
        abort(400)
    sessions.note_activity(record, timedelta(milliseconds=min(max(idle_ms, 0), 10**9)))
    remaining = sessions.idle_remaining(record) / timedelta(milliseconds=1)
    return jsonify(remaining_ms=int(remaining))


@bp.get("/thanks")
def thanks():
    lang = current_language()
    session.pop("lang", None)
    seconds = current_app.config["SETTINGS"].kiosk_thanks_seconds
    return render_template("kiosk/thanks.html", lang=lang, return_seconds=seconds)


@bp.post("/timeout")
@csrf.exempt  # ending this browser's patient session is harmless, and must work from a page of any age
def timeout():
    """The tablet was left idle: back to the start screen. Answers are already saved."""
    sessions.end_current("idle")
    session.pop("lang", None)
    return redirect(url_for(".start", m="ended"))


@bp.route("/exit", methods=["GET", "POST"])
@patient_required
def exit_patient_mode(record, assessment):
    form = ExitForm()
    if request.method == "POST" and form.validate():
        user = services.leave_patient_mode(record, form.email.data, form.password.data)
        if user is not None:
            session.pop("lang", None)
            return redirect(url_for("worklist.index"))
        return render_template("kiosk/exit.html", form=ExitForm(formdata=None),
                               error=_l("Those staff details were not accepted.")), 403
    if request.method == "POST":  # the form did not validate: fields missing
        return render_template("kiosk/exit.html", form=form, error=_l("Please enter a staff email and password.")), 400
    return render_template("kiosk/exit.html", form=form, error=None)


def _page_of_small_form(pos) -> str | None:
    """The page the kiosk's small forms (start a questionnaire, skip an item, submit, the staff exit) sit on."""
    args = request.view_args or {}
    from_review = {"from": "review"} if request.form.get("from") == "review" else {}
    if request.endpoint == "kiosk.intro":
        return url_for(".intro", instrument_id=args["instrument_id"])
    if request.endpoint == "kiosk.skip" and pos is not None:
        return url_for(".skip", item_id=args["item_id"], **from_review)
    return {"kiosk.submit": url_for(".review"), "kiosk.exit_patient_mode": url_for(".exit_patient_mode")}.get(
        request.endpoint or "")


@bp.errorhandler(CSRFError)
@committing  # an idle session ended on the way is kept
def csrf_expired(error):
    """An expired or missing form token: keep what the patient did, never show a stack trace."""
    if request.endpoint == "kiosk.alive":
        return ("", 400)  # the page's idle report, refused; its page carries a fresh token on the next load
    if request.endpoint == "kiosk.start_post":
        return render_template("kiosk/start.html", form=StartForm(formdata=None),
                               message=_l("Please enter your code again.")), 400
    live = _live_patient()
    if live is None:
        ended = sessions.find() is not None
        return redirect(url_for(".start", m="ended") if ended else url_for(".start"))
    record, assessment = live
    pos = services.position(assessment, request.view_args.get("item_id", "")) if request.view_args else None
    if request.endpoint != "kiosk.item_post" or pos is None:
        page = _page_of_small_form(pos)
        return back_after_expired_token(page) if page else redirect(url_for(".current"))
    return _render_item(pos, request.form.get("choice"), notice=_l("Please check your answer and press Next again."),
                        status=400, from_review=request.form.get("from") == "review")
