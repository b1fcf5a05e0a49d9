"""alert kinds named after the rule that raised them

Revision ID: b3d5f0a1c2e4
Revises: 9c1e4f7a2b60
Create Date: 2026-12-02 09:00:00.000000

The rules that raise alerts are data of the instrument definitions now (`alert_rules`), so an alert's kind
is the rule's kind, whatever instrument it came from: proctcae_grade3 becomes grade_at_least and
proctcae_item4 becomes item_value (threshold keeps its name).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3d5f0a1c2e4'
down_revision = '9c1e4f7a2b60'
branch_labels = None
depends_on = None

RENAMED = {'proctcae_grade3': 'grade_at_least', 'proctcae_item4': 'item_value'}


def _rename(pairs):
    alert = sa.table('alert', sa.column('kind', sa.String))
    for old, new in pairs:
        op.execute(alert.update().where(alert.c.kind == old).values(kind=new))


def upgrade():
    _rename(RENAMED.items())


def downgrade():
    _rename((new, old) for old, new in RENAMED.items())
