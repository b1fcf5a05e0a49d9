"""study setup by forms and anchored schedules: a study-manager grant; each timepoint's anchor event and
Spanish label; a participant's enrolment and end-of-treatment dates

Revision ID: a7c3e9f1b5d2
Revises: a7d3e9f1c5b2
Create Date: 2026-12-02 20:40:00.000000

Existing timepoints count from the start of treatment (the participant's anchor date), as before, and keep
no Spanish label (the English one is shown). Coordinators granted a whole study could edit it before this
revision, so their whole-study grants become study-manager grants: nobody loses what they could do.
Existing participants keep NULL dates (enrolment falls back to the day the record was created).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c3e9f1b5d2'
down_revision = 'a7d3e9f1c5b2'
branch_labels = None
depends_on = None

ANCHORS = "anchor IN ('enrolment', 'treatment_end', 'treatment_start')"


def upgrade():
    with op.batch_alter_table('study_grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text(
        "UPDATE study_grant SET manager = :yes WHERE site_id IS NULL AND user_id IN "
        "(SELECT id FROM \"user\" WHERE role = 'coordinator')").bindparams(yes=True))
    with op.batch_alter_table('timepoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label_es', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('anchor', sa.String(length=32), nullable=False,
                                      server_default='treatment_start'))
        batch_op.create_check_constraint(op.f('ck_timepoint_anchor'), sa.text(ANCHORS))
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enrolled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('treatment_end', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('treatment_end')
        batch_op.drop_column('enrolled_on')
    with op.batch_alter_table('timepoint', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_timepoint_anchor'), type_='check')
        batch_op.drop_column('anchor')
        batch_op.drop_column('label_es')
    with op.batch_alter_table('study_grant', schema=None) as batch_op:
        batch_op.drop_column('manager')
