"""kiosk request keys: the tablet page's idempotency key of the request that stored an answer

Revision ID: f3a7c2e9b5d1
Revises: f2c6a8e1d4b7
Create Date: 2026-12-02 21:00:00.000000

Existing answers keep NULL (no key was sent before the column).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3a7c2e9b5d1'
down_revision = 'f2c6a8e1d4b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_key', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.drop_column('request_key')
