"""subject data: a study's arms, a participant's arm, consent, withdrawal date, follow-up after withdrawal, death

Revision ID: e4b7c1d9a2f3
Revises: d2f7a9c3e5b1
Create Date: 2026-12-02 12:40:00.000000

All new participant fields are optional (entered when known); existing participants get none of them, and
follow-up after withdrawal defaults to no (what withdrawing meant until now). Existing studies get no arms.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4b7c1d9a2f3'
down_revision = 'd2f7a9c3e5b1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arms', sa.JSON(), nullable=True))
    study = sa.table('study', sa.column('arms', sa.JSON))
    op.get_bind().execute(study.update().values(arms=[]))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.alter_column('arms', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arm', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('consent_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_continues', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('death_date', sa.Date(), nullable=True))
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.alter_column('follow_up_continues', existing_type=sa.Boolean(), server_default=None)


def downgrade():
    with op.batch_alter_table('participant', schema=None) as batch_op:
        for column in ('death_date', 'follow_up_continues', 'withdrawn_on', 'consent_date', 'arm'):
            batch_op.drop_column(column)
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('arms')
