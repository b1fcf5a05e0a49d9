"""assessment statuses partial and missed stored; assessment.early

Revision ID: e5c2a8d1f4b6
Revises: e4b8c1d6f2a7
Create Date: 2026-12-02 17:30:00.000000

`pro-app assessments close-expired` stores `partial` (some answers, scored by the half rule) or `missed`
(started, nothing answered) for a started assessment whose window closed. `early` flags an assessment that
staff confirmed starting before its window opened. Existing rows: not early.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5c2a8d1f4b6'
down_revision = 'e4b8c1d6f2a7'
branch_labels = None
depends_on = None

OLD = ('completed', 'in_progress', 'not_done', 'scheduled')
NEW = OLD + ('missed', 'partial')


def _statuses(statuses):
    return sa.column('status').in_(sorted(statuses))


def upgrade():
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('early', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_constraint(op.f('ck_assessment_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_assessment_status'), _statuses(NEW))


def downgrade():
    # A closed assessment goes back to what it was before it was closed: started, not submitted.
    op.execute(sa.text("UPDATE assessment SET status = 'in_progress' WHERE status IN ('partial', 'missed')"))
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assessment_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_assessment_status'), _statuses(OLD))
        batch_op.drop_column('early')
