"""The catalogue of changes residents report: one declarative form per report type.

Each form's answers become the report's payload as they are (registry ids as
strings, dates as ISO text), so the reviewers' card and the registry's apply step
read the same keys the form asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from html import escape
from typing import Any

from flows import engine
from flows.engine import (
    YES,
    YES_NO,
    Answers,
    Evidence,
    FieldError,
    Form,
    FormState,
    Group,
    Step,
)
from flows.filing import file_report, own_household
from locales import _, format_date
from locales import lazy_gettext as _l
from registry import attributes as attr
from registry.accounts import ReviewArea
from registry.apply import MOTHER_OUTSIDE
from registry.households import RELATIONSHIPS, household_by_kk, member_by_nik
from registry.nik import parse_nik
from storage.models import Household, Member

MAX_NAME = 100
MAX_PLACE = 200
MAX_REASON = 1000
OLDEST = date(1900, 1, 1)


def today() -> date:
    return date.today()


# ---- shared checks and choices -------------------------------------------------------------


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not any(ch.isalpha() for ch in name):
        raise FieldError(_("A name needs letters. Please write the name."))
    return name


async def _past_date(value: Any, _state: FormState) -> None:
    day = date.fromisoformat(value)
    if day > today():
        raise FieldError(_("That date is in the future. Please check it."))
    if day < OLDEST:
        raise FieldError(_("Please check the year of that date."))


async def _living(state: FormState) -> list[Member]:
    household = await own_household(state)
    return [m for m in household.members if m.status == "alive"]


async def _member_choices(state: FormState) -> list[tuple[str, str]]:
    return [(str(m.id), m.name) for m in await _living(state)]


async def _member(state: FormState, value: str | None = None) -> Member:
    """The living member of the reporter's household an answer names (re-checked at submit)."""
    wanted = value if value is not None else state.answers.get("member")
    member = next((m for m in await _living(state) if str(m.id) == wanted), None)
    if member is None:
        raise FieldError(_("That person is no longer a member of your household."), step="member")
    return member


def _is(step: str, *values: str) -> Callable[[Answers], bool]:
    return lambda answers: answers.get(step) in values


def _has(step: str, value: str) -> Callable[[Answers], bool]:
    return lambda answers: value in (answers.get(step) or [])


def member_step(prompt: Any, label: Any) -> Step:
    return Step("member", "choice", prompt=prompt, label=label, choices=_member_choices)


def date_step(name: str, prompt: Any, label: Any) -> Step:
    return Step(name, "date", prompt=prompt, label=label, max_length=40, check=_past_date)


def _register(form: Form) -> Form:
    return engine.register(form)


# ---- Kelahiran (birth) -----------------------------------------------------------------------


async def _mother_candidates(state: FormState) -> list[Member]:
    born = state.answer_date("birth_date")
    return [
        m for m in await _living(state) if m.sex == "F" and (born is None or m.birth_date < born)
    ]


async def _mother_choices(state: FormState) -> list[tuple[str, str]]:
    candidates = [(str(m.id), m.name) for m in await _mother_candidates(state)]
    return [*candidates, (MOTHER_OUTSIDE, _("She is not in our household"))]


async def _validate_birth(state: FormState) -> None:
    if state.answers.get("mother") not in {v for v, _label in await _mother_choices(state)}:
        raise FieldError(
            _("The mother must be a woman of your household born before the baby."), step="mother"
        )


BIRTH = _register(Form(
    name="birth",
    title=_l("Birth"),
    submit=file_report,
    validate=_validate_birth,
    steps=[
        Step("name", "text", prompt=_l("What is the baby's full name?"), label=_l("Baby's name"),
             max_length=MAX_NAME, parse=_name),
        Step("sex", "choice", prompt=_l("Is the baby a boy or a girl?"), label=_l("Sex"),
             options=[("M", _l("Boy")), ("F", _l("Girl"))]),
        date_step("birth_date", _l("When was the baby born?"), _l("Date of birth")),
        Step("mother", "choice", prompt=_l("Who is the mother? Choose her from your household."),
             label=_l("Mother"), choices=_mother_choices),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the birth certificate (akta kelahiran) or the letter from the midwife or hospital."),
        label=_l("Birth certificate"),
        missing="warn",
    ),
))  # fmt: skip


