"""The texts of alert emails: the minimum necessary. They name the study, the site, the urgency and how many
alerts, and link to the triage page (where staff log in); never a participant code, a symptom, an answer or a
score. In the recipient's language when the study's list of recipients gives it, else English then Spanish."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, url_for
from flask_babel import force_locale, gettext, ngettext

from ..i18n import LANGUAGES

#: Subjects are one line; the bilingual one joins the two.
SUBJECT_JOIN = " / "
BODY_JOIN = "\n\n----------\n\n"


@dataclass(frozen=True)
class Visit:
    """One visit's new urgent alerts, as an email may describe them."""

    study: str
    site: str
    assessment_id: int
    count: int


def triage_link(study: str, *, site: str | None = None, urgency: int, anchor: str | None = None) -> str:
    """The triage page of the study, filtered; absolute when PRO_APP_PUBLIC_URL (or PRO_APP_SERVER_NAME) says
    where pro-app is reached, else the path on its own."""
    settings = current_app.config["SETTINGS"]
    base = (settings.public_url or (f"https://{settings.server_name}" if settings.server_name else "")).rstrip("/")
    with current_app.test_request_context(base_url=base or "http://localhost"):
        args = {"site": site} if site else {}
        path = url_for("alerts.study", code=study, urgency=urgency, _anchor=anchor, **args)
    return base + path


def _languages(language: str | None) -> tuple[str, ...]:
    return (language,) if language in LANGUAGES else ("en", "es")


def _in_languages(language: str | None, subject, body) -> tuple[str, str]:
    subjects, bodies = [], []
    for lang in _languages(language):
        with force_locale(lang):
            subjects.append(subject())
            bodies.append(body())
    return SUBJECT_JOIN.join(subjects), BODY_JOIN.join(bodies)


def _footer(study: str) -> str:
    return gettext("This email deliberately holds no health data and no participant code: open the page, after "
                   "logging in, to see the alerts. You receive it because study %(study)s names you as a recipient "
                   "of its alerts.", study=study)


def urgent(visit: Visit, language: str | None) -> tuple[str, str]:
    """Subject and body of the email about one visit's new urgent alerts."""
    link = triage_link(visit.study, site=visit.site, urgency=1, anchor=f"visit-{visit.assessment_id}")

    def subject():
        return gettext("[pro-app] Urgent alert: study %(study)s, site %(site)s", study=visit.study, site=visit.site)

    def body():
        return "\n\n".join([
            ngettext("An urgent alert was raised at a visit in study %(study)s, site %(site)s.",
                     "%(num)d urgent alerts were raised at one visit in study %(study)s, site %(site)s.",
                     visit.count, study=visit.study, site=visit.site),
            gettext("See it and acknowledge it on the alerts page:") + f"\n{link}",
            _footer(visit.study)])

    return _in_languages(language, subject, body)


def digest(study: str, sites: Counter, language: str | None) -> tuple[str, str]:
    """Subject and body of the digest of a study's review-level alerts (counts per site only)."""
    total = sum(sites.values())
    link = triage_link(study, urgency=2)

    def subject():
        return ngettext("[pro-app] %(num)d alert to review: study %(study)s",
                        "[pro-app] %(num)d alerts to review: study %(study)s", total, study=study)

    def body():
        lines = [ngettext("Site %(site)s: %(num)d alert", "Site %(site)s: %(num)d alerts", n, site=site)
                 for site, n in sorted(sites.items())]
        return "\n\n".join([
            ngettext("%(num)d alert to review was raised in study %(study)s since the last summary.",
                     "%(num)d alerts to review were raised in study %(study)s since the last summary.",
                     total, study=study),
            "\n".join(f"- {line}" for line in lines),
            gettext("See them on the alerts page:") + f"\n{link}",
            _footer(study)])

    return _in_languages(language, subject, body)


def build(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, recipient, subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message
