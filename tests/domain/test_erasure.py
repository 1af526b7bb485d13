"""Erasing a person (`forget-person`) and showing what is kept on them (`person-data`),
through the bot: whole words only, every place that holds them (values they had before
included), a preview to confirm, and another group's data left alone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, select, update
from sqlalchemy.engine import make_url

from bot.config import Settings
from commands.kit.i18n import html_to_plain
from storage.models import (
    Base,
    InboxEvent,
    OutboxEvent,
    Partner,
    PartnerEvent,
    PartnerPerson,
    Role,
)
from storage.models.core import PendingAction
from storage.repos.core import MemberRepository
from storage.repos.partners import PartnerRepository
from tests.botkit import ALICE, BOB, CAROL, TestBot

MAIN, MODS, OTHER = "!partenariats", "!moderation", "!autre-groupe"
GROUP = "partenariats"

# Zoé O'Brien, as she is written here and there, and what identified her before.
ZOE = "Zoé O'Brien"
EMAIL, OLD_EMAIL = "Zoe.OBrien@kiditap.fr", "zoe.old@kiditap.fr"
PHONE, OLD_PHONE = "+33 6 12 34 56 78", "06 11 22 33 44"
# What must not be left anywhere (case aside): her name in the spellings and escapes
# text, HTML and JSON give it, her e-mails, her phone numbers as people write them.
FORMS = [
    "zoé o'brien",
    "zoe o'brien",
    "zoé o’brien",
    "o'brien",
    "o’brien",
    "o&#39;brien",
    "o&#x27;brien",
    "zo\\u00e9 o'brien",
    "o\\u2019brien",
    "zoe.obrien@",
    "zoe.old@",
    "06 12 34 56 78",
    "0612345678",
    "06.12.34.56.78",
    "+33 6 12 34 56 78",
    "+33612345678",
    "06 11 22 33 44",
    "0611223344",
]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [
                {"id": MAIN, "group": GROUP},
                {"id": MODS, "group": GROUP},
                {"id": OTHER},
            ],
            "database": {"url": db_url},
        }
    )


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    """Carol is a moderator of the group; KidiTap and Conrad are partners."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(CAROL, Role.MODERATOR, now=bot.clock.now())
    await bot.ask("!partenaire ajouter KidiTap type=entreprise", sender=BOB, room=MAIN)
    await bot.ask("!partenaire ajouter Conrad type=entreprise", sender=BOB, room=MAIN)
    return bot


async def say(bot: TestBot, text: str, *, sender: str = BOB, room: str = MAIN) -> str:
    return await bot.ask(text, sender=sender, room=room)


async def zoe_everywhere(bot: TestBot) -> None:
    """Zoé O'Brien at KidiTap (her e-mail and phone changed once), named in a
    description, a note, an edited description, commands, the bot's answers, an edited
    message, a pending import and an export waiting to be sent."""
    await say(
        bot,
        f'!partenaire personne ajouter KidiTap "{ZOE}" email={OLD_EMAIL} tel="{OLD_PHONE}"',
    )
    await say(bot, f'!partenaire personne modifier KidiTap "{ZOE}" email={EMAIL} tel="{PHONE}"')
    await say(
        bot, '!partenaire modifier Conrad description="Contact : Zoé O’Brien, 06.12.34.56.78"'
    )
    await say(bot, f'!partenaire modifier KidiTap description="Suivi par {ZOE}"')
    await say(bot, '!partenaire modifier KidiTap description="Suivi par l\'équipe"')
    await say(bot, f"!partenaire note KidiTap Appel avec ZOÉ O'BRIEN, écrire à {EMAIL.lower()}")
    await say(bot, "!partenaire note KidiTap Rappeler au 0612345678 avant vendredi")
    # Follow-ups: one naming her, done with a note naming her; one edited away from her.
    await say(bot, f'!relance {BOB} Rappeler {ZOE} echeance="lundi" partenaire=KidiTap')
    await say(bot, f"!fait 1 {ZOE} viendra, écrire à {EMAIL}", sender=BOB)
    await say(bot, f"!relance {BOB} Écrire à Zoé O’Brien")
    await say(bot, '!relance modifier 2 texte="Écrire à l\'équipe"')
    # An edited message: the new text is in `m.new_content`.
    await bot.deliver(
        bot.raw(
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* Zoé a rappelé",
                "m.new_content": {"msgtype": "m.text", "body": f"{ZOE} a rappelé (06 12 34 56 78)"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$ev1"},
            },
            sender=BOB,
            room=MAIN,
        )
    )
    # A pending import whose preview names her.
    data = f'name,description\nAtelier Z,"Animé par {ZOE}"\n'.encode()
    await bot.post_file("import.csv", data, sender=CAROL, room=MAIN)
    assert "Atelier Z" in await say(bot, "!partenaire importer", sender=CAROL)
    # An export (Conrad's description names her), kept to be sent later.
    [export] = await bot.say("!partenaire exporter", sender=BOB, room=MAIN)
    assert export.attachment is not None
    assert "O’Brien".encode() in export.attachment.data
    async with bot.services.db.unit_of_work() as uow:
        txn = await uow.outbox.add(
            room_id=MAIN,
            event_type="m.room.message",
            content={**export.content, "info": {"size": len(export.attachment.data)}},
            now=bot.clock.now(),
            attachment=("partenaires.csv", "text/csv", export.attachment.data),
            group=GROUP,
        )
        row = await uow.session.scalar(select(OutboxEvent).where(OutboxEvent.txn_id == txn))
        assert row is not None
        await uow.outbox.mark_retry(
            row.id, attempts=1, next_attempt_at=bot.clock.now() + timedelta(days=2), error="x"
        )


