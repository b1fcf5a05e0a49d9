"""The scoring tests' fixture: `scored` scores one administration (tests/support/scoring.py)."""

import pytest

from tests.support.scoring import score_one


@pytest.fixture
def scored():
    return score_one
