"""The pairing directory's read model (filled in by the directory work)."""

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
