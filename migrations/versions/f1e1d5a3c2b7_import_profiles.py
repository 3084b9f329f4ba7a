"""fieldsheets: import profiles (saved column mappings) and the review list of each import

Revision ID: f1e1d5a3c2b7
Revises: 1e6e27ab2b54
Create Date: 2026-11-30 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1e1d5a3c2b7'
down_revision = '1e6e27ab2b54'
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
    op.create_table('import_review_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('rows', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolution', sa.String(length=64), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['ledger_import.id'], name=op.f('fk_import_review_item_import_id_ledger_import')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_review_item'))
    )
    with op.batch_alter_table('import_review_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_review_item_import_id'), ['import_id'], unique=False)


def downgrade():
    with op.batch_alter_table('import_review_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_review_item_import_id'))
    op.drop_table('import_review_item')
    op.drop_table('import_profile')
