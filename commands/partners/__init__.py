"""Partners: the group's contact book, a small CRM driven from chat (`!partner`).

The minutes of 30/05/2015 set its rules: partners in the broad sense (companies,
institutions, associations, foundations, craftsmen, chambers, schools), preferably
from the social and solidarity economy; the project's structural partners (local
public authorities) out of scope; a partner "effective" (active) once it has
formalised an agreement with one of the consortium's members. And the complaint
that started it all: interest shown by partners left without an answer, which is
what `stale` is for.

A partner is named in any command by its exact name (case and accents aside), a
unique prefix of it, or its number in the last list the user saw (see `resolve`).
Each command module declares its sub-commands on the one `!partner` group (`router`)
and keeps its messages beside it, in `messages/<module>.yaml`.
"""

from pathlib import Path

from commands.kit.domain import Domain
from commands.partners import resolve
from commands.partners.router import router
from commands.partners.settings import PartnersSettings

# Importing a command module declares its commands on the router. `!help partner` lists
# them in the order they are declared, hence this order (not the alphabetical one).
# isort: off
from commands.partners import card  # add, edit, status, note
from commands.partners import people  # person
from commands.partners import show  # show, history
from commands.partners import lists  # list, find, stale
from commands.partners import tidy  # merge, remove, restore
from commands.partners import personal_data  # person-data, forget-person
from commands.partners import csv_io  # export, import

# isort: on

COMMAND_MODULES = (card, people, show, lists, tidy, personal_data, csv_io)

DOMAIN = Domain(
    name="partners",
    router=router,
    messages=Path(__file__).parent / "messages",
    settings=PartnersSettings,
    privacy=personal_data.PRIVACY,
    lookups={"partner": resolve.lookup},
)