# Where a command and its answer add rows, whatever they do.
TRAFFIC = ("inbox", "outbox", "pending_actions", "audit_log", "last_lists", "room_members")


async def snapshot(bot: TestBot) -> dict[tuple[str, Any], tuple[Any, ...]]:
    """Every row of every table, by table and primary key."""
    rows: dict[tuple[str, Any], tuple[Any, ...]] = {}
    async with bot.services.db.unit_of_work() as uow:
        for table in Base.metadata.sorted_tables:
            key = list(table.primary_key.columns)
            for row in await uow.session.execute(select(table)):
                values = row._mapping
                rows[(table.name, tuple(values[c.name] for c in key))] = tuple(row)
    return rows


def unchanged(before: dict[Any, Any], after: dict[Any, Any]) -> None:
    """Nothing that was there changed or went; new rows only where commands leave them."""
    assert {k: after.get(k) for k in before} == before
    assert {table for table, _ in after.keys() - before.keys()} <= set(TRAFFIC)


async def texts(bot: TestBot) -> list[tuple[str, str]]:
    """Every text, JSON and binary value of every table, as (table.column, text): JSON
    as stored (\\u escapes) and as read, files decoded as UTF-8."""
    found: list[tuple[str, str]] = []
    async with bot.services.db.unit_of_work() as uow:
        for table in Base.metadata.sorted_tables:
            columns = [
                c for c in table.columns if isinstance(c.type, String | Text | JSON | LargeBinary)
            ]
            if not columns:
                continue
            rows = await uow.session.execute(select(*columns))
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    where = f"{table.name}.{column.name}"
                    if isinstance(value, bytes):
                        found.append((where, value.decode("utf-8", errors="ignore")))
                    elif isinstance(column.type, JSON):
                        found.append((where, json.dumps(value)))
                        found.append((where, json.dumps(value, ensure_ascii=False)))
                    else:
                        found.append((where, str(value)))
    return found


def leftovers(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(where, form) for where, text in found for form in FORMS if form in text.casefold()]


def file_leftovers(path: Path) -> list[str]:
    """Her forms in the raw bytes of a database file (UTF-8, and JSON's escapes)."""
    if not path.exists():
        return []
    data = path.read_bytes().lower()
    return [form for form in FORMS if form.encode() in data]


async def person(bot: TestBot, name: str) -> PartnerPerson | None:
    async with bot.services.db.unit_of_work() as uow:
        return await uow.session.scalar(select(PartnerPerson).where(PartnerPerson.name == name))


# --- Whole words only.


