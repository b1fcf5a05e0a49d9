"""auth_session.shown_item / shown_at dropped: the time an item was shown is kept in the signed session cookie

Revision ID: f3b1d7e9a2c4
Revises: f2c6a8e1d4b7
Create Date: 2026-12-02 21:40:00.000000

Writing them on every item page was a second write transaction per answer (issue 16). item_response.shown_at
stays: it is where the time is kept once the item is answered. A page shown but not yet answered when this runs
loses only that one time (its answer's shown_at is then blank, as for answers given before e4b8c1d6f2a7).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3b1d7e9a2c4'
down_revision = 'f2c6a8e1d4b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('shown_at')
        batch_op.drop_column('shown_item')


def downgrade():
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_item', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('shown_at', sa.DateTime(timezone=True), nullable=True))