# ---- Kematian (death) ------------------------------------------------------------------------


async def _validate_death(state: FormState) -> None:
    member = await _member(state)
    if state.answer_date("death_date") < member.birth_date:  # type: ignore[operator]
        raise FieldError(_("The date of death is before the date of birth."), step="death_date")


DEATH = _register(Form(
    name="death",
    title=_l("Death"),
    submit=file_report,
    validate=_validate_death,
    steps=[
        member_step(_l("Who has died? We are sorry for your loss."), _l("Who")),
        date_step("death_date", _l("On which date did they die?"), _l("Date of death")),
        Step("place", "text", prompt=_l("Where did they die? For example: at home, RSUD Palembang."),
             label=_l("Place"), max_length=MAX_PLACE),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the death letter (surat keterangan kematian) from the hospital, kelurahan or desa."),
        label=_l("Death letter"),
        missing="warn",
    ),
))  # fmt: skip


# ---- Pindah keluar (moved out) ---------------------------------------------------------------


async def _validate_move_out(state: FormState) -> None:
    if state.answers.get("scope") == "one":
        await _member(state)


MOVE_OUT = _register(Form(
    name="move_out",
    title=_l("Moved out"),
    submit=file_report,
    validate=_validate_move_out,
    steps=[
        Step("scope", "choice", prompt=_l("Who moved away?"), label=_l("Who moved"),
             options=[("one", _l("One member")), ("all", _l("The whole household"))]),
        Step("member", "choice", prompt=_l("Which member moved away?"), label=_l("Member"),
             choices=_member_choices, when=_is("scope", "one")),
        Step("destination", "region", free_text=True, max_length=MAX_PLACE,
             prompt=_l("Where to? Type the name of the desa or kelurahan. If abroad or unknown, type that and use it as written."),
             label=_l("Moved to")),
        date_step("move_date", _l("When did they move?"), _l("Date of the move")),
    ],
    evidence=Evidence(prompt=_l("If you have it, send a photo of the moving letter (surat pindah)."),
                      label=_l("Moving letter")),
))  # fmt: skip


# ---- Pindah masuk (moved in) -----------------------------------------------------------------


def _relationship_options(*, head: bool) -> list[tuple[str, Any]]:
    return [(r, attr.RELATIONSHIP_LABELS[r]) for r in RELATIONSHIPS if head or r != "head"]


async def _check_nik_matches(
    state: FormState, nik_step: str, sex_step: str, born_step: str
) -> None:
    nik = state.answers.get(nik_step)
    if not nik:
        return
    parsed = parse_nik(nik)
    if parsed.sex != state.answers.get(sex_step):
        raise FieldError(
            _("The NIK says another sex. Please check the NIK or the sex."), step=sex_step
        )
    if parsed.birth_date.isoformat() != state.answers.get(born_step):
        raise FieldError(
            _("The NIK says another birth date ({date}). Please check both.").format(
                date=format_date(parsed.birth_date)
            ),
            step=born_step,
        )


async def _validate_move_in(state: FormState) -> None:
    answers = state.answers
    born = state.answer_date("birth_date")
    if not answers.get("nik") and born is not None and (today() - born).days > 366:
        raise FieldError(
            _("A NIK is needed for anyone older than one year. It is on their KK or KTP."),
            step="nik",
        )
    await _check_nik_matches(state, "nik", "sex", "birth_date")
    if answers.get("nik"):
        existing = await member_by_nik(state.session, answers["nik"])
        household = await own_household(state)
        if (
            existing is not None
            and existing.household_id == household.id
            and existing.status == "alive"
        ):
            raise FieldError(_("This person is already a member of your household."), step="nik")
        if existing is not None and existing.status == "deceased":
            raise FieldError(_("This NIK belongs to a person recorded as deceased."), step="nik")


