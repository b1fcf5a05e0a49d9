"""Passwords, throttling, server-side sessions and HTTP security headers."""
