"""Polls and decisions for the steering committee (COPIL): `!poll`, `!vote`, the
decision log (`!decisions`) and the proposals waiting for the committee (`!propose`).

The minutes of the group end with a list of "decisions submitted to the COPIL": the
committee votes with rules (who may vote, quorum, deadline), and what it decides is kept.
A poll is posted as a native Matrix poll (MSC3381, which Element shows with buttons),
with a text fallback (`!vote N OPTION`); a secret poll takes its votes by direct message
only. A closed poll records a decision; a proposal becomes a poll or is decided directly.
"""

from pathlib import Path

from commands.kit.domain import Domain
from commands.polls import personal_data
from commands.polls.router import router

# Importing a command module declares its commands on the router, in this order.
# isort: off
from commands.polls import polls  # poll, poll from-proposal/show/close, polls
from commands.polls import votes  # vote, and votes by buttons or by reply
from commands.polls import decisions  # decision add/show, decisions
from commands.polls import proposals  # propose, proposals, proposal
from commands.polls import requests  # what the meetings ask: a decision, a proposal

# isort: on

COMMAND_MODULES = (polls, votes, decisions, proposals, requests)

DOMAIN = Domain(
    name="polls",
    router=router,
    messages=Path(__file__).parent / "messages",
    jobs=tuple(polls.JOB),
    privacy=personal_data.PRIVACY,
)