MOVE_IN = _register(Form(
    name="move_in",
    title=_l("Moved in"),
    submit=file_report,
    validate=_validate_move_in,
    steps=[
        Step("nik", "nik", prompt=_l("What is the NIK of the person who joined your household?"),
             label=_l("NIK"), optional=True, max_length=40),
        Step("name", "text", prompt=_l("What is their full name?"), label=_l("Name"),
             max_length=MAX_NAME, parse=_name),
        Step("sex", "choice", prompt=_l("Sex?"), label=_l("Sex"), options=attr.SEX_OPTIONS),
        date_step("birth_date", _l("When were they born?"), _l("Date of birth")),
        Step("relationship", "choice", prompt=_l("What are they to the head of your household?"),
             label=_l("Relationship"), options=_relationship_options(head=False)),
        Step("origin", "region", free_text=True, max_length=MAX_PLACE,
             prompt=_l("Where did they live before? Type the name of the desa or kelurahan, or the country."),
             label=_l("Came from")),
    ],
    evidence=Evidence(prompt=_l("If you have it, send a photo of the moving letter (surat pindah)."),
                      label=_l("Moving letter")),
))  # fmt: skip


# ---- Perkawinan / perceraian (marriage / divorce) ---------------------------------------------


async def _validate_marriage(state: FormState) -> None:
    answers = state.answers
    living = {str(m.id): m for m in await _living(state)}
    if not set(answers.get("members") or []) <= set(living):
        raise FieldError(_("That person is no longer a member of your household."), step="members")
    if answers.get("new_household") != YES:
        return
    leaving = set(answers.get("leaving") or [])
    if not leaving <= set(living):
        raise FieldError(_("That person is no longer a member of your household."), step="leaving")
    if leaving == set(living):
        raise FieldError(_("Someone must stay in the old household."), step="leaving")
    if not leaving & set(answers.get("members") or []):
        raise FieldError(
            _("The new household must include someone who married or divorced."), step="leaving"
        )
    if answers.get("new_kk") and await household_by_kk(state.session, answers["new_kk"]):
        raise FieldError(_("That KK number already belongs to a household."), step="new_kk")


MARRIAGE = _register(Form(
    name="marriage",
    title=_l("Marriage or divorce"),
    submit=file_report,
    validate=_validate_marriage,
    steps=[
        Step("event", "choice", prompt=_l("What happened?"), label=_l("Event"),
             options=[("married", _l("A marriage")), ("divorced", _l("A divorce"))]),
        Step("members", "multi", prompt=_l("Who in your household married or divorced?"),
             label=_l("Who"), choices=_member_choices),
        Step("partner", "text", optional=True, max_length=MAX_NAME, parse=_name,
             prompt=_l("If the husband or wife is not in your household, write their name."),
             label=_l("Partner outside the household")),
        date_step("event_date", _l("On which date?"), _l("Date")),
        Step("new_household", "choice", options=YES_NO,
             prompt=_l("Do some members now form a new household with their own KK?"),
             label=_l("New household")),
        Step("leaving", "multi", prompt=_l("Who moves to the new household?"),
             label=_l("Moving to the new household"), choices=_member_choices,
             when=_is("new_household", YES)),
        Step("new_kk", "kk", optional=True, max_length=40, when=_is("new_household", YES),
             prompt=_l("What is the number of the new KK, if it has been issued?"),
             label=_l("New KK number")),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the marriage book (buku nikah) or the divorce certificate (akta cerai)."),
        label=_l("Certificate"),
        missing="warn",
    ),
))  # fmt: skip


# ---- Rumah tangga belum terdata (household missing from the registry) -------------------------


def _describe_member(item: Answers) -> str:
    parts = [escape(item.get("m_name") or "?")]
    if item.get("m_relationship"):
        parts.append(str(attr.RELATIONSHIP_LABELS[item["m_relationship"]]))
    if item.get("m_birth"):
        parts.append(format_date(date.fromisoformat(item["m_birth"])))
    return " · ".join(parts)


