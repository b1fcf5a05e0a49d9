"""paper entry records the truth: who keyed an assessment and when, who administered it; a study's double
data entry setting and the keyings it keeps

Revision ID: a7e3c5b9d1f2
Revises: a7c3e9f1b5d2
Create Date: 2026-12-02 20:50:00.000000

A paper form's completed_at and answered times are now the date on the paper; the keying time and the staff
member who keyed it (and, with double data entry, the one who keyed it again) are kept beside them.
Existing assessments keep NULL: before this, the keying time was stored as completed_at and nothing else
was recorded. Existing studies do not require double entry.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7e3c5b9d1f2'
down_revision = 'a7c3e9f1b5d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keyed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('verified_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('administered_by', sa.String(length=120), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_assessment_entered_by_id_user'), 'user', ['entered_by_id'],
                                    ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_assessment_verified_by_id_user'), 'user', ['verified_by_id'],
                                    ['id'])
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('double_entry', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'paper_keying',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assessment_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('keyed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_on', sa.Date(), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('administered_by', sa.String(length=120), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("language IN ('en', 'es')", name=op.f('ck_paper_keying_language')),
        sa.CheckConstraint("mode IN ('assisted', 'paper', 'self')", name=op.f('ck_paper_keying_mode')),
        sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'],
                                name=op.f('fk_paper_keying_assessment_id_assessment')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_paper_keying_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_keying')),
    )
    with op.batch_alter_table('paper_keying', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_keying_assessment_id'), ['assessment_id'], unique=False)


def downgrade():
    with op.batch_alter_table('paper_keying', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_keying_assessment_id'))
    op.drop_table('paper_keying')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('double_entry')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assessment_verified_by_id_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_assessment_entered_by_id_user'), type_='foreignkey')
        batch_op.drop_column('administered_by')
        batch_op.drop_column('verified_by_id')
        batch_op.drop_column('entered_by_id')
        batch_op.drop_column('keyed_at')
