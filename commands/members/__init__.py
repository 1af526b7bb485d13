"""Membership: moderated join requests, roles and confidentiality (`!requests`).

The group decided that its exchanges are confidential and that joining is moderated by
the steering committee (COPIL). Passerelle runs that gate for the room: people ask to
join (a Matrix knock, or `!join` in a direct message), the moderators are told and
approve (an invitation) or deny (the knock refused) from the chat, the new member is
welcomed by direct message, and everything is audited (`!audit`). `!members` lists
who is in, with their roles, when they joined and who let them in; when a member
leaves, their open follow-ups are listed to the moderators for reassignment.
"""

from pathlib import Path

from commands.kit.domain import Domain
from commands.members import audit, jobs, personal_data, requests, roster
from commands.members.router import router
from commands.members.settings import MembersSettings

COMMAND_MODULES = (requests, roster, audit)

DOMAIN = Domain(
    name="members",
    router=router,
    messages=Path(__file__).parent / "messages",
    jobs=(jobs.REQUESTS, jobs.ROOM),
    settings=MembersSettings,
    privacy=personal_data.PRIVACY,
)
