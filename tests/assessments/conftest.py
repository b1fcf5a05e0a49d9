"""What the assessment tests share: a study with the C30 and two PRO-CTCAE terms, one participant, a logged-in
coordinator (the paper answers are in tests/support/staff.py)."""

from __future__ import annotations

import pytest

from tests.support.http import login


@pytest.fixture
def study(create_study):
    return create_study(terms=[17, 1], instruments=["qlq_c30", "pro_ctcae"])


@pytest.fixture
def participant(study, create_participant):
    return create_participant(study)


@pytest.fixture
def coordinator(client, study, create_staff):
    user = create_staff(studies=[study])
    assert login(client, user.email).status_code == 302
    return user
