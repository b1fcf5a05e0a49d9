"""repeating timepoints and unscheduled assessments: a timepoint may repeat every N days or weeks until an
anchor event's date or for a count; an assessment is one occurrence of its timepoint, or an unscheduled one
(no timepoint, a reason, the instruments staff chose) numbered after the visit it followed

Revision ID: b8e2d4f6a1c3
Revises: f3a7c2e9b5d1
Create Date: 2026-12-03 07:00:00.000000

Existing timepoints happen once (repeat fields NULL) and existing assessments are the first (only) occurrence
of their timepoint, so visit numbers and the schedule are unchanged. The downgrade refuses while unscheduled
or repeated assessments exist: the old schema has no place for them and dropping patient data is not an option.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8e2d4f6a1c3'
down_revision = 'f3a7c2e9b5d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('timepoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_every', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('repeat_unit', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('repeat_until', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('repeat_count', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_timepoint_repeat_unit'),
                                         sa.text("repeat_unit IS NULL OR repeat_unit IN ('days', 'weeks')"))
        batch_op.create_check_constraint(
            op.f('ck_timepoint_repeat_until'),
            sa.text("repeat_until IS NULL OR repeat_until IN ('enrolment', 'treatment_end', 'treatment_start')"))
        batch_op.create_check_constraint(op.f('ck_timepoint_repeat_has_unit'),
                                         sa.text("repeat_every IS NULL OR repeat_unit IS NOT NULL"))
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occurrence', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('visit_after', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unscheduled_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('asked', sa.JSON(), nullable=True))
        batch_op.alter_column('timepoint_id', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint('uq_assessment_participant_id_timepoint_id', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_assessment_participant_id_timepoint_id_occurrence'),
                                          ['participant_id', 'timepoint_id', 'occurrence'])
        batch_op.create_check_constraint(op.f('ck_assessment_scheduled_or_reason'),
                                         sa.text("timepoint_id IS NOT NULL OR unscheduled_reason IS NOT NULL"))


def downgrade():
    extra = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM assessment WHERE timepoint_id IS NULL OR occurrence <> 1")).scalar()
    if extra:
        raise RuntimeError(f"{extra} unscheduled or repeated assessments exist; the earlier schema cannot hold "
                           "them (export the data, then remove them deliberately before downgrading)")
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assessment_scheduled_or_reason'), type_='check')
        batch_op.drop_constraint(op.f('uq_assessment_participant_id_timepoint_id_occurrence'), type_='unique')
        batch_op.create_unique_constraint('uq_assessment_participant_id_timepoint_id',
                                          ['participant_id', 'timepoint_id'])
        batch_op.alter_column('timepoint_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('asked')
        batch_op.drop_column('unscheduled_reason')
        batch_op.drop_column('visit_after')
        batch_op.drop_column('occurrence')
    with op.batch_alter_table('timepoint', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_timepoint_repeat_has_unit'), type_='check')
        batch_op.drop_constraint(op.f('ck_timepoint_repeat_until'), type_='check')
        batch_op.drop_constraint(op.f('ck_timepoint_repeat_unit'), type_='check')
        batch_op.drop_column('repeat_count')
        batch_op.drop_column('repeat_until')
        batch_op.drop_column('repeat_unit')
        batch_op.drop_column('repeat_every')
