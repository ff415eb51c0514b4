"""What a unit's crew reads of its own work: its unit only (the floor reads any), and its recent jobs."""

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.errors import Forbidden
from dispatch.incidents.crew import day_start
from dispatch.incidents.types import IncidentTypes


def check_own_unit(who: Principal, unit_id: int) -> None:
    """A unit's token reads its own unit; other roles have passed require_role already."""
    if who.role == Role.unit and who.unit_id != unit_id:
        raise Forbidden(f"a unit's device reads its own unit only, not unit {unit_id}")


async def recent_jobs(
    session: AsyncSession, unit_id: int, *, time_zone: str, types: IncidentTypes, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The unit's assignments of today and yesterday (the report time zone's days), newest first."""
    rows = await session.execute(
        text("""
        SELECT a.id AS assignment_id, a.incident_id, a.slot, a.status::text AS status, a.assigned_at,
               a.acknowledged_at, a.en_route_at, a.on_scene_at, a.cleared_at, a.cancelled_at,
               i.type_code, i.priority, i.address_label, i.municipality, i.disposition,
               i.status::text AS incident_status
        FROM assignments a JOIN incidents i ON i.id = a.incident_id
        WHERE a.unit_id = :u AND a.assigned_at >= :since
        ORDER BY a.assigned_at DESC, a.id DESC"""),
        {"u": unit_id, "since": day_start(time_zone, days_ago=1, now=now)},
    )
    jobs = []
    for row in rows.mappings():
        kind = types.get(row["type_code"]) or types.unknown
        jobs.append({**row, "type_name": kind.name})
    return jobs
