"""The append-only audit trail: writing it (`audit.record`, from every service) and the admins' view of it."""

from .services import record

__all__ = ["record"]
