"""item_response.shown_at: when the item's page was shown for the answer (auth_session keeps the last shown)

Revision ID: e4b8c1d6f2a7
Revises: e4a1c7d9b2f3
Create Date: 2026-12-02 13:50:00.000000

With answered_at, analysts can see an implausibly fast answer (a ghost tap). Existing rows keep NULL:
the time they were shown was not recorded.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4b8c1d6f2a7'
down_revision = 'e4a1c7d9b2f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_item', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('shown_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('shown_at')
        batch_op.drop_column('shown_item')
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.drop_column('shown_at')