async def test_erasing_li_leaves_other_words_and_other_messages_alone(group: TestBot) -> None:
    await say(group, "!partenaire personne ajouter KidiTap Li role=stagiaire")
    await say(group, "!partenaire note KidiTap Public meeting in the library with Li and Lili.")
    await say(group, "!partenaire note Conrad Publication in the Public library, with Lili.")
    async with group.services.db.unit_of_work() as uow:
        before_in = {r.id: r.content for r in await uow.session.scalars(select(InboxEvent))}
        before_out = {r.id: r.content for r in await uow.session.scalars(select(OutboxEvent))}

    preview = await say(group, "!oublier-personne Li", sender=CAROL)
    assert "confirmer" in preview
    done = await say(group, "!oublier-personne confirmer", sender=CAROL)
    assert done.startswith("Effacé : 1 fiche(s) de personne (KidiTap)")

    async with group.services.db.unit_of_work() as uow:
        notes = {
            e.text
            for e in await uow.session.scalars(
                select(PartnerEvent).where(PartnerEvent.kind == "note")
            )
        }
        after_in = {r.id: r.content for r in await uow.session.scalars(select(InboxEvent))}
        after_out = {r.id: r.content for r in await uow.session.scalars(select(OutboxEvent))}
    assert notes == {
        "Public meeting in the library with [effacé] and Lili.",
        "Publication in the Public library, with Lili.",
    }
    # The stored copies of what never named her are as they were, byte for byte; those
    # that did keep everything but her name.
    changed = {i for i in before_in if before_in[i] != after_in[i]}
    assert {before_in[i]["body"] for i in changed} == {
        "!partenaire personne ajouter KidiTap Li role=stagiaire",
        "!partenaire note KidiTap Public meeting in the library with Li and Lili.",
    }
    assert after_in[min(changed)]["body"] == (
        "!partenaire personne ajouter KidiTap [effacé] role=stagiaire"
    )
    assert [c["body"] for i, c in after_in.items() if i not in before_in] == [
        "!oublier-personne [effacé]",
        "!oublier-personne confirmer",
    ]
    conrad = next(c for c in after_in.values() if "Conrad Publication" in c["body"])
    assert conrad["body"] == "!partenaire note Conrad Publication in the Public library, with Lili."
    changed = {i for i in before_out if before_out[i] != after_out[i]}
    assert [after_out[i]["body"] for i in sorted(changed)] == [
        "Ajouté chez KidiTap : [effacé], stagiaire.",
    ]


async def test_names_match_in_any_case_accent_apostrophe_and_hyphen(group: TestBot) -> None:
    await say(group, '!partenaire personne ajouter KidiTap "Jean-Pierre O\'Brien"')
    await say(group, "!partenaire note KidiTap vu JEAN PIERRE O’BRIEN et jean–pierre obrien")
    await say(group, "!partenaire note KidiTap Jean-Pierre-Marie O'Brien-Smith est un autre")
    await say(group, "!oublier-personne Jean-Pierre O'Brien", sender=CAROL)
    await say(group, "!oublier-personne confirmer", sender=CAROL)
    async with group.services.db.unit_of_work() as uow:
        notes = list(
            await uow.session.scalars(
                select(PartnerEvent.text)
                .where(PartnerEvent.kind == "note")
                .order_by(PartnerEvent.id)
            )
        )
    assert notes == [
        "vu [effacé] et [effacé]",
        "Jean-Pierre-Marie O'Brien-Smith est un autre",
    ]


# --- Every place, old values included.


async def test_person_data_lists_every_kind_of_place(group: TestBot) -> None:
    await zoe_everywhere(group)
    answer = await say(group, f"!donnees-personne {ZOE}")
    lines = answer.splitlines()
    assert lines[0] == f"Ce que je garde sur « {ZOE} »"
    assert lines[1].startswith(
        f"Chez KidiTap : nom {ZOE}, e-mail {EMAIL}, téléphone {PHONE}, "
        f"e-mail auparavant : {OLD_EMAIL}, téléphone auparavant : {OLD_PHONE} (depuis le"
    )
    for heading in (
        "Lignes d'historique :",
        "Notes qui la mentionnent :",
        "Fiches de partenaires qui la mentionnent :",
        "Mes copies de messages écrits dans le salon (",
        "Mes copies de mes propres messages (",
        "Aperçus en attente de confirmation (1) :",
        "Fichiers que je garde pour les envoyer (1) :",
    ):
        assert any(line.startswith(heading) for line in lines), heading
    assert f"Pour tout effacer : !oublier-personne {ZOE} (modérateurs)." == lines[-1]
    # The edit that named her, the notes (by e-mail, by phone), the description.
    assert any("Suivi par Zoé O'Brien" in line for line in lines)
    assert any("Appel avec ZOÉ O'BRIEN" in line for line in lines)
    assert any("Rappeler au 0612345678" in line for line in lines)
    described = "• Conrad — description : « Contact : Zoé O’Brien"
    assert any(line.startswith(described) for line in lines)
    # The copies are shown masked: where she was, not who.
    copies = lines[lines.index(next(x for x in lines if x.startswith("Mes copies"))) : -1]
    assert not leftovers([("answer", "\n".join(copies))])
    assert any("Z. O." in line for line in copies)
    # By e-mail or phone, old or new, in any spelling: the same person.
    for typed in (EMAIL.upper(), OLD_EMAIL, "0612345678", "+33611223344"):
        found = await say(group, f"!donnees-personne {typed}")
        assert f"Chez KidiTap : nom {ZOE}" in found, typed


