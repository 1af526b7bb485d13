"""Partners: the group's contact book, a small CRM driven from chat (`!partner`)."""

from pathlib import Path

from commands.kit.domain import Domain
from commands.partners.commands import router
from commands.partners.settings import PartnersSettings

DOMAIN = Domain(
    name="partners",
    router=router,
    messages=Path(__file__).parent / "messages.yaml",
    settings=PartnersSettings,
)
