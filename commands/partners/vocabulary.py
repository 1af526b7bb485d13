"""What a partner's card is made of, as users type it: kinds, statuses, tags, and the
options that set or filter them (shared by add, edit, list and export)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from commands.kit.args import (
    ArgType,
    Choice,
    Opt,
    Owner,
    Page,
    ParseContext,
    Text,
    Website,
    Word,
    YesNo,
)
from commands.kit.errors import ArgError
from commands.kit.text import fold, name_text, without_bidi
from storage.models import PartnerKind, PartnerStatus

MAX_TAGS = 20

KINDS = tuple(k.value for k in PartnerKind)
STATUSES = tuple(s.value for s in PartnerStatus)


def loose_key(text: str) -> str:
    """A vocabulary word with case, accents, spaces and punctuation left out."""
    return re.sub(r"[\W_]+", "", fold(text))


class Vocabulary(Choice):
    """A Choice typed as its code or its label in either language: `interesse`,
    `Intéressé`, `interested`, `"en négociation"`, `en-negociation` all work."""

    def __init__(
        self, values: Sequence[str], aliases: dict[str, str], *, label: str, metavar: str
    ) -> None:
        super().__init__(values, aliases, label=label, metavar=metavar)
        self.lookup = {loose_key(v): v for v in values} | {
            loose_key(k): v for k, v in aliases.items()
        }

    def parse(self, raw: str, pctx: ParseContext) -> str:
        value = self.lookup.get(loose_key(raw))
        if value is None:
            raise ArgError("core.arg.not_choice", value=raw, choices=self.values, label=self.label)
        return value


KIND = Vocabulary(
    KINDS,
    {
        "entreprise": "company",
        "société": "company",
        "societe": "company",
        "business": "company",
        "magasin": "company",
        "shop": "company",
        "asso": "association",
        "fondation": "foundation",
        "artisan": "craft",
        "artisans": "craft",
        "artisanat": "craft",
        "craftsman": "craft",
        "chambre": "chamber",
        "chambre consulaire": "chamber",
        "cci": "chamber",
        "chambre de métiers": "chamber",
        "école": "school",
        "université": "school",
        "university": "school",
        "collectivité": "public_authority",
        "collectivité territoriale": "public_authority",
        "public authority": "public_authority",
        "local authority": "public_authority",
        "mairie": "public_authority",
        "autre": "other",
    },
    label="partner.kind",
    metavar="kind",
)
STATUS = Vocabulary(
    STATUSES,
    {
        "idée": "idea",
        "à contacter": "to_contact",
        "contacter": "to_contact",
        "todo": "to_contact",
        "contacté": "contacted",
        "intéressé": "interested",
        "en négociation": "negotiating",
        "négociation": "negotiating",
        "negotiation": "negotiating",
        "actif": "active",
        "actif (formalisé)": "active",
        "formalisé": "active",
        "active (formalised)": "active",
        "formalised": "active",
        "formalized": "active",
        "effectif": "active",
        "en pause": "paused",
        "pause": "paused",
        "décliné": "declined",
        "refusé": "declined",
    },
    label="partner.status",
    metavar="status",
)


class Tags(ArgType[tuple[str, list[str]]]):
    """`outils,bois` sets the tags; `+bois` adds, `-bois` removes; `-` clears them."""

    metavar = "tags"

    def parse(self, raw: str, pctx: ParseContext) -> tuple[str, list[str]]:
        text = raw.strip()
        if text == "-":
            return "set", []
        items = [" ".join(i.split()) for i in text.split(",")]
        items = [i for i in items if i]
        if items and all(i[0] in "+-" for i in items):
            adds = [name_text(i[1:]) for i in items if i[0] == "+" and i[1:].strip()]
            removes = [name_text(i[1:]) for i in items if i[0] == "-" and i[1:].strip()]
            return "change", [f"+{a}" for a in adds] + [f"-{r}" for r in removes]
        items = [name_text(i) for i in items]  # no invisible character in a tag
        if any(len(i) > 50 for i in items):
            raise ArgError("partners.arg.tag_too_long", limit=50)
        if len(items) > MAX_TAGS:
            raise ArgError("partners.arg.too_many_tags", limit=MAX_TAGS)
        return "set", items


class Description(Text):
    """A partner's description: free text, without the direction controls that could make
    it read as something else (the CSV import leaves them out too)."""

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = without_bidi(super().parse(raw, pctx))
        if not text.strip():
            raise ArgError("core.arg.empty")
        return text


class PartnerName(Word):
    """A partner as named in a command (see `resolve.resolve_partner`)."""

    metavar = "partner"

    def __init__(self, metavar: str | None = None) -> None:
        super().__init__(200, metavar)


class StatusAndNote(ArgType[tuple[str, str | None]]):
    """`interested`, `"à contacter"`, `en négociation suite au salon`: a status (one to
    three words) and, after it, an optional comment for the history."""

    metavar = "status_note"

    def parse(self, raw: str, pctx: ParseContext) -> tuple[str, str | None]:
        words = raw.split()
        for size in (3, 2, 1):
            if len(words) >= size:
                value = STATUS.lookup.get(loose_key(" ".join(words[:size])))
                if value is not None:
                    note = " ".join(words[size:]).strip() or None
                    return value, note
        return STATUS.parse(words[0] if words else raw, pctx), None


YESNO = YesNo()

# Options of the card, shared by add, edit and the list filters.
O_KIND = Opt("kind", KIND, fr="type", aliases=("type", "genre", "nature"))
O_STATUS = Opt("status", STATUS, fr="statut", aliases=("etat", "état"))
O_TAGS = Opt("tags", Tags(), fr="etiquettes", aliases=("tag", "étiquettes", "étiquette"))
O_SOCIAL = Opt(
    "social",
    YESNO,
    fr="ess",
    aliases=("social_economy", "economie_sociale", "économie_sociale", "esus"),
)
O_OWNER = Opt("owner", Owner(), fr="suivi", aliases=("responsable", "referent", "référent"))
O_CONSORTIUM = Opt(
    "consortium",
    Word(100, metavar="consortium"),
    fr="entite",
    aliases=("entité", "consortium_member", "structure"),
)
O_WEBSITE = Opt("website", Website(), fr="site", aliases=("web", "url", "siteweb", "site_web"))
O_DESCRIPTION = Opt("description", Description(2000), fr="description", aliases=("desc",))
O_FORCE = Opt("force", YESNO, fr="forcer")
O_NAME = Opt("name", PartnerName(metavar="name"), fr="nom", aliases=("rename", "renommer"))
O_PAGE = Opt("page", Page(minimum=1), fr="page")
O_TAG_FILTER = Opt("tag", Word(50, metavar="tag"), fr="etiquette", aliases=("étiquette", "tags"))
O_REMOVED = Opt("removed", YESNO, fr="supprimes", aliases=("supprimés",))
FILTERS = (O_STATUS, O_KIND, O_TAG_FILTER, O_OWNER, O_CONSORTIUM, O_SOCIAL, O_REMOVED)
