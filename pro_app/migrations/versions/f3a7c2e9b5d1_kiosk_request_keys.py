"""kiosk request keys and tablets: the tablet page's idempotency key of the request that stored an answer;
registered tablets (named, revocable device credentials); the device of a patient session

Revision ID: f3a7c2e9b5d1
Revises: a7e3c5b9d1f2
Create Date: 2026-12-02 21:00:00.000000

Existing answers keep NULL (no key was sent before the column); existing sessions NULL (device unknown).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3a7c2e9b5d1'
down_revision = 'a7e3c5b9d1f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_key', sa.String(length=64), nullable=True))
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device', sa.String(length=40), nullable=True))
    op.create_table(
        'tablet',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_tablet_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tablet')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_tablet_token_hash')),
    )


def downgrade():
    op.drop_table('tablet')
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('device')
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.drop_column('request_key')
