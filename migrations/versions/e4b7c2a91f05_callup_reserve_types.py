"""call-up reserve-type filter

Revision ID: e4b7c2a91f05
Revises: f1e1d5a3c2b7
Create Date: 2026-11-30 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4b7c2a91f05'
down_revision = 'f1e1d5a3c2b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('callup') as batch_op:
        batch_op.add_column(sa.Column('reserve_types', sa.String(length=100), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('callup') as batch_op:
        batch_op.drop_column('reserve_types')
