"""Staff accounts: create, change role and grants, disable, reset a password (admins only; audited)."""
