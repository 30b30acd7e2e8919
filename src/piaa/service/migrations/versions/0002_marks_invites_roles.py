"""marks (flags and colour labels), invitations, admin role, sharing of ratings

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 21:50:00

- ``marks``: a person's pick/reject flag and colour label of a photo, apart from their stars (one row per person
  and photo; both columns may be NULL).
- ``invites``: one-time sign-up codes an admin hands out (only the SHA-256 of the code is kept), valid until
  ``expires_at``; ``used_by`` is the account that signed up with it.
- ``users.is_admin``: admins create invitations and list/remove members.
- ``users.share_ratings``: whether the person's ratings may enter the team/community views (default: yes).
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('share_ratings', sa.Boolean(), nullable=False, server_default=sa.true()))

    op.create_table('marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('flag', sa.String(length=8), nullable=True),
    sa.Column('label', sa.String(length=8), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'image_id', name='uq_marks_user_image')
    )
    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marks_user_id'), ['user_id'], unique=False)

    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_by', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['used_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )


def downgrade() -> None:
    op.drop_table('invites')
    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marks_user_id'))
    op.drop_table('marks')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('share_ratings')
        batch_op.drop_column('is_admin')
