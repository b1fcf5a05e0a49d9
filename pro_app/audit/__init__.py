"""The append-only audit trail: writing it (`audit.record`, from every service) and the admins' view of it."""

from .services import record, record_read

__all__ = ["record", "record_read"]
