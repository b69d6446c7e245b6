"""Entities and values for the generated corpus, and the train / held-out split.

Entity names (places, products, people, companies, topics, some cities) are *generated* from
syllables, so there are tens of thousands of them: a small model cannot memorise them and
has to learn to copy names from the prompt, which is what answering from a passage or
filling a tool argument needs. A name belongs to the held-out split when its hash says so
(one in eight); training never draws a held-out name and evaluation draws nothing else.
Question frames are split the same way by hand (`Pool`): held-out frames reuse the
training vocabulary in new sentences.

A third split, "wide", is the training split with more phrasings (`Pool.extra`), some
after an opening like "Hi! ": more ways to ask for each tool, so a small model learns to
pick the tool from what is asked rather than from a handful of sentences. Only the `v4`
mixture draws it, so the earlier mixtures give exactly the conversations they always
gave.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Split = Literal["train", "wide", "eval"]


@dataclass(frozen=True, slots=True)
class Pool:
    """Strings for one slot: `train` ones for the corpus, `held_out` ones for evaluation,
    and `extra` ones that only the "wide" split adds to the training ones."""

    train: tuple[str, ...]
    held_out: tuple[str, ...]
    extra: tuple[str, ...] = ()

    def pick(self, rng: random.Random, split: Split) -> str:
        if split == "eval":
            return rng.choice(self.held_out)
        if split != "wide" or not self.extra:
            return rng.choice(self.train)
        frame = rng.choice(self.train + self.extra)
        # an opening word or two, now and then, so that the first word of a request does
        # not decide the task on its own
        return rng.choice(OPENERS) + frame if rng.random() < 0.25 else frame


OPENERS = (
    "Hi! ",
    "Hello. ",
    "Hey, ",
    "Good morning! ",
    "Quick question: ",
    "Sorry to bother you. ",
    "One more thing: ",
    "Hi there, ",
    "OK. ",
    "Thanks for earlier. ",
)
"""Openings the "wide" split puts before some requests."""


def _pool(words: str, held_out: int, extra: str = "") -> Pool:
    """A pool from a `|`-separated list whose last `held_out` entries are held out, plus
    the `|`-separated `extra` phrasings of the "wide" split."""
    items = shared(words)
    return Pool(items[:-held_out], items[-held_out:], shared(extra))


def shared(words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in words.split("|") if w.strip())


def held_out(name: str) -> bool:
    """Whether a generated name belongs to the evaluation split (stable across runs)."""
    return zlib.crc32(name.encode()) % 8 == 0


@dataclass(frozen=True, slots=True)
class Names:
    """A generator of entity names, split into train and held-out names by `held_out`."""

    make: Callable[[random.Random], str]

    def pick(self, rng: random.Random, split: Split) -> str:
        while True:
            name = self.make(rng)
            if held_out(name) == (split == "eval"):
                return name

    def pick_n(self, rng: random.Random, split: Split, n: int) -> list[str]:
        names: list[str] = []
        while len(names) < n:
            name = self.pick(rng, split)
            if name not in names:
                names.append(name)
        return names


SYLLABLES = shared(
    "ka|lo|mir|ven|dor|sa|tel|bri|nor|ash|len|vi|ro|tan|mel|ur|fen|gal|is|ko|ber|ran|sel|"
    "tho|wyn|ad|el|quin|zo|hal|mar|pe|lin|dra|cor|su|vel|ni|tor|ba|gre|sto|dun|ly|mo|ar"
)


def word(rng: random.Random) -> str:
    """A made-up capitalised word of two or three syllables ("Kalomir")."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()


