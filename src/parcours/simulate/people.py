"""Persons of one chunk: attributes, channel identifiers, and how rows name them.

Identifiers are unique by construction, never by checking: e-mails and handles end with
a per-person number (names carry no digits), phone numbers and app/device ids are
bijections of the person's global index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from parcours.schema import CHANNELS, arrow_schema

from . import params as P
from . import texts
from ._arrow import digits, fixed_width, hex_ids, join, mix64, number_ids, pick, timestamps
from .clock import DAY, Clock

CH = {name: code for code, name in enumerate(CHANNELS)}
MAX_DEVICES = len(P.DEVICES_P)
_NUM_SPACE = 10_000_000          # e-mail and handle numbers: a permutation of 0..9,999,999


@dataclass
class People:
    """One chunk of persons (index ``i`` = person ``g0 + i`` of the world)."""

    n: int
    g0: int
    lang: np.ndarray          # 0 fr, 1 en
    segment: np.ndarray       # index in params.SEGMENTS
    band: np.ndarray          # index in params.AGE_BANDS
    created: np.ndarray       # window seconds; negative = before the window
    active_from: np.ndarray   # max(created, 0)
    email2: np.ndarray        # bool
    social: np.ndarray        # bool
    app: np.ndarray           # bool
    devices: np.ndarray       # web browsers, 1..3
    optin: np.ndarray         # bool
    email_pool: pa.Array      # [email1 | Email1 | email2] × n
    phone_pool: pa.Array      # [+33… | 06 12 … | 0612…] × n
    social_pool: pa.Array     # [@handle | @Handle] × n
    app_pool: pa.Array        # [app id | device 0 | device 1 | device 2] × n
    table: pa.Table           # persons rows
    truth: pa.Table           # kind, value, person_id

    @property
    def person_ids(self) -> pa.Array:
        return self.table.column("person_id").combine_chunks()


def make_people(rng: np.random.Generator, n: int, g0: int, clock: Clock, key: int) -> People:
    """Draw ``n`` persons starting at global index ``g0``; ``key`` varies ids with the seed."""
    gidx = np.arange(g0, g0 + n, dtype=np.int64)
    lang = (rng.random(n) >= P.P_FRENCH).astype(np.int8)
    segment = rng.choice(len(P.SEGMENTS), size=n, p=P.SEGMENT_P).astype(np.int8)
    band = np.where(segment == 1, rng.choice(5, size=n, p=P.PRO_AGE_P),
                    rng.choice(5, size=n, p=P.AGE_P)).astype(np.int8)
    lo, hi = np.array(P.AGE_BANDS).T
    age = lo[band] + np.floor(rng.random(n) * (hi[band] - lo[band] + 1))
    birth_year = (clock.start.year - age).astype(np.int32)
    p_new = min(0.6, P.P_NEW_PER_YEAR * clock.days / 365)
    new = rng.random(n) < p_new
    created = np.where(new, rng.random(n) * clock.end,
                       -rng.exponential(P.TENURE_DAYS * DAY, size=n) - rng.random(n) * DAY)
    day, _, _ = clock.local(created)
    daytime = clock.at_hour(clock.from_local(day, np.zeros(n)), "day", rng)
    created = np.where((daytime < clock.end) & ((daytime >= 0) | ~new), daytime, created)
    email2 = rng.random(n) < P.P_EMAIL2
    social = rng.random(n) < np.array(P.P_SOCIAL)[band]
    app = rng.random(n) < np.array(P.P_APP)[band]
    devices = 1 + rng.choice(MAX_DEVICES, size=n, p=P.DEVICES_P)
    optin = rng.random(n) < P.P_OPTIN
    names = _names(rng, lang, gidx, key)
    pools = _identifier_pools(rng, names, gidx, key, n)
    people = People(
        n=n, g0=g0, lang=lang, segment=segment, band=band, created=created,
        active_from=np.maximum(created, 0.0), email2=email2, social=social, app=app,
        devices=devices, optin=optin, table=None, truth=None, **pools)  # type: ignore[arg-type]
    people.table = _persons_table(rng, people, gidx, names, birth_year, clock)
    people.truth = _truth(people)
    return people


def _names(rng: np.random.Generator, lang: np.ndarray, gidx: np.ndarray, key: int) -> dict:
    n = len(lang)
    first_all = texts.FIRST_NAMES["fr"] + texts.FIRST_NAMES["en"]
    last_all = texts.LAST_NAMES["fr"] + texts.LAST_NAMES["en"]
    nf_fr, nl_fr = len(texts.FIRST_NAMES["fr"]), len(texts.LAST_NAMES["fr"])
    nf = np.where(lang == 0, nf_fr, len(texts.FIRST_NAMES["en"]))
    nl = np.where(lang == 0, nl_fr, len(texts.LAST_NAMES["en"]))
    first = np.floor(rng.random(n) * nf).astype(np.int64) + np.where(lang == 0, 0, nf_fr)
    last = np.floor(rng.random(n) * nl).astype(np.int64) + np.where(lang == 0, 0, nl_fr)
    num = (gidx * 7_654_321 + (key % _NUM_SPACE)) % _NUM_SPACE
    num = np.where(gidx < _NUM_SPACE, num, gidx)
    num2 = (gidx * 3_918_467 + (key // 7 % _NUM_SPACE)) % _NUM_SPACE
    num2 = np.where(gidx < _NUM_SPACE, num2, gidx)
    return {
        "first": pick(first_all, first), "last": pick(last_all, last),
        "first_slug": pick([texts.slug(x) for x in first_all], first),
        "last_slug": pick([texts.slug(x) for x in last_all], last),
        "num": pc.cast(pa.array(num), pa.string()), "num2": pc.cast(pa.array(num2), pa.string()),
    }


def _identifier_pools(rng: np.random.Generator, names: dict, gidx: np.ndarray, key: int,
                      n: int) -> dict[str, pa.Array]:
    f, l_, num = names["first_slug"], names["last_slug"], names["num"]
    initial = initial_of(f)
    pattern = rng.choice(4, size=n, p=(0.45, 0.25, 0.15, 0.15))
    local = pc.choose(pa.array(pattern, pa.int8()), join(f, ".", l_, num), join(f, l_, num),
                      join(initial, l_, num), join(l_, ".", f, num))
    domains = pa.array(texts.MAIL_DOMAINS)
    d1 = rng.choice(len(texts.MAIL_DOMAINS), size=n)
    d2 = (d1 + 1 + rng.choice(len(texts.MAIL_DOMAINS) - 1, size=n)) % len(texts.MAIL_DOMAINS)
    email1 = join(local, "@", domains.take(d1))
    email2 = join(f, "_", l_, num, "@", domains.take(d2))
    national = 600_000_000 + (gidx * 48_271 + key % 200_000_000) % 200_000_000
    nd = digits(national, 9)
    spaced = np.full((n, 14), ord(" "), dtype=np.uint8)
    spaced[:, 0] = ord("0")
    spaced[:, [1, 3, 4, 6, 7, 9, 10, 12, 13]] = nd
    handle = join(f, "_", initial_of(l_), names["num2"])
    app_keys = gidx[:, None] * 4 + np.arange(4)
    ids = mix64(app_keys.ravel(), key).reshape(n, 4)
    return {
        "email_pool": pa.concat_arrays([email1, pc.utf8_title(email1), email2]),
        "phone_pool": pa.concat_arrays([fixed_width("+33", nd), fixed_width("", spaced),
                                        fixed_width("0", nd)]),
        "social_pool": pa.concat_arrays([join("@", handle), join("@", pc.utf8_capitalize(handle))]),
        "app_pool": pa.concat_arrays([hex_ids("app-", ids[:, 0])] +
                                     [hex_ids("web-", ids[:, j]) for j in range(1, 4)]),
    }


def initial_of(strings: pa.Array) -> pa.Array:
    """First letter of each string."""
    return pc.utf8_slice_codeunits(strings, 0, 1)


def _persons_table(rng: np.random.Generator, people: People, gidx: np.ndarray, names: dict,
                   birth_year: np.ndarray, clock: Clock) -> pa.Table:
    n = people.n
    idx = np.arange(n)
    city = pick(texts.CITIES, rng.choice(len(texts.CITIES), size=n))
    attributes = join('{"first_name":"', names["first"], '","last_name":"', names["last"],
                      '","city":"', city, '","optin_email":',
                      pick(["false", "true"], people.optin.astype(np.int64)), "}")
    columns = {
        "person_id": number_ids("C", gidx + 1, 7),
        "created_at": timestamps(clock.epoch(np.floor(people.created))),
        "segment": pick(P.SEGMENTS, people.segment),
        "birth_year": pa.array(birth_year, pa.int32()),
        "language": pick(texts.LANGS, people.lang),
        "attributes": attributes,
        "email": pick(people.email_pool, idx),
        "phone": pick(people.phone_pool, idx),
        "social": pick(people.social_pool, np.where(people.social, idx, -1)),
        "app_id": pick(people.app_pool, np.where(people.app, idx, -1)),
    }
    return pa.Table.from_pydict(columns, schema=arrow_schema("persons"))


TRUTH_SCHEMA = pa.schema([pa.field("kind", pa.string(), nullable=False),
                          pa.field("value", pa.string(), nullable=False),
                          pa.field("person_id", pa.string(), nullable=False)])


def _truth(people: People) -> pa.Table:
    """Every identifier of every person, normalised as the importer stores it."""
    n, idx = people.n, np.arange(people.n)
    pid = people.person_ids
    parts = [("email", people.email_pool, idx, np.ones(n, bool)),
             ("email", people.email_pool, 2 * n + idx, people.email2),
             ("phone", people.phone_pool, idx, np.ones(n, bool)),
             ("social", people.social_pool, idx, people.social),
             ("app", people.app_pool, idx, people.app)]
    parts += [("app", people.app_pool, (1 + j) * n + idx, people.devices > j)
              for j in range(MAX_DEVICES)]
    kinds, values, owners = [], [], []
    for kind, pool, rows, keep in parts:
        sel = np.flatnonzero(keep)
        kinds.append(pa.array(np.full(len(sel), kind)))
        value = pick(pool, rows[sel])
        if kind == "social":
            value = pc.utf8_slice_codeunits(value, 1)       # "@handle" → "handle"
        values.append(value)
        owners.append(pid.take(pa.array(sel)))
    return pa.Table.from_arrays([pa.concat_arrays(kinds).cast(pa.string()), pa.concat_arrays(values),
                                 pa.concat_arrays(owners)], schema=TRUTH_SCHEMA)


def identify(people: People, rng: np.random.Generator, p: np.ndarray, channel: np.ndarray,
             logged_in: np.ndarray | None = None, device: np.ndarray | None = None,
             email_slot: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Identifier selectors (index into the pools, −1 = null) for rows of persons ``p``.

    e-mail, chat, chatbot: an e-mail; phone, sms, store: the phone; social: the handle;
    app: the app id; web: a browser id, plus an e-mail when ``logged_in``. ``device``
    and ``email_slot`` (0 e-mail, 2 second e-mail) force the browser and the address.
    """
    m = len(p)
    n = people.n
    u = rng.random((4, m))
    email = np.isin(channel, [CH["email"], CH["chat"], CH["chatbot"]])
    if logged_in is not None:
        email |= (channel == CH["web"]) & logged_in
    second = people.email2[p] & (u[0] < P.P_EMAIL2_USE)
    variant = np.where(second, 2, (u[1] < P.P_DISPLAY_VARIANT).astype(np.int64))
    if email_slot is not None:
        variant = email_slot
    phone = np.isin(channel, [CH["phone"], CH["sms"], CH["store"]])
    fmt = np.where(u[2] < P.P_PHONE_NATIONAL, 1, np.where(u[2] > 1 - P.P_PHONE_COMPACT, 2, 0))
    social = channel == CH["social"]
    web = channel == CH["web"]
    if device is None:
        device = np.floor(u[3] * people.devices[p]).astype(np.int64)
    app_slot = np.where(web, 1 + device, 0)
    return {
        "email": np.where(email, variant * n + p, -1),
        "phone": np.where(phone, fmt * n + p, -1),
        "social": np.where(social, (u[1] < 0.3) * n + p, -1),
        "app": np.where(web | (channel == CH["app"]), app_slot * n + p, -1),
    }
