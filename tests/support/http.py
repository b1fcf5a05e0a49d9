"""Small helpers for driving the app through the Flask test client."""

import re

PASSWORD = "correct horse battery staple"


def login(client, email: str, password: str = PASSWORD):
    page = client.get("/staff/login")
    token = csrf_token(page.get_data(as_text=True))
    return client.post("/staff/login", data={"email": email, "password": password, "csrf_token": token})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)
