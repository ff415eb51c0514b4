"""The fault benchmark (benchmarks/faults): its figures on made-up runs, its arguments, and a tiny real run of one
fault that leaves nothing behind."""

import asyncio
import random
import socket
import time

import pytest
from typer.testing import CliRunner

from benchmarks.faults import figures as f
from benchmarks.faults.__main__ import app
from benchmarks.faults.figures import AssignmentRow, DeviceRecord, Received, StatusSent


def row(id, unit, at, *, incident=None, ack=None, en_route=None, on_scene=None, ended=None) -> AssignmentRow:
    return AssignmentRow(id, incident or 100 + id, unit, at, ack, en_route, on_scene, ended)


def device(unit, *, opened=0.0, closed=None, **fields) -> DeviceRecord:
    return DeviceRecord(unit, connected=[[opened, closed]], **fields)


def test_lost_calls_are_missing_or_stranded():
    incidents = {1: "dispatched", 2: "pending", 3: "pending", 4: "closed"}
    # 1 assigned, 2 queued, 4 closed: fine; 3 in no queue with no unit, 5 not in PostgreSQL at all
    assert f.lost({1, 2, 3, 4, 5}, incidents, assigned={1}, queued={2}) == 2
    assert f.lost({1, 2}, incidents, assigned={1}, queued={2}) == 0


def test_a_unit_on_two_assignments_at_once_counts_once():
    rows = [
        row(1, 7, 10.0, ended=20.0),
        row(2, 7, 15.0, ended=30.0),
        row(3, 7, 16.0),  # 7: overlaps
        row(4, 8, 10.0, ended=20.0),
        row(5, 8, 19.8, ended=25.0),  # 8: 0.2 s is two transactions' clocks
        row(6, 9, 10.0),
    ]
    assert f.doubles(rows, end=60.0) == 1
    assert f.doubles([row(1, 7, 10.0), row(2, 7, 12.0, ended=13.0)], end=60.0) == 1  # the first never ended


def test_statuses_recorded_on_an_assignment_the_crew_did_not_report_them_for():
    crew = device(7, statuses=[StatusSent(1, "en_route", 11.0, "ok"), StatusSent(1, "on_scene", 12.0, "ok")], acked={1})
    rows = [
        row(1, 7, 10.0, ack=10.1, en_route=11.0, on_scene=12.0),
        row(2, 7, 20.0, ack=20.1, en_route=20.5),
    ]  # never acknowledged nor reported by the device: two
    assert f.misapplied(rows, {7: crew}) == 2
    assert f.misapplied(rows[:1], {7: crew}) == 0


def test_late_undelivered_and_due_at_a_reconnect():
    got = [
        Received("assignment", "a", 1, 101, 1, 10.5),  # half a second: on time
        Received("assignment", "b", 2, 102, 2, 24.0),  # made at 20, the device connected: 4 s late
        Received("assignment", "c", 3, 104, 4, 41.0),  # made at 30 while away; back at 40: on time
        Received("assignment", "d", 4, 106, 6, 45.0),
    ]  # made at 32 while away; 5 s after the reconnect
    crew = device(7, closed=29.0, received=got, statuses=[StatusSent(1, "available", 12.0, "ok")])
    crew.connected.append([40.0, None])
    rows = [
        row(1, 7, 10.0, ended=12.0),  # finished by the crew: no cancel owed
        row(2, 7, 20.0, ended=25.0),  # closed under the crew: a cancel owed, never came
        row(3, 7, 26.0),  # never came
        row(4, 7, 30.0),
        row(6, 7, 32.0),
        row(5, 7, 100.0),
    ]  # made after the judging ended: not counted
    out = f.delivery(rows, {7: crew}, judge_until=90.0)
    assert (out.owed, out.undelivered, out.cancels_undelivered, out.late) == (6, 2, 1, 4)
    assert out.after_reconnect_late == 1
    assert {"kind": "cancel", "unit": 7, "assignment": 2, "late_s": None} in out.examples
    assert {"kind": "assignment", "unit": 7, "assignment": 6, "late_s": 5.0} in out.examples
    crew.received.append(Received("assignment", "c2", 5, 105, 5, 101.0))
    assert f.delivery(rows, {7: crew}, judge_until=200.0).late == 4  # one second after it was made


def test_a_current_delivers_the_assignment_it_names_and_ends_the_others():
    """After a resume the server may send `current` instead of replaying: it brings the assignment it names, and
    is the cancel of any other the crew held."""
    crew = device(7, received=[Received("current", "x", 9, 102, 2, 21.0)])
    rows = [row(1, 7, 10.0, ended=20.5), row(2, 7, 20.0)]
    out = f.delivery(rows, {7: crew}, judge_until=90.0)
    assert (out.owed, out.undelivered, out.late) == (3, 1, 1)  # assignment 1 itself never came
    assert f.first_assignment_after(rows, {7: crew}, fault_at=15.0, back_at=20.0) == 1.0


