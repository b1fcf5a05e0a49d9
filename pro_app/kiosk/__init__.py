"""The patient-facing tablet flow."""
