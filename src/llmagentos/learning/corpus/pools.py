"""Entity and value pools for the generated corpus, each split into train and held-out parts.

Held-out entities (the names an eval prompt is about) never appear in a training example,
so the evaluation measures copying and choosing, not recall of memorised names. Value
pools (times, prices, cities) are shared: the model must be able to write them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Split = Literal["train", "eval"]


@dataclass(frozen=True, slots=True)
class Pool:
    """Strings for one slot: `train` ones for the corpus, `held_out` ones for evaluation."""

    train: tuple[str, ...]
    held_out: tuple[str, ...]

    def pick(self, rng: random.Random, split: Split) -> str:
        return rng.choice(self.train if split == "train" else self.held_out)

    def pick_n(self, rng: random.Random, split: Split, n: int) -> list[str]:
        return rng.sample(self.train if split == "train" else self.held_out, n)


def _pool(words: str, held_out: int) -> Pool:
    """A pool from a `|`-separated list whose last `held_out` entries are held out."""
    items = tuple(w.strip() for w in words.split("|") if w.strip())
    return Pool(items[:-held_out], items[-held_out:])


def shared(words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in words.split("|") if w.strip())


PLACES = _pool(
    "Lumen Cafe|Harbor Library|Oakridge Museum|Northside Gym|Maple Bakery|Riverside Clinic|"
    "Sunset Pool|Cedar Bookshop|Granite Climbing Hall|Willow Tea House|Pinecrest Market|"
    "Blue Door Diner|Old Mill Gallery|Fern Street Pharmacy|Copper Kettle Pub|Summit Cinema|"
    "Lakeside Bike Shop|Marble Art School|Orchard Florist|Beacon Post Office|Silver Spoon Deli|"
    "Ivy Lane Dentist|Kestrel Yoga Studio|Meadow Garden Center|"
    # held out
    "Amber Hill Observatory|Quartz Bay Aquarium|Thistle Corner Cafe|Juniper Music Hall|"
    "Falcon Ridge Library|Saffron Noodle Bar",
    6,
)
PRODUCTS = _pool(
    "Nova desk lamp|Orbit headphones|Atlas backpack|Pulse smartwatch|Breeze fan|Echo speaker|"
    "Vertex keyboard|Glide mouse|Summit tent|Ripple water bottle|Spark kettle|Terra plant pot|"
    "Zephyr umbrella|Halo ring light|Drift office chair|Comet scooter|Polar jacket|Ember stove|"
    "Lyra guitar|Pixel camera|Tundra boots|Harbor raincoat|"
    # held out
    "Quill notebook|Nimbus blender|Sable wallet|Vanta monitor|Cobalt drill|Kite drone",
    6,
)
PEOPLE = _pool(
    "Alice Moreno|Ben Carter|Chen Wei|Dana Okafor|Elias Brandt|Fatima Noor|George Lind|"
    "Hana Sato|Ivan Petrov|Julia Costa|Kofi Mensah|Laura Blake|Mateo Ruiz|Nina Holm|"
    "Omar Haddad|Priya Nair|Quinn Walsh|Rosa Diaz|Sam Okoye|Tara Singh|Umar Farouk|"
    "Vera Novak|"
    # held out
    "Wendell Price|Xenia Marsh|Yusuf Demir|Zora Bell|Leon Ashby|Mira Castell",
    6,
)
COMPANIES = _pool(
    "Brightwave Labs|Northwind Foods|Helix Robotics|Bluefin Logistics|Greenleaf Energy|"
    "Ironclad Tools|Starling Media|Cobalt Systems|Redwood Bank|Silverline Air|Maple Health|"
    "Vantage Motors|Crescent Games|Pioneer Textiles|Lighthouse Insurance|Aurora Software|"
    "Granite Build|Tidewater Shipping|"
    # held out
    "Obsidian Analytics|Wildflower Cosmetics|Kestrel Aviation|Quarry Stone Works|Juno Optics",
    5,
)
TOPICS = _pool(
    "the budget meeting|the server migration|my dentist appointment|the marketing plan|"
    "the team offsite|the office move|the product launch|the hiring plan|my vacation|"
    "the quarterly report|the new website|the customer survey|the security audit|"
    "the training course|the supplier contract|the holiday party|"
    # held out
    "the warehouse inventory|the board presentation|the design review|my gym schedule",
    4,
)
CITIES = shared(
    "Berlin|Paris|Lisbon|Oslo|Madrid|Rome|Vienna|Prague|Dublin|Warsaw|Athens|Tokyo|Seoul|"
    "Toronto|Boston|Denver|Chicago|Austin|Sydney|Nairobi|Lima|Cairo|Mumbai|Helsinki"
)
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


def email_for(name: str) -> str:
    first, _, last = name.lower().partition(" ")
    return f"{first}.{last or 'mail'}@example.com"


def pick(rng: random.Random, items: Sequence[str]) -> str:
    return rng.choice(tuple(items))
