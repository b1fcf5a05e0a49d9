"""item_response.corrected_at and correction_reason; alert status `resolved` (by a correction)

Revision ID: e5d3b9f2a6c8
Revises: e5c2a8d1f4b6
Create Date: 2026-12-02 18:20:00.000000

A staff correction keeps the answer's first answered_at and records its own time and reason, so exports show
which values were corrected. Existing rows: NULL (corrections before this were kept only in the audit trail).
An alert whose condition a correction removed is closed as `resolved`; the CHECK on alert.status had only
open and acknowledged, although the models' vocabulary already had resolved.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5d3b9f2a6c8'
down_revision = 'e5c2a8d1f4b6'
branch_labels = None
depends_on = None


OLD_ALERT = ('acknowledged', 'open')
NEW_ALERT = OLD_ALERT + ('resolved',)


def _alert_statuses(statuses):
    return sa.column('status').in_(sorted(statuses))


def upgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('correction_reason', sa.String(length=500), nullable=True))
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alert_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alert_status'), _alert_statuses(NEW_ALERT))


def downgrade():
    # Resolved by a correction goes back to open: someone looks at it again rather than it passing as seen.
    op.execute(sa.text("UPDATE alert SET status = 'open' WHERE status = 'resolved'"))
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alert_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alert_status'), _alert_statuses(OLD_ALERT))
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.drop_column('correction_reason')
        batch_op.drop_column('corrected_at')
