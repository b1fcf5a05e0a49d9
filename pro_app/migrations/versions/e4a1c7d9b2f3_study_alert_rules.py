"""a study's own alert rules, and the worsening-from-baseline alert kinds

Revision ID: e4a1c7d9b2f3
Revises: e4b7c1d9a2f3
Create Date: 2026-12-02 14:00:00.000000

study.alert_rules (JSON, NULL: the defaults of the instrument definitions, as before) and the alert kinds
worsening_grade and worsening_score in alert.kind's CHECK constraint.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4a1c7d9b2f3'
down_revision = 'e4b7c1d9a2f3'
branch_labels = None
depends_on = None

OLD_KINDS = ('grade_at_least', 'item_value', 'threshold')
NEW_KINDS = OLD_KINDS + ('worsening_grade', 'worsening_score')


def _kinds(kinds):
    return sa.column('kind').in_(sorted(kinds))


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_rules', sa.JSON(), nullable=True))
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alert_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alert_kind'), _kinds(NEW_KINDS))


def downgrade():
    op.execute(sa.text("DELETE FROM alert WHERE kind IN ('worsening_grade', 'worsening_score')"))
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alert_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alert_kind'), _kinds(OLD_KINDS))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('alert_rules')
