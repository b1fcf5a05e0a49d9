"""The floor of the kiosk benchmark: a bare Flask + Flask-WTF + waitress app doing the least a tablet answer
needs — render a form of the same size as a pro-app item page, check its CSRF token, write one row to the
database (SQLite in WAL mode with synchronous FULL, or PostgreSQL) and redirect to the next item.

Run: python -m bench.floor_app --port P --database sqlite:///floor.db [--threads 16]
"""

from __future__ import annotations

import argparse
import sqlite3
import threading

from flask import Flask, redirect, render_template_string, request, session
from flask_wtf import CSRFProtect, FlaskForm
from waitress import serve
from wtforms import RadioField

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Question {{ n }}</title>
<link rel="stylesheet" href="/static/kiosk.css"></head><body><main><p class="progress">Question {{ n }} of 30</p>
<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<fieldset><legend><h1>During the past week, how much did this symptom bother you? ({{ n }})</h1></legend>
{% for value, label in choices %}<label class="choice"><input type="radio" name="choice" value="{{ value }}">
<span>{{ label }}</span></label>{% endfor %}</fieldset>
<button name="action" value="back">Back</button><button name="action" value="skip">Skip</button>
<button name="action" value="next">Next</button></form>{{ filler }}</main></body></html>"""
CHOICES = [("0", "Not at all"), ("1", "A little bit"), ("2", "Somewhat"), ("3", "Quite a bit"), ("4", "Very much")]


class ItemForm(FlaskForm):
    choice = RadioField(choices=CHOICES)


def make_app(database: str) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="floor", WTF_CSRF_TIME_LIMIT=3600)
    CSRFProtect(app)
    local = threading.local()
    postgres = database.startswith("postgresql")

    def connection():
        if not hasattr(local, "db"):
            if postgres:
                import psycopg

                local.db = psycopg.connect(database.replace("postgresql+psycopg", "postgresql"))
            else:
                local.db = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
                local.db.execute("PRAGMA journal_mode=WAL")
                local.db.execute("PRAGMA synchronous=FULL")
                local.db.execute("PRAGMA busy_timeout=10000")
        return local.db

    with app.app_context():
        db = connection()
        db.execute("CREATE TABLE IF NOT EXISTS answer (tablet TEXT, item INTEGER, value INTEGER)")
        if postgres:
            db.commit()

    @app.route("/item/<int:n>", methods=["GET", "POST"])
    def item(n: int):
        form = ItemForm()
        if request.method == "POST" and form.validate_on_submit():
            db = connection()
            if postgres:
                db.execute("INSERT INTO answer VALUES (%s, %s, %s)", (session.get("tablet", ""), n, form.choice.data))
                db.commit()
            else:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO answer VALUES (?, ?, ?)", (session.get("tablet", ""), n, form.choice.data))
                db.execute("COMMIT")
            return redirect(f"/item/{n % 30 + 1}")
        session.setdefault("tablet", request.remote_addr)
        return render_template_string(PAGE, n=n, choices=CHOICES, filler="<!-- -->" * 300)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    serve(make_app(args.database), host="127.0.0.1", port=args.port, threads=args.threads, connection_limit=1000,
          ident="floor")


if __name__ == "__main__":
    main()
