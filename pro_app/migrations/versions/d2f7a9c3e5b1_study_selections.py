"""a study's selection of terms, for any instrument with selectable items

Revision ID: d2f7a9c3e5b1
Revises: c8a4e6b2d9f1
Create Date: 2026-12-02 11:00:00.000000

study.proctcae_terms (a list of PRO-CTCAE term numbers) becomes study.selections: {instrument id: [term
numbers]}, so any instrument whose definition has terms can have a study's own selection. Existing studies
keep their terms, now under the id of the instrument the old column was for (pro_ctcae); an empty list
becomes no entry (the default term set, as before).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2f7a9c3e5b1'
down_revision = 'c8a4e6b2d9f1'
branch_labels = None
depends_on = None

#: The one instrument the old column held terms of (this revision's history, not a rule of the app).
OLD_COLUMN_INSTRUMENT = 'pro_ctcae'


def _study(*columns):
    return sa.table('study', sa.column('id', sa.Integer), *columns)


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('selections', sa.JSON(), nullable=True))
    study = _study(sa.column('proctcae_terms', sa.JSON), sa.column('selections', sa.JSON))
    connection = op.get_bind()
    for row in connection.execute(sa.select(study.c.id, study.c.proctcae_terms)).all():
        terms = list(row.proctcae_terms or [])
        connection.execute(study.update().where(study.c.id == row.id)
                           .values(selections={OLD_COLUMN_INSTRUMENT: terms} if terms else {}))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.alter_column('selections', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('proctcae_terms')


def downgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proctcae_terms', sa.JSON(), nullable=True))
    study = _study(sa.column('proctcae_terms', sa.JSON), sa.column('selections', sa.JSON))
    connection = op.get_bind()
    for row in connection.execute(sa.select(study.c.id, study.c.selections)).all():
        connection.execute(study.update().where(study.c.id == row.id)
                           .values(proctcae_terms=list((row.selections or {}).get(OLD_COLUMN_INSTRUMENT, []))))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.alter_column('proctcae_terms', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('selections')
