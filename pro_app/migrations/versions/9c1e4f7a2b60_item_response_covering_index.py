"""item_response: one index that covers what the exports read

Revision ID: 9c1e4f7a2b60
Revises: 66349165315a
Create Date: 2026-12-01 18:00:00.000000

The index on assessment_id alone becomes (assessment_id, state, item_id, value, language): it still serves
every lookup by assessment, and the exports read a chunk's answers, languages and item states from the
index without visiting the table.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '9c1e4f7a2b60'
down_revision = '66349165315a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.create_index('ix_item_response_assessment_answers',
                              ['assessment_id', 'state', 'item_id', 'value', 'language'], unique=False)
        batch_op.drop_index(batch_op.f('ix_item_response_assessment_id'))


def downgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_response_assessment_id'), ['assessment_id'], unique=False)
        batch_op.drop_index('ix_item_response_assessment_answers')