async def test_forget_person_leaves_nothing_anywhere(group: TestBot, db_url: str) -> None:
    await zoe_everywhere(group)
    assert leftovers(await texts(group))  # she is there, in many forms
    path = Path(make_url(db_url).database or "")
    if db_url.startswith("sqlite"):
        assert file_leftovers(path) + file_leftovers(path.with_name(path.name + "-wal"))

    preview = await say(group, f"!oublier-personne {ZOE}", sender=CAROL)
    assert preview.startswith("Effacer « Z. O. » de ")
    assert "Pour effacer : !oublier-personne confirmer" in preview
    assert not leftovers([("preview", preview)])  # masked: where, never who
    done = await say(group, "!oublier-personne confirmer", sender=CAROL)
    assert done.startswith("Effacé : 1 fiche(s) de personne (KidiTap), ")
    assert "1 aperçu(s) en attente, 1 fichier(s)" in done
    assert not leftovers([("answer", done)])

    assert leftovers(await texts(group)) == []
    erased = await person(group, "")
    assert erased is not None
    assert erased.erased_at is not None
    if db_url.startswith("sqlite"):
        assert file_leftovers(path) == []
        assert file_leftovers(path.with_name(path.name + "-wal")) == []
    # The import waiting still previews, without her.
    async with group.services.db.unit_of_work() as uow:
        [pending] = await uow.session.scalars(select(PendingAction))
    assert pending.payload["rows"][0]["description"] == "Animé par [effacé]"
    # The file kept to send is still a CSV, announced with its new size.
    async with group.services.db.unit_of_work() as uow:
        [kept] = await uow.session.scalars(
            select(OutboxEvent).where(OutboxEvent.status == "pending")
        )
    assert kept.attachment is not None
    assert kept.attachment.startswith(b"\xef\xbb\xbf")
    assert "Contact : [effacé], [effacé]" in kept.attachment.decode("utf-8-sig")
    assert kept.content["info"]["size"] == len(kept.attachment)
    # The audit log says that someone was erased, never who.
    async with group.services.db.unit_of_work() as uow:
        [entry] = await uow.audit.latest(1, group=GROUP)
    assert entry.action == "privacy.forget"
    assert entry.detail["places"] > 10
    assert not leftovers([("audit", json.dumps(entry.detail))])


async def test_the_partner_sub_command_erases_the_copies_too(group: TestBot) -> None:
    await zoe_everywhere(group)
    await say(group, f"!partenaire oublier-personne {ZOE}", sender=CAROL)
    done = await say(group, f"!partenaire oublier-personne {ZOE} confirmer", sender=CAROL)
    assert done.startswith("Effacé : ")
    # Narrowed to the contact book (and the bot's copies): the follow-ups keep her,
    # until `!oublier-personne` covers every domain.
    left = leftovers(await texts(group))
    assert left
    assert {where.split(".")[0] for where, _ in left} == {"followups", "followup_events"}
    # Her card is gone, and with it what tied her e-mail to her name: both are asked.
    for who in (ZOE, EMAIL):
        await say(group, f"!oublier-personne {who}", sender=CAROL)
        await say(group, "!oublier-personne confirmer", sender=CAROL)
    assert leftovers(await texts(group)) == []


# --- Preview, confirmation, cancellation.


