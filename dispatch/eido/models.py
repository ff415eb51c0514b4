"""The EIDOs received from other centres: which incident each one became, so the same EIDO twice makes one."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, created_at_column


class EidoImport(Base):
    """One per EIDO `$id` (unique): the first to insert it imports, a second one (a retry, the same EIDO sent
    twice at once) waits on the row and answers the incident it became."""

    __tablename__ = "eido_imports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    eido_id: Mapped[str] = mapped_column(String(255), unique=True)
    # Set in the transaction that inserts the row; null only until that transaction's intake has run.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    agency: Mapped[str] = mapped_column(String(255))  # the sending agency's id (its agencyComponent's $id)
    issuing_element: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = created_at_column()
    # The EIDO as received, kept whole: what the other centre said, for whoever must later check it.
    document: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
