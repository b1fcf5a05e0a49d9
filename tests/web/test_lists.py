"""The staff lists a large study needs: participant-code search and filters on the assessments list (arm)
and the audit trail (participant, site, arm), the landing page listing today's work, and links to a participant that
come back to the list (with its filters) the user came from."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from pro_app.assessments.schedule import local_today
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import Participant, Study, User
from pro_app.participants import services as participants
from tests.support.http import login
from tests.support.kiosk import html


def _arms(app, study, arms: dict[str, str]) -> None:
    with app.app_context():
        db.session.get(Study, study.id).arms = sorted(set(arms.values()))
        for code, arm in arms.items():
            db.session.scalar(select(Participant).where(Participant.study_code == code)).arm = arm
        db.session.commit()


def test_the_assessments_list_filters_by_arm(app, client, create_study, create_participant, create_staff):
    study = create_study()
    create_participant(study, code="P-001")
    create_participant(study, code="P-002")
    _arms(app, study, {"P-001": "SBRT", "P-002": "CONTROL"})
    login(client, create_staff(studies=[study]).email)
    page = html(client.get("/staff/?arm=SBRT"))
    assert "P-001" in page and "P-002" not in page
    assert '<option value="SBRT" selected>' in page
    both = html(client.get("/staff/?arm="))
    assert "P-001" in both and "P-002" in both
    assert "P-00" not in html(client.get("/staff/?arm=NOPE")).split("<tbody>")[-1]


def test_the_audit_trail_is_searched_by_participant_code(app, client, create_study, create_staff):
    study = create_study()
    admin = create_staff(email="admin@example.org", role="admin")
    with app.app_context():
        s = db.session.get(Study, study.id)
        user = db.session.get(User, admin.id)
        for code in ("P-001", "P-002"):
            participants.enrol(s, s.sites[0], code, "en", utcnow().date(), user)
        db.session.commit()
    login(client, "admin@example.org")
    page = html(client.get("/staff/admin/audit?participant=p-001"))
    assert "1 event" in page and "P-001" in page and "P-002" not in page.replace('value="p-001"', "")
    assert "2 events" in html(client.get("/staff/admin/audit?participant=P-00"))
    assert "0 events" in html(client.get("/staff/admin/audit?participant=P-9"))
    assert client.get("/staff/admin/audit?participant=" + "x" * 65).status_code == 400


def test_the_audit_trail_filters_by_site_and_arm(app, client, create_study, create_staff):
    study = create_study()
    admin = create_staff(email="admin@example.org", role="admin")
    with app.app_context():
        s = db.session.get(Study, study.id)
        user = db.session.get(User, admin.id)
        participants.enrol(s, s.sites[0], "P-001", "en", utcnow().date(), user)
        participants.enrol(s, s.sites[1], "P-002", "en", utcnow().date(), user)
        db.session.commit()
        first_site, second_site = s.sites[0].id, s.sites[1].id
    _arms(app, study, {"P-001": "SBRT", "P-002": "CONTROL"})
    login(client, "admin@example.org")
    by_site = html(client.get(f"/staff/admin/audit?site={second_site}"))
    assert "1 event" in by_site and "P-002" in by_site and "P-001" not in by_site
    assert f'<option selected value="{second_site}">' in by_site or f'<option value="{second_site}" selected' in by_site
    by_arm = html(client.get("/staff/admin/audit?arm=SBRT"))
    assert "1 event" in by_arm and "P-001" in by_arm and "P-002" not in by_arm
    assert "0 events" in html(client.get(f"/staff/admin/audit?site={first_site}&arm=CONTROL"))
    assert client.get("/staff/admin/audit?site=999999").status_code == 400
    assert client.get("/staff/admin/audit?arm=NOPE").status_code == 400


def test_the_landing_page_lists_todays_work(app, client, create_study, create_participant, create_staff):
    study = create_study()
    today = local_today("Europe/Madrid", utcnow())
    due = create_participant(study, code="P-DUE", anchor=today)
    create_participant(study, code="P-LATER", anchor=today + timedelta(days=30))
    login(client, create_staff(studies=[study]).email)
    page = html(client.get("/staff/today?lang=en"))
    listed = page[page.find('data-bucket="due_today"'):]
    listed = listed[:listed.find("</table>")]
    assert "P-DUE" in listed and "P-LATER" not in page
    assert f'data-assessment="{due.assessments["baseline"]}"' in listed
    assert "Issue a code" in listed  # the work can start from the landing page


def test_a_participant_link_comes_back_to_the_filtered_list(app, client, create_study, create_participant,
                                                            create_staff):
    study = create_study()
    for n in range(3):
        create_participant(study, code=f"P-00{n}")
    login(client, create_staff(studies=[study]).email)
    url = f"/staff/studies/{study.code}/participants?q=P-001&site=BCN"
    page = html(client.get(url))
    link = unescape(re.search(r'href="(/staff/participants/\d+\?back=[^"]+)">P-001<', page).group(1))
    detail = html(client.get(link))
    back = unescape(re.search(r'<a href="([^"]+)" data-testid="back">Back to the list</a>', detail).group(1))
    assert back == url
    # from the assessments list with its filters, too
    page = html(client.get("/staff/?q=P-002&status=open"))
    link = unescape(re.search(r'href="(/staff/participants/\d+\?back=[^"]+)">P-002<', page).group(1))
    assert "/staff/?q=P-002&status=open" in html(client.get(link)).replace("&amp;", "&")
    # never another site
    pid = re.search(r"/staff/participants/(\d+)", link).group(1)
    for target in ("https://evil.example/", "//evil.example/staff/", "/staff\\..\\x"):
        assert 'data-testid="back"' not in html(client.get(f"/staff/participants/{pid}", query_string={"back": target}))
