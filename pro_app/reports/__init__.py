"""A participant's report: every scale over time, change from baseline, flags, and charts."""
