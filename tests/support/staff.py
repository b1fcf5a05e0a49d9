"""Driving the staff pages of one assessment through the test client: paper entry, corrections, not done."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tests.support.http import csrf_token
from tests.support.kiosk import html

#: The QLQ-C30 worked example of SCORING.md §1.
C30_EXAMPLE = [2, 3, 2, 1, 1, 2, 2, 1, 2, 3, 2, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1, 5, 5]
C30_EXPECTED = {"QL2": 66.67, "PF2": 73.33, "RF2": 66.67, "EF": 83.33, "CF": 100, "SF": 83.33, "FA": 44.44,
                "NV": 0, "PA": 16.67, "DY": 0, "SL": 33.33, "AP": 0, "CO": 0, "DI": 0, "FI": 0, "SUMSC": 85.56}


def c30_paper_answers(values=C30_EXAMPLE) -> dict[str, str]:
    return {f"q{n}": str(v) for n, v in enumerate(values, 1)}



def site_today(timezone: str = "Europe/Madrid") -> date:
    """Today at the test studies' first site (BCN), where the participants are."""
    return datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()


def paper(client, assessment_id: int, given: dict[str, str], language: str = "en", early: bool = False,
          completed_on: date | str | None = None, mode: str = "paper", administered_by: str = "Nurse A. Ruiz",
          confirm_outside: bool | None = None):
    """Key in a paper form dated `completed_on` (default: today at the site); `early`: first confirm an early
    assessment (its window has not opened; the paper's date is then outside the window and confirmed)."""
    if early:
        assert with_reason(client, assessment_id, "early", "Paper form brought to an earlier visit").status_code == 302
    page = client.get(f"/staff/assessments/{assessment_id}/paper")
    assert page.status_code == 200, page.status_code
    header = {"completed_on": str(completed_on or site_today()), "mode": mode, "administered_by": administered_by}
    if confirm_outside if confirm_outside is not None else early:
        header["confirm_outside"] = "y"
    return client.post(f"/staff/assessments/{assessment_id}/paper",
                       data={"csrf_token": csrf_token(html(page)), "language": language} | header | given)


def correct(client, assessment_id: int, item_id: str, choice: str, reason: str = "Keyed wrongly from the paper"):
    page = client.get(f"/staff/assessments/{assessment_id}")
    return client.post(f"/staff/assessments/{assessment_id}/answers/{item_id}/correct",
                       data={"csrf_token": csrf_token(html(page)), "choice": choice, "reason": reason})


def not_done(client, assessment_id: int, reason: str, note: str = "", confirm: bool = True):
    """Mark not done; `confirm`: as the confirmation page's "Yes" sends it (False: the first post, which asks)."""
    page = client.get(f"/staff/assessments/{assessment_id}")
    return client.post(f"/staff/assessments/{assessment_id}/not-done",
                       data={"csrf_token": csrf_token(html(page)), "reason": reason, "note": note}
                       | ({"confirm": "yes"} if confirm else {}))


def with_reason(client, assessment_id: int, action: str, reason: str = "Patient asked to finish on paper"):
    """A staff action that takes only a reason: `reopen`, `close` or `early`."""
    page = client.get(f"/staff/assessments/{assessment_id}")
    return client.post(f"/staff/assessments/{assessment_id}/{action}",
                       data={"csrf_token": csrf_token(html(page)), "reason": reason})


#: Paper answers for PRO-CTCAE term 17 (frequency, severity, interference) and term 1 (one item).
CTCAE = {"PROCTCAE_17A_SCL": "1", "PROCTCAE_17B_SCL": "3", "PROCTCAE_17C_SCL": "1", "PROCTCAE_1A_SCL": "1"}