async def test_the_preview_changes_nothing_until_confirmed(group: TestBot) -> None:
    await zoe_everywhere(group)
    before = await snapshot(group)
    preview = await say(group, f"!oublier-personne {ZOE}", sender=CAROL)
    assert preview.startswith("Effacer « Z. O. » de ")
    assert "Chez KidiTap : la fiche de Z. O. (e-mail, téléphone)" in preview
    assert "!oublier-personne annuler" in preview
    unchanged(before, await snapshot(group))
    assert await person(group, ZOE) is not None
    # Members cannot erase.
    assert await say(group, "!oublier-personne confirmer") == (
        "Cette commande demande le rôle modérateur."
    )
    assert await person(group, ZOE) is not None


async def test_cancel_changes_nothing(group: TestBot) -> None:
    await zoe_everywhere(group)
    before = await snapshot(group)
    await say(group, f"!oublier-personne {ZOE}", sender=CAROL)
    assert await say(group, "!oublier-personne annuler", sender=CAROL) == (
        "Effacement de « Z. O. » annulé : rien n'a été changé."
    )
    unchanged(before, await snapshot(group))
    assert await person(group, ZOE) is not None
    assert await say(group, "!oublier-personne confirmer", sender=CAROL) == (
        "Aucun effacement n'attend de confirmation ici. Commencez par !oublier-personne PERSONNE."
    )
    assert await person(group, ZOE) is not None


async def test_a_preview_older_than_a_day_is_refused(group: TestBot) -> None:
    await zoe_everywhere(group)
    await say(group, f"!oublier-personne {ZOE}", sender=CAROL)
    await group.advance(timedelta(days=1, minutes=1))
    answer = await say(group, "!oublier-personne confirmer", sender=CAROL)
    assert answer.startswith("Cet aperçu date de plus d'un jour : rien n'a été effacé.")
    assert await person(group, ZOE) is not None


async def test_a_preview_is_shown_again_when_the_records_changed(group: TestBot) -> None:
    await zoe_everywhere(group)
    await say(group, f"!oublier-personne {ZOE}", sender=ALICE)
    await say(group, f"!oublier-personne {ZOE}", sender=CAROL)
    await say(group, f"!partenaire note Conrad Devis envoyé à {ZOE}")
    again = await say(group, "!oublier-personne confirmer", sender=CAROL)
    assert again.startswith("Ce que je garde a changé depuis l'aperçu : le voici de nouveau.")
    assert await person(group, ZOE) is not None
    done = await say(group, "!oublier-personne confirmer", sender=CAROL)
    assert done.startswith("Effacé : 1 fiche(s) de personne (KidiTap), ")
    assert "5 note(s) caviardée(s)" in done  # three notes, the follow-up's link and line
    assert "1 relance(s) caviardée(s), 2 ligne(s) d'historique de relances" in done
    # Another moderator's preview of the same erasure has nothing left to do: gone too.
    assert await say(group, "!oublier-personne confirmer", sender=ALICE) == (
        "Aucun effacement n'attend de confirmation ici. Commencez par !oublier-personne PERSONNE."
    )


async def test_confirming_names_the_person_previewed(group: TestBot) -> None:
    await zoe_everywhere(group)
    await say(group, '!partenaire personne ajouter Conrad "Paul Martin"')
    await say(group, f"!oublier-personne {ZOE}", sender=CAROL)
    answer = await say(group, "!oublier-personne Paul Martin confirmer", sender=CAROL)
    assert answer.startswith("L'effacement en attente ici concerne quelqu'un d'autre (« Z. O. »)")
    assert await person(group, "Paul Martin") is not None
    assert await person(group, ZOE) is not None
    done = await say(group, f"!oublier-personne {ZOE.upper()} confirmer", sender=CAROL)
    assert done.startswith("Effacé : ")
    assert await person(group, ZOE) is None


async def test_erasing_from_a_direct_message(group: TestBot) -> None:
    await zoe_everywhere(group)
    await group.join(CAROL, room=MAIN)
    dm = await group.open_direct(CAROL)
    assert (await say(group, f"!oublier-personne {ZOE}", sender=CAROL, room=dm)).startswith(
        "Effacer « Z. O. » de "
    )
    done = await say(group, f"!oublier-personne {ZOE} confirmer", sender=CAROL, room=dm)
    assert done.startswith("Effacé : 1 fiche(s) de personne (KidiTap), ")
    # The commands typed in the direct-message room are blacked out too.
    assert leftovers(await texts(group)) == []


