"""Native polls over a real Synapse: the poll Alice asks for reaches Bob's client as the
event Element sends, the votes Bob and Carol cast with real response events (the
unstable form Element sends, and the stable one) are counted, and at the deadline the
bot ends the poll with the event Element reads and posts the results.

The bot runs on a fake clock that starts on Friday 27 November 2026 at 10:00 in Paris;
the poll closes "lundi 18h" (Monday 30 November at 18:00). The test moves the clock and
runs the scheduler passes itself (see test_followups_matrix). Nothing waits on the
real clock but the syncs that bring the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from nio import AsyncClient, JoinResponse, RoomInviteResponse, RoomSendResponse
from sqlalchemy import select

from bot.runtime import Runtime
from commands.kit.clock import FakeClock
from storage.models import Decision, Poll, PollVote

from .botrun import BotWorld
from .matrix_helpers import wait_for_event
from .test_followups_matrix import (
    START,
    TIMEOUT,
    Check,
    arrives,
    in_reply_to,
    mark,
    paris,
    run_scheduler_at,
    start_bot,
    utc,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"

DEADLINE = paris("2026-11-30 18:00")  # "lundi 18h", seen from Friday 27 November
REMINDER = paris("2026-11-29 18:00")  # a day before


# --- What the users do and see.


async def add_member(world: BotWorld, name: str) -> AsyncClient:
    """A third member of the room (the world has Alice and Bob): invited by Alice."""
    assert world.alice is not None
    client = await world.user(name)
    invite = await world.alice.room_invite(world.room_id, client.user_id)
    assert isinstance(invite, RoomInviteResponse), invite
    assert isinstance(await client.join(world.room_id), JoinResponse)
    return client


async def respond(
    client: AsyncClient, room_id: str, poll_id: str, answers: list[str], *, stable: bool = False
) -> str:
    """A real poll response: the unstable form Element sends, or the stable one."""
    relates = {"rel_type": "m.reference", "event_id": poll_id}
    if stable:
        event_type = "m.poll.response"
        content: dict[str, Any] = {"m.selections": answers, "m.relates_to": relates}
    else:
        event_type = POLL_RESPONSE
        content = {POLL_RESPONSE: {"answers": answers}, "m.relates_to": relates}
    response = await client.room_send(room_id, event_type, content)
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)


def from_bot(world: BotWorld, event_type: str) -> Check:
    def check(source: dict[str, Any]) -> bool:
        return source.get("sender") == world.bot_id and source.get("type") == event_type

    return check


def body_starts(world: BotWorld, start: str) -> Check:
    def check(source: dict[str, Any]) -> bool:
        body = str(source.get("content", {}).get("body", ""))
        return source.get("sender") == world.bot_id and body.startswith(start)

    return check


def both(first: Check, second: Check) -> Check:
    return lambda source: first(source) and second(source)


async def all_arrive(
    client: AsyncClient, room_id: str, checks: Sequence[Check]
) -> list[dict[str, Any]]:
    """One event per check, whether they come in one sync or several (`arrives` would
    miss the second of two events that came together)."""
    found: list[dict[str, Any] | None] = [None] * len(checks)

    def collect(event: Any) -> bool:
        for index, check in enumerate(checks):
            if found[index] is None and check(event.source):
                found[index] = dict(event.source)
        return all(source is not None for source in found)

    await wait_for_event(client, room_id, collect, timeout=TIMEOUT)
    return [source for source in found if source is not None]


# --- What is stored.


async def stored_votes(runtime: Runtime) -> dict[str, tuple[list[int], str]]:
    """The bot's stored votes: voter -> (option indexes, how cast)."""
    async with runtime.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(select(PollVote).order_by(PollVote.id))
        return {v.voter: (list(v.choices), v.via) for v in rows}


async def stored_poll(runtime: Runtime) -> Poll:
    async with runtime.services.db.unit_of_work() as uow:
        [poll] = list(await uow.session.scalars(select(Poll)))
        return poll


async def stored_decisions(runtime: Runtime) -> list[Decision]:
    async with runtime.services.db.unit_of_work() as uow:
        return list(await uow.session.scalars(select(Decision).order_by(Decision.id)))


# --- The test.


