"""score: an index of the scored values by scale and value

Revision ID: c4e7a1d9f2b5
Revises: b8e2d4f6a1c3
Create Date: 2026-12-07 15:00:00.000000

The study results read every scored value of a study grouped by scale and value (results/services.py). In
the order of (status, scale_code, value, assessment_id) SQLite groups them as it reads them, from the index
alone, instead of sorting two million rows in a temporary B-tree (bench/bench_results.py).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4e7a1d9f2b5'
down_revision = 'b8e2d4f6a1c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.create_index('ix_score_scored_values', ['status', 'scale_code', 'value', 'assessment_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.drop_index('ix_score_scored_values')
