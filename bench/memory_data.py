"""The retrieval set of `bench/memory.py`: facts, paraphrased questions, distractors.

Each fact is something an agent would remember about its user or its work; its question
asks for it in other words (few shared content words, so a lexical match is not enough).
Distractors are generated from templates in the same style, deterministically.
"""

from __future__ import annotations

import random

FACTS: list[tuple[str, str]] = [
    ("The office Wi-Fi password is bluefalcon42.", "How do I get on the wireless network at work?"),
    ("Maria's flight to Lisbon leaves at 7:40 on Friday.", "When does Maria depart for Portugal?"),
    (
        "The production database is backed up every night at 2 am.",
        "How often do we snapshot the prod DB?",
    ),
    (
        "Our biggest customer, Acme Corp, renews its contract in March.",
        "When is the main client's renewal due?",
    ),
    ("The user is allergic to peanuts.", "Does the person I'm helping have any food allergies?"),
    (
        "The quarterly report is due to the board on June 30.",
        "What's the deadline for the board's quarterly figures?",
    ),
    (
        "Tom prefers to be contacted by text message, never by phone.",
        "What is the best way to reach Tom?",
    ),
    ("The staging server runs on port 8443.", "Which port does the test environment listen on?"),
    (
        "The user's daughter Emma starts kindergarten in September.",
        "When does the child begin school?",
    ),
    ("Invoices above 10,000 euros need the CFO's approval.", "Who must sign off on large bills?"),
    ("The team standup happens at 9:15 every weekday.", "What time is our daily morning meeting?"),
    ("The company's VAT number is DE 811 907 980.", "What's our tax identification number?"),
    ("The user drives a grey 2019 Toyota Corolla.", "What car does the user own?"),
    (
        "The API rate limit is 600 requests per minute per key.",
        "How many calls can one key make before being throttled?",
    ),
    (
        "Our main competitor lowered its prices by 15 percent last week.",
        "What did the rival firm do recently?",
    ),
    (
        "The user's favourite cuisine is Ethiopian food.",
        "What kind of restaurant would the user like best?",
    ),
    (
        "The lease on the Berlin office ends in December 2027.",
        "When does our German workplace rental expire?",
    ),
    ("Server logs are kept for 90 days and then deleted.", "How long do we retain log files?"),
    ("The user is learning to play the cello.", "Which instrument is the user practising?"),
    (
        "The marketing budget for next year is 2.4 million dollars.",
        "How much money can advertising spend in the coming year?",
    ),
    ("Dr. Patel's clinic is closed on Wednesdays.", "Which day can't I book with the doctor?"),
    (
        "The release branch is frozen two days before every launch.",
        "When do we stop merging into the release line?",
    ),
    ("The user's mother lives in Osaka.", "In which city is the user's mum based?"),
    (
        "Shipping to Canada takes about eight business days.",
        "How long does delivery north of the US border take?",
    ),
    (
        "The conference room on floor 3 has a broken projector.",
        "Which meeting room can't show slides right now?",
    ),
    ("Our SLA promises 99.95 percent uptime.", "What availability have we guaranteed to clients?"),
    (
        "The user runs a marathon every spring.",
        "What long-distance race does the user do each year?",
    ),
    (
        "New employees get their laptops from the IT desk in room 104.",
        "Where do new hires pick up their computers?",
    ),
    ("The user's cat is called Miso.", "What is the name of the user's pet?"),
    (
        "The warehouse in Rotterdam handles all European orders.",
        "Which site fulfils purchases within Europe?",
    ),
    (
        "The user wants reminders sent on Sunday evenings.",
        "When should notifications go out to the user?",
    ),
    (
        "The legacy billing system will be switched off on May 1.",
        "When is the old invoicing platform being retired?",
    ),
    ("Kate is on parental leave until the end of August.", "When will Kate be back at work?"),
    ("The user is vegetarian but eats fish.", "What diet does the user follow?"),
    (
        "The encryption keys rotate every 30 days.",
        "How frequently are our cryptographic secrets changed?",
    ),
    (
        "The user graduated in chemistry from the University of Leeds.",
        "What did the user study, and where?",
    ),
    (
        "Refunds are processed within five working days.",
        "How quickly does a customer get their money back?",
    ),
    ("The user's preferred airline is KLM.", "Which carrier does the user like to fly with?"),
    (
        "The design review for the new app is on the 14th.",
        "When is the mobile product's design critique?",
    ),
    (
        "Our support line is staffed from 8 am to 8 pm.",
        "During what hours can customers call for help?",
    ),
    ("The user is afraid of heights.", "Does the user have any phobias?"),
    (
        "The CI pipeline fails if test coverage drops below 80 percent.",
        "What code coverage threshold blocks a build?",
    ),
    (
        "The user's anniversary is on October 12.",
        "What date does the user celebrate their wedding?",
    ),
    (
        "The Singapore team works from a co-working space on Orchard Road.",
        "Where does our Asian office sit?",
    ),
    (
        "Passwords must be at least 14 characters long.",
        "What is the minimum length for a login secret?",
    ),
    (
        "The user speaks Spanish and Portuguese fluently.",
        "Which foreign languages does the user know?",
    ),
    ("The printer on the second floor needs toner.", "Which office device is running low on ink?"),
    (
        "The holiday party is booked at the Riverside Hotel.",
        "Where will the end-of-year celebration take place?",
    ),
    (
        "The user's son plays goalkeeper for his school football team.",
        "What position does the boy play in soccer?",
    ),
    (
        "Customer data must stay in EU data centres.",
        "Where are we allowed to store client information?",
    ),
    ("The user takes the 8:05 train to work.", "How does the user commute in the morning?"),
    (
        "The budget spreadsheet lives in the shared Finance folder.",
        "Where can I find the file with the money plan?",
    ),
    (
        "The user dislikes meetings before 10 am.",
        "What time of day should I avoid scheduling calls with the user?",
    ),
    (
        "The nightly ETL job loads sales data into the warehouse.",
        "What process moves revenue numbers into analytics each night?",
    ),
    ("The user's blood type is O negative.", "What is the user's blood group?"),
    ("Our trademark was registered in 2016.", "When did we secure the brand's legal protection?"),
    ("The user is saving up for a house in Utrecht.", "What is the user's big financial goal?"),
    (
        "The on-call engineer this week is Priya.",
        "Who handles incidents during the current rotation?",
    ),
    (
        "The user prefers dark mode in every app.",
        "Which colour theme does the user like for software?",
    ),
    (
        "The fire drill is scheduled for Thursday at 11.",
        "When is the building evacuation practice?",
    ),
]