async def test_nothing_to_erase(group: TestBot) -> None:
    # The command asking is not a place where the bot keeps them...
    assert await say(group, "!donnees-personne Paul Personne") == (
        "Je ne garde rien sur « Paul Personne »."
    )
    assert await say(group, "!oublier-personne Anne Autre", sender=CAROL) == (
        "Je ne garde rien sur « Anne Autre » : rien à effacer."
    )
    # ...but once asked, the bot keeps the question and its answer, which name them.
    again = await say(group, "!oublier-personne Paul Personne", sender=CAROL)
    assert again.startswith("Effacer « P. P. » de 2 endroit(s) ?")
    assert await say(group, "!oublier-personne x", sender=CAROL) == (
        "Indiquez un nom d'au moins deux lettres, une adresse e-mail ou un numéro de téléphone."
    )


# --- Groups, and answers of a bounded size.


async def test_another_groups_zoe_is_untouched(group: TestBot) -> None:
    await say(group, "!partenaire ajouter Ailleurs type=entreprise", room=OTHER)
    await say(
        group,
        f'!partenaire personne ajouter Ailleurs "{ZOE}" email={EMAIL} tel="{PHONE}"',
        room=OTHER,
    )
    await say(group, f"!partenaire note Ailleurs Déjeuner avec {ZOE}", room=OTHER)
    await zoe_everywhere(group)

    async def other() -> list[Any]:
        async with group.services.db.unit_of_work() as uow:
            inbox = await uow.session.scalars(
                select(InboxEvent.content).where(InboxEvent.room_id == OTHER)
            )
            outbox = await uow.session.scalars(
                select(OutboxEvent.content).where(OutboxEvent.room_id == OTHER)
            )
            rows = await uow.session.scalars(
                select(PartnerEvent.text)
                .join(Partner, Partner.id == PartnerEvent.partner_id)
                .where(Partner.group_id == OTHER, PartnerEvent.kind == "note")
            )
            return [list(inbox), list(outbox), sorted(t for t in rows if t)]

    before = await other()
    await say(group, f"!oublier-personne {ZOE}", sender=CAROL, room=MODS)
    await say(group, "!oublier-personne confirmer", sender=CAROL, room=MODS)
    after = await other()
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert f"Déjeuner avec {ZOE}" in after[2]
    theirs = await person(group, ZOE)
    assert theirs is not None
    assert theirs.email == EMAIL
    # In the group, she is gone.
    assert await say(group, f"!donnees-personne {ZOE}", room=MAIN) == (
        f"Je ne garde rien sur « {ZOE} »."
    )


async def test_person_data_on_someone_mentioned_everywhere_fits_one_event(
    group: TestBot,
) -> None:
    await say(group, f'!partenaire personne ajouter KidiTap "{ZOE}" email={EMAIL}')
    now = group.clock.now()
    async with group.services.db.unit_of_work() as uow:
        repo = uow.repo(PartnerRepository, GROUP)
        kiditap = await repo.by_key("kiditap")
        assert kiditap is not None
        for number in range(300):
            text = f"Réunion {number} avec {ZOE} : " + "compte rendu détaillé " * 40
            await repo.add_note(kiditap, text, actor=BOB, now=now)
            await uow.inbox.add(
                event_id=f"$bulk{number}",
                room_id=MAIN,
                sender=BOB,
                event_type="m.room.message",
                content={"msgtype": "m.text", "body": text},
                origin_ts=now,
                now=now,
            )
        # Handled long ago (not commands waiting to run).
        await uow.session.execute(
            update(InboxEvent)
            .where(InboxEvent.event_id.like("$bulk%"))
            .values(status="ignored", group_id=GROUP)
        )
    [answer] = await group.say(f"!donnees-personne {ZOE}", sender=BOB, room=MAIN)
    size = len(json.dumps(answer.content, ensure_ascii=False).encode())
    assert size < 64 * 1024
    assert answer.content["msgtype"] == "m.notice"  # an answer, not a file
    plain = html_to_plain(answer.html)
    assert "… et 295 de plus" in plain  # the notes: the first five shown
    assert "Mes copies de messages écrits dans le salon (30" in plain