def test_recovery_times():
    assert f.first_after([1.0, 5.0, 7.5], since=4.0) == 1.0
    assert f.first_after([1.0], since=4.0) is None and f.first_after([1.0], since=None) is None
    crew = device(
        7, received=[Received("assignment", "a", 1, 101, 1, 9.0), Received("assignment", "b", 2, 102, 2, 13.0)]
    )
    rows = [row(1, 7, 8.9), row(2, 7, 12.0)]
    assert f.first_assignment_after(rows, {7: crew}, fault_at=10.0, back_at=11.0) == 2.0


async def test_a_device_tells_a_resend_from_a_duplicate_and_takes_a_current():
    from benchmarks.faults.devices import Device, Protocol

    crew = Device(7, "token", "ws://127.0.0.1:9/ws/unit", Protocol(), random.Random(1))

    async def receive(message: dict) -> None:
        crew._outbox_message(message["type"], message, time.time())
        await asyncio.sleep(0)  # its acknowledgement starts (and waits for a socket that never opens)

    first = {"type": "assignment", "id": "a", "seq": 1, "incident_id": 10, "assignment_id": 100}
    await receive(first)
    assert crew.current == (100, 10) and crew.record.acked == {100}
    await receive(first)  # sent again before its acknowledgement was taken: the protocol working
    assert crew.record.duplicates == 0
    crew.handled.add("a")  # the server answered the acknowledgement `ok`
    await receive(first)
    await receive({**first, "id": "b", "seq": 2})  # the same assignment in another message
    assert crew.record.duplicates == 2
    await receive({"type": "assignment", "id": "c", "seq": 3, "incident_id": 11, "assignment_id": 101})
    assert crew.record.two_at_once == 1 and crew.current == (101, 11)  # 100 was never cancelled
    await receive({"type": "current", "id": "d", "seq": 2**32 + 1, "assignment": None, "incident_id": None})
    assert crew.current is None and crew.max_seq == 2**32 + 1
    await receive(
        {
            "type": "current",
            "id": "e",
            "seq": 2**32 + 2,
            "incident_id": 12,
            "assignment": {"assignment_id": 102, "incident_id": 12, "status": "en_route"},
        }
    )
    assert crew.current == (102, 12) and 102 not in crew.record.acked  # acknowledged before, by the server's word
    assert [m.kind for m in crew.record.received][-2:] == ["current", "current"]
    assert crew.record.received[-1].assignment_id == 102
    for task in list(crew.tasks):
        task.cancel()
    await asyncio.gather(*crew.tasks, return_exceptions=True)


@pytest.mark.parametrize(
    "args", [["--scenario", "nope"], ["--duration", "20", "--fault-at", "25"], ["--units", "0"], ["--rate", "500"]]
)
def test_bad_arguments_exit_2_with_a_message(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_a_tiny_run_of_a_matcher_kill_measures_and_leaves_nothing(tmp_path):
    """Ten units, a call a second for seven seconds, the matcher killed at +3 s: the run gives every figure, and
    afterwards no process, port or folder of it is left."""
    from benchmarks.faults.scenarios import SCENARIOS, Options, run
    from benchmarks.faults.stack import Stack

    stack = Stack(units=10, seed=3, logs=tmp_path)
    try:
        stack.start()
        servers = (stack.redis, stack.postgres)
        seen: list = []

        async def scenario():
            task = asyncio.create_task(
                run(
                    stack,
                    SCENARIOS["matcher-kill"],
                    Options(units=10, rate=1, duration=7, fault_at=3, seed=3, tail_s=3),
                    say=lambda m: None,
                )
            )
            while not task.done():  # the deployment's processes, while they run
                if stack.deployment is not None:
                    seen.extend(p for p in (stack.deployment.service, *stack.deployment.matchers) if p)
                await asyncio.sleep(0.5)
            return await task

        result = asyncio.run(scenario())
    finally:
        stack.close()
    assert result["accepted"] >= 5 and result["fault_at_s"] == pytest.approx(3, abs=1)
    for key in ("lost", "double", "misapplied", "duplicates", "late", "http_5xx", "undelivered"):
        assert isinstance(result[key], int) and result[key] >= 0
    assert result["owed_messages"] >= result["assignments"] > 0
    assert (tmp_path / "matcher-kill" / "service.log").exists() and len(set(seen)) >= 3  # the matcher restarted
    for process in set(seen):
        assert process.poll() is not None
    for server in servers:
        assert not _listening(server.port) and not server.dir.exists()