async def _validate_new_household(state: FormState) -> None:
    answers = state.answers
    members = answers.get("members") or []
    if sum(1 for m in members if m.get("m_relationship") == "head") != 1:
        raise FieldError(
            _(
                "Exactly one member must be the head of the household. Please enter the members again."
            ),
            step="m_name",
        )
    if answers.get("kk") and await household_by_kk(state.session, answers["kk"]):
        raise FieldError(
            _("This KK is already in the registry. Link your account to it with /start instead."),
            step="kk",
        )
    seen: set[str] = set()
    for number, item in enumerate(members, 1):
        nik = item.get("m_nik")
        if not nik:
            continue
        parsed = parse_nik(nik)
        if parsed.sex != item.get("m_sex") or parsed.birth_date.isoformat() != item.get("m_birth"):
            raise FieldError(
                _(
                    "The NIK of member {n} does not match their sex or birth date. Please enter the members again."
                ).format(n=number),
                step="m_name",
            )
        if nik in seen or await member_by_nik(state.session, nik) is not None:
            raise FieldError(
                _(
                    "The NIK of member {n} is already in the registry or in this list. Please enter the members again."
                ).format(n=number),
                step="m_name",
            )
        seen.add(nik)


async def _new_household_target(state: FormState) -> tuple[Household | None, Any]:
    answers = state.answers
    return None, ReviewArea(answers["village"]["code"], answers["rw"], answers["rt"])


NEW_HOUSEHOLD = _register(Form(
    name="new_household",
    title=_l("Household missing from the registry"),
    submit=lambda state: file_report(state, target=_new_household_target),
    validate=_validate_new_household,
    steps=[
        Step("village", "region", max_length=MAX_PLACE,
             prompt=_l("In which desa or kelurahan does the household live? Type its name."),
             label=_l("Desa/kelurahan")),
        Step("rw", "number", prompt=_l("Which RW? Send the number."), label=_l("RW"),
             minimum=1, maximum=999, max_length=5),
        Step("rt", "number", prompt=_l("Which RT? Send the number."), label=_l("RT"),
             minimum=1, maximum=999, max_length=5),
        Step("address", "text", prompt=_l("What is the address (street, alley, house number)?"),
             label=_l("Address"), max_length=MAX_PLACE),
        Step("phone", "phone", optional=True, max_length=30,
             prompt=_l("A mobile number where the officers can reach the household, if there is one."),
             label=_l("Phone")),
        Step("location", "location", optional=True,
             prompt=_l("If you are at the house now, press “Send my location” so the officers can find it."),
             label=_l("Location")),
        Step("kk", "kk", optional=True, max_length=40,
             prompt=_l("What is the household's KK number, if it has one?"), label=_l("KK number")),
        Group(
            "members", label=_l("Members"), item_label=_l("Member"),
            more_prompt=_l("Is there another member in this household?"),
            describe=_describe_member,
            steps=[
                Step("m_name", "text", prompt=_l("What is the member's full name?"), label=_l("Name"),
                     max_length=MAX_NAME, parse=_name),
                Step("m_nik", "nik", prompt=_l("What is their NIK?"), label=_l("NIK"),
                     optional=True, max_length=40),
                Step("m_sex", "choice", prompt=_l("Sex?"), label=_l("Sex"), options=attr.SEX_OPTIONS),
                date_step("m_birth", _l("When were they born?"), _l("Date of birth")),
                Step("m_relationship", "choice", prompt=_l("What are they to the head of the household?"),
                     label=_l("Relationship"), options=_relationship_options(head=True)),
            ],
        ),
        Step("floor", "choice", prompt=_l("What is most of the floor made of?"), label=_l("Floor"),
             options=attr.FLOOR),
        Step("wall", "choice", prompt=_l("What are most of the walls made of?"), label=_l("Walls"),
             options=attr.WALL),
        Step("roof", "choice", prompt=_l("What is most of the roof made of?"), label=_l("Roof"),
             options=attr.ROOF),
    ],
    evidence=Evidence(prompt=_l("If you like, send a photo of the house or of the KK."),
                      label=_l("Photos")),
))  # fmt: skip


