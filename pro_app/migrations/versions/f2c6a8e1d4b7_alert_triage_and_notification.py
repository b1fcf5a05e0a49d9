"""alert triage and notification: baseline value and action taken on an alert; a study's actions,
recipients and digest option; one row per alert notification (urgent email or hourly digest)

Revision ID: f2c6a8e1d4b7
Revises: e5d3b9f2a6c8
Create Date: 2026-12-02 17:20:00.000000

Existing alerts keep NULL baseline values and actions (neither was recorded); existing studies keep
NULL lists (the defaults: the standard actions, nobody notified) and no digest.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f2c6a8e1d4b7'
down_revision = 'e5d3b9f2a6c8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_value', sa.Float(precision=53), nullable=True))
        batch_op.add_column(sa.Column('action', sa.String(length=120), nullable=True))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_actions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('alert_recipients', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('alert_digest', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'alert_notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('digest', 'urgent')", name=op.f('ck_alert_notification_channel')),
        sa.CheckConstraint("status IN ('failed', 'pending', 'sent')", name=op.f('ck_alert_notification_status')),
        sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_notification_alert_id_alert')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_alert_notification_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_notification')),
        sa.UniqueConstraint('alert_id', 'user_id', name=op.f('uq_alert_notification_alert_id_user_id')),
    )
    with op.batch_alter_table('alert_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_notification_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_notification_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('alert_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_notification_status'))
        batch_op.drop_index(batch_op.f('ix_alert_notification_alert_id'))
    op.drop_table('alert_notification')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('alert_digest')
        batch_op.drop_column('alert_recipients')
        batch_op.drop_column('alert_actions')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('action')
        batch_op.drop_column('baseline_value')
