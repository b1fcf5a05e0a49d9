"""Alerts for a clinician's attention: the rules that raise them, listing and acknowledging them."""
