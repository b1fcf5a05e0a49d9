"""the data vocabulary checked by the database

Revision ID: c8a4e6b2d9f1
Revises: b3d5f0a1c2e4
Create Date: 2026-12-02 10:00:00.000000

Every status, state, mode, kind, role, actor and language column gets a CHECK constraint with the values of
the vocabulary (pro_app/vocabulary.py; SCORING.md §5). The values are written out here, as they stood at this
revision: a later vocabulary change comes with a migration of its own.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c8a4e6b2d9f1'
down_revision = 'b3d5f0a1c2e4'
branch_labels = None
depends_on = None

LANGUAGES = ('en', 'es')
MODES = ('assisted', 'paper', 'self')
CHECKS = {
    'assessment': [('status', ('completed', 'in_progress', 'not_done', 'scheduled'), False),
                   ('mode', MODES, True),
                   ('not_done_reason', ('device_failure', 'other', 'outside_window', 'patient_refused',
                                        'staff_error', 'too_ill'), True)],
    'item_response': [('state', ('answered', 'branched', 'declined', 'not_applicable', 'not_reached'), False),
                      ('mode', MODES, False),
                      ('language', LANGUAGES, False)],
    'score': [('status', ('insufficient', 'not_applicable', 'scored'), False)],
    'alert': [('kind', ('grade_at_least', 'item_value', 'threshold'), False),
              ('status', ('acknowledged', 'open'), False)],
    'participant': [('status', ('active', 'withdrawn'), False), ('language', LANGUAGES, False)],
    'user': [('role', ('admin', 'analyst', 'coordinator'), False)],
    'auth_session': [('kind', ('patient', 'staff'), False)],
    'audit_event': [('actor', ('patient', 'system', 'user'), False)],
}


def _condition(column: str, values: tuple, nullable: bool):
    condition = sa.column(column).in_(values)
    return condition | sa.column(column).is_(None) if nullable else condition


def upgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values, nullable in checks:
                batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), _condition(column, values, nullable))


def downgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, _values, _nullable in checks:
                batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
