"""A study's results: scales over time, PRO-CTCAE symptoms, time to deterioration (issue 14)."""
