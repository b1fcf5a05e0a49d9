"""alert notification retries: when a failed email is tried again (the backoff), and until when one process
holds it while sending (so no alert is emailed twice)

Revision ID: a7d3e9f1c5b2
Revises: f3b1d7e9a2c4
Create Date: 2026-12-02 20:40:00.000000

Existing notifications keep NULL in both: a pending or failed one is due at once, and none is being sent.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7d3e9f1c5b2'
down_revision = 'f3b1d7e9a2c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert_notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('alert_notification', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('next_attempt_at')