async def test_a_native_poll_is_seen_voted_on_in_both_forms_and_ended(world: BotWorld) -> None:
    assert world.alice is not None
    assert world.bob is not None
    alice, bob = world.alice, world.bob
    room = world.room_id
    carol = await add_member(world, "carol")  # in before the bot starts: it lists her
    clock = FakeClock(START)
    runtime = await start_bot(world, clock)

    # 1. Alice asks for a poll; Bob's client receives it as Element's poll start event.
    await mark(bob)
    await world.send(alice, '!sondage "Technicien ?" Oui Non fin="lundi 18h"')
    poll_event = await arrives(bob, room, from_bot(world, POLL_START))
    poll_id = str(poll_event["event_id"])
    start = poll_event["content"][POLL_START]
    assert start["question"][TEXT] == "Sondage n° 1 : Technicien ?"
    assert start["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert start["max_selections"] == 1
    assert [(a["id"], a[TEXT]) for a in start["answers"]] == [("1", "Oui"), ("2", "Non")]
    assert "Clôture lundi 30 novembre 2026 à 18:00" in poll_event["content"][TEXT]
    poll = await stored_poll(runtime)
    assert poll.closes_at is not None
    assert poll.next_due_at is not None
    assert (utc(poll.closes_at), utc(poll.next_due_at)) == (DEADLINE, REMINDER)

    # 2. Bob votes Oui as Element does (unstable), Carol Non in the stable form. The
    # bot handles a room's events in order: the answer to `voir` counts both votes.
    await respond(bob, room, poll_id, ["1"])
    await respond(carol, room, poll_id, ["2"], stable=True)
    await mark(bob)
    show = await world.send(alice, "!sondage voir 1")
    shown = str((await arrives(bob, room, in_reply_to(world, show)))["content"]["body"])
    assert "1. Oui : 1 (50 %)" in shown, shown
    assert "2. Non : 1 (50 %)" in shown, shown
    # Three members may vote (Alice, Bob, Carol): the bot is none of them.
    assert "2 votant(s) sur 3" in shown, shown
    assert await stored_votes(runtime) == {
        bob.user_id: ([0], "native"),
        carol.user_id: ([1], "native"),
    }

    # A day before the deadline, the reminder names only Alice: both votes counted.
    await mark(bob)
    assert await run_scheduler_at(runtime, clock, REMINDER) == 1
    reminder = await arrives(bob, room, body_starts(world, "⏳ Le sondage n° 1"))
    assert reminder["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
    assert reminder["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": poll_id}}

    # 3. At the deadline the bot ends the poll (the event Element shows results for)
    # and posts the results in reply to the poll.
    await mark(bob)
    assert await run_scheduler_at(runtime, clock, paris("2026-11-30 17:59")) == 0
    assert await run_scheduler_at(runtime, clock, DEADLINE) == 1
    end, results = await all_arrive(
        bob,
        room,
        [
            from_bot(world, POLL_END),
            both(in_reply_to(world, poll_id), body_starts(world, "Sondage n° 1 clos")),
        ],
    )
    assert end["content"]["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll_id}
    assert POLL_END in end["content"]
    outcome = "égalité entre Oui et Non"
    assert end["content"][TEXT] == f"Le sondage n° 1 est clos. Résultat : {outcome}."
    text = str(results["content"]["body"])
    assert results["content"]["msgtype"] == "m.notice"
    assert text.startswith("Sondage n° 1 clos : Technicien ?"), text
    assert "1. Oui : 1 (50 %)" in text, text
    assert "2 votant(s) sur 3" in text, text
    assert f"Résultat : {outcome} — décision n° 1 au registre." in text, text

    poll = await stored_poll(runtime)
    assert (poll.status, poll.closed_by, poll.next_due_at) == ("closed", None, None)
    [decision] = await stored_decisions(runtime)
    assert (decision.outcome, decision.event_id) == (outcome, poll_id)
    assert decision.counts["counts"] == [1, 1]

    # A vote after the end changes nothing; the next pass has nothing to do.
    await mark(bob)
    await respond(alice, room, poll_id, ["1"], stable=True)
    late = await world.send(alice, "!sondage voir 1")
    shown = str((await arrives(bob, room, in_reply_to(world, late)))["content"]["body"])
    assert "clos le" in shown, shown
    assert "2 votant(s) sur 3" in shown, shown
    assert alice.user_id not in await stored_votes(runtime)
    assert await run_scheduler_at(runtime, clock, paris("2026-12-07 18:00")) == 0
    await world.stop_bot()