# ---- Perubahan data anggota (member's data) ---------------------------------------------------


async def _validate_member_data(state: FormState) -> None:
    await _member(state)


MEMBER_DATA = _register(Form(
    name="member_data",
    title=_l("Change in a member's data"),
    submit=file_report,
    validate=_validate_member_data,
    steps=[
        member_step(_l("Whose data changed?"), _l("Member")),
        Step("field", "choice", prompt=_l("What changed?"), label=_l("What changed"),
             options=attr.MEMBER_FIELDS),
        Step("education", "choice", prompt=_l("What is the highest school they finished?"),
             label=_l("Education"), options=attr.EDUCATION, when=_is("field", "education")),
        Step("work", "choice", prompt=_l("What do they do now?"), label=_l("Work"),
             options=attr.WORK, when=_is("field", "work")),
        Step("occupation", "text", max_length=MAX_NAME,
             prompt=_l("What work is it? For example: tukang ojek, buruh tani, pedagang sayur."),
             label=_l("Occupation"),
             when=lambda a: a.get("field") == "work" and a.get("work") in attr.WORKING),
        Step("disability", "choice", prompt=_l("Which disability do they have?"),
             label=_l("Disability"), options=attr.DISABILITY, when=_is("field", "disability")),
        Step("illness", "choice", prompt=_l("Which chronic illness do they have?"),
             label=_l("Chronic illness"), options=attr.ILLNESS, when=_is("field", "illness")),
        Step("marital", "choice", prompt=_l("What is their marital status now?"),
             label=_l("Marital status"), options=attr.MARITAL, when=_is("field", "marital")),
    ],
))  # fmt: skip


# ---- Perubahan kondisi rumah dan aset (housing and assets) ------------------------------------


def _housing_step(key: str, prompt: Any) -> Step:
    label = dict(attr.HOUSING_FIELDS)[key]
    return Step(key, "choice", prompt=prompt, label=label, options=attr.HOUSING_CHOICES[key],
                when=_has("aspects", key))  # fmt: skip


HOUSING = _register(Form(
    name="housing",
    title=_l("Change in housing or assets"),
    submit=file_report,
    steps=[
        Step("aspects", "multi", prompt=_l("What has changed in your house or belongings?"),
             label=_l("What changed"), options=attr.HOUSING_FIELDS),
        _housing_step("floor", _l("What is most of the floor made of now?")),
        _housing_step("wall", _l("What are most of the walls made of now?")),
        _housing_step("roof", _l("What is most of the roof made of now?")),
        _housing_step("water", _l("Where does your drinking water come from now?")),
        _housing_step("sanitation", _l("Which toilet does your household use now?")),
        _housing_step("electricity", _l("Where does your electricity come from now?")),
        _housing_step("tenure", _l("Who owns the house you live in now?")),
        Step("assets", "multi", prompt=_l("Which of these does your household own now? Select all."),
             label=_l("Household assets"), options=attr.ASSETS, min_choices=0,
             when=_has("aspects", "assets")),
    ],
    evidence=Evidence(prompt=_l("If you like, send photos of the house."), label=_l("Photos")),
))  # fmt: skip


# ---- Koreksi data identitas (identity correction) ---------------------------------------------


async def _validate_identity(state: FormState) -> None:
    member = await _member(state)
    answers = state.answers
    current = {
        "name": member.name,
        "birth_date": member.birth_date.isoformat(),
        "sex": member.sex,
    }[answers["what"]]
    new = answers.get(f"new_{answers['what']}")
    if str(new).casefold() == str(current).casefold():
        raise FieldError(
            _("That is what the registry already says. Please write the correct value."),
            step=f"new_{answers['what']}",
        )


