"""Follow-ups: actions assigned to members, chased until they are done (`!followup`).

The minutes of the group open their list of problems with partners who showed interest
and were never answered nor chased ("un simple manque de suivi / relance"). A follow-up
has one assignee and an optional due date; the scheduled job (`chase`) reminds the
assignee the working day before, on the day, then every few days while it is late,
widening the mentions to the creator and the moderators; a ✅ on a reminder closes it.
A follow-up may concern a partner: it shows on the partner's card, and doing it is an
interaction in the partner's history. A partner that becomes interested with nobody
following it up gets one.
"""

from pathlib import Path

from commands.followups import chase, commands, personal_data, requests
from commands.followups.router import router
from commands.followups.settings import FollowupsSettings
from commands.kit.domain import Domain

COMMAND_MODULES = (commands, chase, requests)

DOMAIN = Domain(
    name="followups",
    router=router,
    messages=Path(__file__).parent / "messages",
    jobs=(chase.JOB,),
    settings=FollowupsSettings,
    privacy=personal_data.PRIVACY,
)
