"""Word lists the offline doubles of the bundled apps use in place of a model.

A sentiment lexicon (product reviews and financial news) and a tiny English-French
glossary. They make the doubles behave plausibly; they are not language models.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


POSITIVE = _words(
    "love great excellent happy perfect best fast amazing good recommend beat beats record"
    " growth rise rises surge surges soar soars profit profits strong gain gains win wins"
    " upgrade expands launch launches"
)
NEGATIVE = _words(
    "broke broken terrible disappointed awful poor damaged waste worst slow bad late rude"
    " plunge plunges fall falls drop drops cut cuts loss losses lawsuit fraud miss misses weak"
    " recall recalls downgrade probe layoffs delay delays"
)
_WORD = re.compile(r"[a-z']+")

FRENCH = {
    "i": "je",
    "love": "adore",
    "this": "ce",
    "the": "le",
    "a": "un",
    "is": "est",
    "it": "il",
    "and": "et",
    "not": "pas",
    "very": "très",
    "great": "super",
    "good": "bon",
    "bad": "mauvais",
    "fast": "rapide",
    "slow": "lent",
    "delivery": "livraison",
    "product": "produit",
    "works": "fonctionne",
    "perfectly": "parfaitement",
    "broke": "a cassé",
    "after": "après",
    "two": "deux",
    "days": "jours",
    "terrible": "terrible",
    "do": "ne",
    "buy": "achetez",
    "happy": "content",
    "with": "avec",
    "my": "mon",
    "order": "commande",
    "arrived": "est arrivé",
    "late": "en retard",
    "kettle": "bouilloire",
    "phone": "téléphone",
    "lamp": "lampe",
    "blender": "mixeur",
    "excellent": "excellent",
    "price": "prix",
    "quality": "qualité",
    "poor": "mauvaise",
    "box": "boîte",
    "in": "dans",
    "on": "le",
    "of": "de",
    "for": "pour",
    "was": "était",
    "would": "voudrais",
    "again": "encore",
    "disappointed": "déçu",
    "am": "suis",
    "really": "vraiment",
    "came": "est venu",
}


def sentiment_of(text: str) -> str:
    """ "positive", "negative" or "neutral" by counting lexicon words."""
    words = _WORD.findall(text.lower())
    score = sum(w in POSITIVE for w in words) - sum(w in NEGATIVE for w in words)
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def to_french(text: str) -> str:
    """Word-by-word French from the glossary; unknown words stay as they are."""
    out = []
    for token in re.findall(r"[A-Za-z']+|[^A-Za-z']+", text):
        word = FRENCH.get(token.lower())
        if word is None:
            out.append(token)
        else:
            out.append(word[0].upper() + word[1:] if token[0].isupper() else word)
    return "".join(out)