PLACE_KINDS = shared(
    "Cafe|Library|Museum|Gym|Bakery|Clinic|Pool|Bookshop|Market|Diner|Gallery|Pharmacy|"
    "Cinema|Yoga Studio|Florist|Deli|Tea House|Bike Shop|Art School|Post Office"
)
ITEMS = shared(
    "desk lamp|headphones|backpack|smartwatch|fan|speaker|keyboard|mouse|tent|water bottle|"
    "kettle|plant pot|umbrella|ring light|office chair|scooter|jacket|stove|guitar|camera|"
    "boots|raincoat|notebook|blender|wallet|monitor|drill|drone|toaster|printer"
)
COMPANY_KINDS = shared(
    "Labs|Foods|Robotics|Logistics|Energy|Tools|Media|Systems|Bank|Air|Health|Motors|Games|"
    "Textiles|Insurance|Software|Shipping|Optics"
)
FIRST_NAMES = shared(
    "Alice|Ben|Chen|Dana|Elias|Fatima|George|Hana|Ivan|Julia|Kofi|Laura|Mateo|Nina|Omar|"
    "Priya|Quinn|Rosa|Sam|Tara|Umar|Vera|Wendell|Xenia|Yusuf|Zora|Leon|Mira|Aiko|Bruno|"
    "Carla|Deepak|Emma|Farid|Greta|Hugo|Ines|Jonas|Keiko|Lucas|Maya|Nils|Olga|Pablo"
)
TOPIC_ADJECTIVES = shared(
    "budget|quarterly|annual|weekly|new|team|product|security|customer|sales|design|"
    "hiring|marketing|board|training|holiday|office|server|supplier|website"
)
TOPIC_NOUNS = shared(
    "meeting|report|review|plan|launch|audit|survey|migration|offsite|party|contract|"
    "presentation|course|schedule|inventory|move|deadline|workshop|interview"
)

PLACES = Names(lambda rng: f"{word(rng)} {rng.choice(PLACE_KINDS)}")
PRODUCTS = Names(lambda rng: f"{word(rng)} {rng.choice(ITEMS)}")
PEOPLE = Names(lambda rng: f"{rng.choice(FIRST_NAMES)} {word(rng)}")
COMPANIES = Names(lambda rng: f"{word(rng)} {rng.choice(COMPANY_KINDS)}")
TOPICS = Names(lambda rng: f"the {rng.choice(TOPIC_ADJECTIVES)} {rng.choice(TOPIC_NOUNS)}")

CITIES = shared(
    "Berlin|Paris|Lisbon|Oslo|Madrid|Rome|Vienna|Prague|Dublin|Warsaw|Athens|Tokyo|Seoul|"
    "Toronto|Boston|Denver|Chicago|Austin|Sydney|Nairobi|Lima|Cairo|Mumbai|Helsinki"
)
TOWNS = Names(lambda rng: rng.choice(CITIES) if rng.random() < 0.5 else word(rng))
"""Places a tool is asked about: real cities or made-up towns (their names get copied)."""
STREETS = shared(
    "Elm Street|Harbor Road|King Street|Mill Lane|Park Avenue|River Road|Station Road|"
    "Church Street|Bridge Street|High Street|Garden Way|Market Square"
)
OPENING = shared("6 am|7 am|7:30 am|8 am|8:30 am|9 am|9:30 am|10 am|11 am|noon")
CLOSING = shared("1 pm|2 pm|4 pm|5 pm|5:30 pm|6 pm|7 pm|8 pm|9 pm|10 pm|11 pm|midnight")
TIMES = OPENING + CLOSING
DAYS = shared("Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday")
DATES = shared(
    "March 3|March 14|April 2|April 21|May 5|May 19|June 1|June 12|July 7|July 30|"
    "August 9|September 15|October 4|November 22|December 10"
)
COLORS = shared("black|white|red|blue|green|silver|gray|yellow|orange|purple|navy|pink")
JOBS = shared(
    "teacher|nurse|pilot|chef|lawyer|plumber|architect|photographer|engineer|pharmacist|"
    "librarian|carpenter|journalist|accountant|firefighter|gardener"
)
FOODS = shared("pizza|sushi|pancakes|lentil soup|tacos|curry|ramen|paella|dumplings|falafel")
GOODS = shared(
    "solar panels|frozen meals|delivery robots|office software|bicycles|video games|"
    "medical devices|sports shoes|kitchen tools|cloud storage"
)
WEATHER = shared("sunny|cloudy|rainy|windy|snowy|foggy|stormy|clear")
ORDER_STATUS = shared(
    "shipped|delivered|processing|out for delivery|delayed|waiting for payment|packed"
)


def order_id(rng: random.Random) -> str:
    return f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}-{rng.randint(1000, 9999)}"


def price(rng: random.Random) -> str:
    return f"${rng.choice([rng.randint(5, 99), rng.randint(100, 999)])}"


def year(rng: random.Random) -> str:
    return str(rng.randint(1950, 2022))
