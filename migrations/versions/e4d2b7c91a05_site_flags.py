"""site flags (a demo database says it is one)

Revision ID: e4d2b7c91a05
Revises: e4b7c2d9a1f6
Create Date: 2026-11-30 08:10:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'e4d2b7c91a05'
down_revision = 'e4b7c2d9a1f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site_flag',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_site_flag'))
    )


def downgrade():
    op.drop_table('site_flag')
