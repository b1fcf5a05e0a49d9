"""Staff login and logout, and handing an assessment over to the tablet (in person, or by a start code)."""