_NAMES = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Lena",
    "Marco",
]
_PLACES = [
    "Oslo",
    "Nairobi",
    "Lima",
    "Seoul",
    "Dublin",
    "Austin",
    "Porto",
    "Hanoi",
    "Zurich",
    "Perth",
]
_THINGS = [
    "the analytics dashboard",
    "the onboarding guide",
    "the hiring plan",
    "the coffee machine",
    "the parking permit",
    "the design system",
    "the expense policy",
    "the travel policy",
    "the sales forecast",
    "the security audit",
    "the team offsite",
    "the customer survey",
    "the mobile release",
    "the vendor contract",
    "the office plants",
    "the podcast episode",
]
_TEMPLATES = [
    "{name} will present {thing} in {place} next {day}.",
    "{name} said {thing} needs another review before {day}.",
    "The meeting about {thing} moved to {day} afternoon.",
    "{name} is travelling to {place} to discuss {thing}.",
    "We agreed to postpone {thing} until {name} is back from {place}.",
    "{name} liked the new draft of {thing}.",
    "The {place} office asked about {thing} on {day}.",
    "{name} has questions about {thing} and will call on {day}.",
    "Someone left a note about {thing} near the {place} desk.",
    "{name} finished the first version of {thing}.",
    "The weather in {place} delayed the work on {thing}.",
    "{name} recommends a restaurant in {place} for the {thing} dinner.",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def distractors(count: int, seed: int = 7) -> list[str]:
    """`count` plausible but irrelevant memories, the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        template = rng.choice(_TEMPLATES)
        out.append(
            template.format(
                name=rng.choice(_NAMES),
                place=rng.choice(_PLACES),
                thing=rng.choice(_THINGS),
                day=rng.choice(_DAYS),
            )
        )
    return out
