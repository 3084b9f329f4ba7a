"""import profiles (fieldsheets): saved column mappings for ledgers with unforeseen headers

Revision ID: f1e1d5a3c2b7
Revises: 9d1e4c7a2f30
Create Date: 2026-11-30 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1e1d5a3c2b7'
down_revision = '9d1e4c7a2f30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('mapping', sa.Text(), nullable=False),
    sa.Column('header_signatures', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_profile')),
    sa.UniqueConstraint('name', name=op.f('uq_import_profile_name'))
    )


def downgrade():
    op.drop_table('import_profile')
