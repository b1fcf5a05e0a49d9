"""Staff tests log in a lot: Argon2id with small costs keeps them quick (the same algorithm and code path;
the production parameters are argon2-cffi's defaults, see pro_app/security/passwords.py)."""

import pytest
from argon2 import PasswordHasher

from pro_app.security import passwords


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
                        raising=False)
