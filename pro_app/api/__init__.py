"""Token-authenticated, read-only HTTP access to the analyst data sets."""
