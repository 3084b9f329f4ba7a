"""one review store: the catalogue reviews (item_review) move into import_review_item

Revision ID: 9c3e5a7b1d42
Revises: e4b7c2a91f05
Create Date: 2026-11-30 11:00:00

Each item_review row becomes (or settles) an import_review_item entry of the same kind about the same item:
- an entry the importer already wrote for it (same kind, same item code) keeps its rows and takes the review's
  detail (for a new item it says which word gave the category) and, when resolved, its resolution;
- otherwise a new entry is added, under the earliest import that wrote stock of the item (IMPORT-<id> on a
  movement of one of its stock lines), or none when no import did, with the sheet and row its reference named.
"""
import datetime as dt
import json
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9c3e5a7b1d42'
down_revision = 'e4b7c2a91f05'
branch_labels = None
depends_on = None

IMPORT_PREFIX = 'IMPORT-'
WHERE = re.compile(r'^(?P<sheet>.*) 第(?P<row>\d+)行$')  # the old reference: "<sheet> 第<n>行"

review = sa.table(
    'import_review_item',
    sa.column('id', sa.Integer), sa.column('import_id', sa.Integer), sa.column('kind', sa.String),
    sa.column('subject', sa.String), sa.column('detail', sa.Text), sa.column('rows', sa.Text),
    sa.column('status', sa.String), sa.column('resolution', sa.String), sa.column('resolved_by', sa.String),
    sa.column('created_at', sa.DateTime),
)
item_review = sa.table(
    'item_review',
    sa.column('id', sa.Integer), sa.column('item_id', sa.Integer), sa.column('reason', sa.String),
    sa.column('detail', sa.String), sa.column('reference', sa.String), sa.column('created_at', sa.DateTime),
    sa.column('resolved_by', sa.String),
)
item = sa.table('item', sa.column('id', sa.Integer), sa.column('code', sa.String))
item_variant = sa.table('item_variant', sa.column('item_id', sa.Integer), sa.column('base_item_id', sa.Integer))
ledger_import = sa.table('ledger_import', sa.column('id', sa.Integer), sa.column('imported_at', sa.DateTime))
movement = sa.table('movement', sa.column('stock_line_id', sa.Integer), sa.column('reference', sa.String))
stock_line = sa.table('stock_line', sa.column('id', sa.Integer), sa.column('item_id', sa.Integer))


def upgrade():
    with op.batch_alter_table('import_review_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('import_id', existing_type=sa.Integer(), nullable=True)
    bind = op.get_bind()
    bind.execute(
        review.update().values(
            created_at=sa.select(ledger_import.c.imported_at)
            .where(ledger_import.c.id == review.c.import_id)
            .scalar_subquery()
        )
    )
    _move_item_reviews(bind)
    bind.execute(
        review.update().where(review.c.created_at.is_(None)).values(created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    )
    with op.batch_alter_table('import_review_item', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=sa.DateTime(), nullable=False)
    with op.batch_alter_table('item_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_review_item_id'))
    op.drop_table('item_review')


def _move_item_reviews(bind):
    imports = {row.id for row in bind.execute(sa.select(ledger_import.c.id))}
    query = (
        sa.select(item_review, item.c.code.label('item_code'), item_variant.c.base_item_id)
        .join(item, item.c.id == item_review.c.item_id)
        .outerjoin(item_variant, item_variant.c.item_id == item_review.c.item_id)
        .order_by(item_review.c.id)
    )
    for old in bind.execute(query).all():
        status, resolution, resolved_by = 'open', '', ''
        if old.resolved_by is not None:
            resolved_by = old.resolved_by
            if old.reason == 'unit_variant' and old.base_item_id is not None:  # merged by a pack factor
                status = 'corrected'
                resolution = bind.execute(sa.select(item.c.code).where(item.c.id == old.base_item_id)).scalar() or ''
            else:
                status = 'confirmed'
        same = review.c.kind == old.reason, review.c.subject == old.item_code
        first = bind.execute(sa.select(review.c.id).where(*same).order_by(review.c.id).limit(1)).scalar()
        if first is not None:
            bind.execute(review.update().where(review.c.id == first).values(detail=old.detail))
            if status != 'open':
                bind.execute(
                    review.update()
                    .where(*same, review.c.status == 'open')
                    .values(status=status, resolution=resolution, resolved_by=resolved_by)
                )
            continue
        where = WHERE.match(old.reference or '')
        bind.execute(
            review.insert().values(
                import_id=_first_import(bind, old.item_id, imports),
                kind=old.reason,
                subject=old.item_code,
                detail=old.detail,
                rows=json.dumps([[where['sheet'], int(where['row'])]] if where else [], ensure_ascii=False),
                status=status,
                resolution=resolution,
                resolved_by=resolved_by,
                created_at=old.created_at,
            )
        )


def _first_import(bind, item_id, imports):
    """The earliest import that wrote stock of the item, or None."""
    references = bind.execute(
        sa.select(movement.c.reference)
        .join(stock_line, stock_line.c.id == movement.c.stock_line_id)
        .where(stock_line.c.item_id == item_id, movement.c.reference.like(IMPORT_PREFIX + '%'))
        .distinct()
    ).scalars()
    ids = [int(ref[len(IMPORT_PREFIX):]) for ref in references if ref[len(IMPORT_PREFIX):].isdigit()]
    found = sorted(i for i in ids if i in imports)
    return found[0] if found else None


def downgrade():
    op.create_table('item_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_review_item_id_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_review')),
    sa.UniqueConstraint('item_id', 'reason', name='uq_item_review_item_reason')
    )
    with op.batch_alter_table('item_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_review_item_id'), ['item_id'], unique=False)
    bind = op.get_bind()
    query = (
        sa.select(review, item.c.id.label('item_id'))
        .join(item, item.c.code == review.c.subject)
        .where(review.c.kind.in_(('new_item', 'unit_variant')))
        .order_by(review.c.id)
    )
    seen = set()
    for entry in bind.execute(query).all():
        if (entry.item_id, entry.kind) in seen:
            continue
        seen.add((entry.item_id, entry.kind))
        rows = json.loads(entry.rows or '[]')
        bind.execute(
            item_review.insert().values(
                item_id=entry.item_id,
                reason=entry.kind,
                detail=(entry.detail or '')[:500],
                reference=(f'{rows[0][0]} 第{rows[0][1]}行' if rows else '')[:64],
                created_at=entry.created_at,
                resolved_by=(entry.resolved_by or 'migration') if entry.status != 'open' else None,
            )
        )
    bind.execute(review.delete().where(review.c.import_id.is_(None)))
    with op.batch_alter_table('import_review_item', schema=None) as batch_op:
        batch_op.alter_column('import_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('created_at')
