"""The weekly digest (`!digest`, `!résumé`): once a week, one message that lets a member
who missed the week catch up in a minute and shows what is late. It reads the other
domains through their repositories, never their tables or their code."""

from pathlib import Path

from commands.digest import commands, job
from commands.digest.router import router
from commands.digest.settings import DigestSettings
from commands.kit.domain import Domain

COMMAND_MODULES = (commands,)

DOMAIN = Domain(
    name="digest",
    router=router,
    messages=Path(__file__).parent / "messages",
    jobs=(job.JOB,),
    settings=DigestSettings,
)
