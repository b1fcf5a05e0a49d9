"""Argon2id with small costs keeps tests that log in quick: the same algorithm and code path (the production
parameters are argon2-cffi's defaults, see pro_app/security/passwords.py)."""

from argon2 import PasswordHasher

QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
