"""Meetings: agendas before, minutes during, follow-through after (`!meeting`).

The group's minutes ("CR de la réunion du ...") list who was present, each topic with
what was said, the decisions submitted to the steering committee (COPIL), and end on
"ce CR devra servir à construire les prochains ODJ". Passerelle writes such minutes
from commands typed during the meeting (MeetBot's names: `!topic`, `!info`, `!agreed`,
`!action`, ...; in French `!sujet`, `!info`, `!accord`, `!action`, ...), records the
decisions in the decision log, queues the proposals for the COPIL and turns the actions
into follow-ups; and it builds the next agenda from what the last meeting left open.
"""

from pathlib import Path

from commands.kit.domain import Domain
from commands.meetings import personal_data
from commands.meetings.router import router
from commands.meetings.settings import MeetingsSettings

# Importing a command module declares its commands on the router, in this order.
# isort: off
from commands.meetings import agenda  # agenda, agenda add/remove/move
from commands.meetings import schedule  # meeting schedule/cancel, and the scheduled job
from commands.meetings import live  # meeting, meeting start/end, topic, info, ...
from commands.meetings import chairs  # chair, unchair
from commands.meetings import undo  # undo, and what the undone line made elsewhere
from commands.meetings import minutes  # minutes, minutes export/amend

# isort: on

COMMAND_MODULES = (agenda, schedule, live, chairs, undo, minutes)

DOMAIN = Domain(
    name="meetings",
    router=router,
    messages=Path(__file__).parent / "messages",
    jobs=(schedule.JOB,),
    settings=MeetingsSettings,
    privacy=personal_data.PRIVACY,
)