IDENTITY = _register(Form(
    name="identity",
    title=_l("Correction of identity data"),
    submit=file_report,
    validate=_validate_identity,
    steps=[
        member_step(_l("Whose data is wrong?"), _l("Member")),
        Step("what", "choice", prompt=_l("What is wrong in the registry?"), label=_l("Wrong data"),
             options=[("name", _l("Spelling of the name")), ("birth_date", _l("Date of birth")),
                      ("sex", _l("Sex"))]),
        Step("new_name", "text", prompt=_l("How is the name written correctly?"),
             label=_l("Correct name"), max_length=MAX_NAME, parse=_name, when=_is("what", "name")),
        Step("new_birth_date", "date", prompt=_l("What is the correct date of birth?"),
             label=_l("Correct date of birth"), max_length=40, check=_past_date,
             when=_is("what", "birth_date")),
        Step("new_sex", "choice", prompt=_l("What is the correct sex?"), label=_l("Correct sex"),
             options=attr.SEX_OPTIONS, when=_is("what", "sex")),
    ],
    evidence=Evidence(
        prompt=_l("Send a photo of the KK or KTP that shows the correct data."),
        label=_l("KK or KTP"),
        missing="block",
    ),
))  # fmt: skip


# ---- Sanggahan (dispute) -----------------------------------------------------------------------

OTHER_HOUSEHOLD = "other_household"


async def _dispute_target(state: FormState) -> tuple[Household | None, Any]:
    """A dispute about another household is about that household when its KK is known,
    and is reviewed in the reporter's neighbourhood otherwise."""
    own = await own_household(state)
    if state.answers.get("subject") != OTHER_HOUSEHOLD:
        return own, None
    kk = state.answers.get("target_kk")
    target = await household_by_kk(state.session, kk) if kk else None
    return target, (target or own)


async def _not_own_kk(value: Any, state: FormState) -> None:
    if value == (await own_household(state)).kk:
        raise FieldError(_("That is your own household's KK."))


DISPUTE = _register(Form(
    name="dispute",
    title=_l("Dispute"),
    submit=lambda state: file_report(state, target=_dispute_target),
    anonymous=_is("subject", OTHER_HOUSEHOLD),
    steps=[
        Step("subject", "choice", prompt=_l("What do you dispute?"), label=_l("Subject"),
             options=[
                 ("desil", _l("Our desil or classification is wrong")),
                 ("left_out", _l("We were left out of aid")),
                 (OTHER_HOUSEHOLD, _l("Another household should not receive aid")),
             ]),
        Step("programmes", "multi", prompt=_l("Which programmes?"), label=_l("Programmes"),
             options=attr.AID_PROGRAMMES, when=_is("subject", "left_out", OTHER_HOUSEHOLD)),
        Step("target", "text", max_length=MAX_PLACE, when=_is("subject", OTHER_HOUSEHOLD),
             prompt=_l("Which household? Write the name of its head and its address with RT/RW. They will not learn who reported."),
             label=_l("Household")),
        Step("target_kk", "kk", optional=True, max_length=40, when=_is("subject", OTHER_HOUSEHOLD),
             check=_not_own_kk,
             prompt=_l("Do you know its KK number?"), label=_l("Its KK number")),
        Step("reason", "text", max_length=MAX_REASON,
             prompt=_l("Why? Tell us what you know, in your own words."), label=_l("Reason")),
    ],
    evidence=Evidence(prompt=_l("If you have evidence (a photo or a letter), send it."),
                      label=_l("Evidence")),
))  # fmt: skip


# The /lapor menu, in this order. A resident who is not linked can report only a
# household missing from the registry.
REPORT_FORMS = [BIRTH, DEATH, MOVE_OUT, MOVE_IN, MARRIAGE, NEW_HOUSEHOLD, MEMBER_DATA, HOUSING,
                IDENTITY, DISPUTE]  # fmt: skip
UNLINKED_FORMS = [NEW_HOUSEHOLD]

__all__ = ["REPORT_FORMS", "UNLINKED_FORMS"]
