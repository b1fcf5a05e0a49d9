"""API tokens for analysts: named, scoped to studies, expiring, revocable; created on a staff page."""
