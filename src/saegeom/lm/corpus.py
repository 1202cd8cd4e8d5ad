"""A story corpus from a seeded probabilistic grammar whose word categories are known.

Every story is a few sentences drawn from templates whose slots are filled from word
categories (names, animals, colours, days, months, numbers, emotions, places, family
roles, foods); a story keeps one word per category for its hero, pet, colour, place, relative, food and
mood (``STORY_CATEGORIES``), and days, months and numbers also appear with their successor
(``ORDERED_CATEGORIES``). The categories are the ground-truth semantic groups of the language-model
comparisons (``group:<category>``). All category words are single lower-case words, so
a word-level tokenizer gives each one its own token.

On disk (``write_corpus``)::

    train.txt        one story per line
    heldout.txt      one story per line (a disjoint split, drawn from the same grammar)
    categories.json  {"categories": {name: [words]}, "seed": ..., "n_stories": ...}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from saegeom.io import strict_json
from saegeom.io.atomic import atomic_path

#: The word categories: the known semantic groups of the corpus.
CATEGORIES: dict[str, list[str]] = {
    "names": ["lily", "tom", "mia", "ben", "anna", "max", "sara", "leo", "emma", "sam"],
    "animals": ["cat", "dog", "bird", "fox", "rabbit", "frog", "bear", "mouse", "duck", "horse"],
    "colours": ["red", "blue", "green", "yellow", "pink", "purple", "orange", "brown"],
    "days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "months": ["january", "february", "march", "april", "may", "june", "july", "august", "september",
               "october", "november", "december"],
    "numbers": ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
    "emotions": ["happy", "sad", "angry", "scared", "excited", "tired", "proud", "calm"],
    "places": ["park", "forest", "garden", "school", "beach", "farm", "river", "house"],
    "family": ["mom", "dad", "sister", "brother", "grandma", "grandpa", "aunt", "uncle"],
    "foods": ["apple", "cake", "bread", "soup", "cookie", "banana", "cheese", "pie"],
}

# Templates: {category} slots; {name2} is a second, different name.
OPENINGS = [
    "once upon a time there was a {colours} {animals} named {names} .",
    "one day {names} went to the {places} with a little {animals} .",
    "{names} lived near the {places} with a {colours} {animals} .",
]
MIDDLES = [
    "on {days} , {names} went to the {places} with {family} .",
    "in {months} , {names} saw {numbers} {animals} friends at the {places} .",
    "the {animals} felt {emotions} because it was {days} .",
    "{family} gave {names} a {colours} {foods} .",
    "{names} ate {numbers} pieces of {foods} and felt {emotions} .",
    "every {days} the {animals} played with {name2} in the {places} .",
    "{name2} and {names} were {emotions} when {family} made {foods} .",
    "it was a cold day in {months} and the {places} was very quiet .",
    "{names} counted {numbers} {colours} flowers near the {places} .",
    "the {colours} {animals} said hello to {family} .",
    "the day after {days} is {days+1} .",
    "after {months} comes {months+1} .",
    "{names} had {numbers} {foods} and then {numbers+1} {foods} .",
    # more left contexts for the categories with the fewest slots above (colours, family, months, numbers, days)
    "{names} liked {colours} and called {family} every day .",
    "the {places} was closed until {months} , said {family} .",
    "{names} found {numbers} {foods} for {family} .",
    "{names} wore {colours} in the first week of {months} .",
    "{numbers} and one more make {numbers+1} .",
    "{names} shared the {foods} with {numbers} friends on {days} .",
    "{days} was the day {names} met {numbers} {animals} .",
]
ENDINGS = [
    "at the end of the day {names} was {emotions} .",
    "then {names} went home to {family} and ate {foods} .",
    "{names} and the {animals} were {emotions} forever .",
]


#: Categories whose word is drawn once per story and reused in every slot (the story's hero, pet, colour,
#: place, relative, food and mood), so predicting a later mention needs *which* word came before.
STORY_CATEGORIES = ("names", "animals", "colours", "places", "family", "foods", "emotions")
#: Ordered categories: drawn afresh per slot; ``{cat+1}`` is the successor of the slot's last ``{cat}`` word
#: (days and months wrap around; ``numbers`` never draws its last word before a successor slot).
ORDERED_CATEGORIES = ("days", "months", "numbers")
#: Why the two rules: with every slot drawn independently, a category's words are exchangeable in every
#: context, so a small model gives them one shared direction per context and its SAE has a handful of
#: latents per category (one per left context, 2 for days in the 2026-12-01 demo) however wide it is.
#: Reuse and successors make a word's identity matter for later tokens and give the ordered categories more
#: contexts: more category latents, and category groups with enough pairs (docs/language-models.md,
#: "Enough signal in the category groups"). The last seven middles and 3-4 middles per story (was 2-4) were
#: added for the same reason: more (category, left context) pairs, and each story's words repeated more often;
#: a story stays within the toy models' 64-token context (2 % of stories are cut there, 3 % before).


def _fill(template: str, rng: np.random.Generator, story: dict[str, str]) -> str:
    """Fill a template's slots: ``STORY_CATEGORIES`` from ``story`` (one word each), ``{name2}`` with another
    name, ordered categories afresh (``{cat+1}``: the successor of the last ``{cat}`` word)."""
    out = template
    if "{name2}" in out:
        others = [n for n in CATEGORIES["names"] if n != story["names"]]
        out = out.replace("{name2}", others[rng.integers(len(others))])
    for cat, words in CATEGORIES.items():
        last = None
        while "{" + cat + "}" in out:
            if cat in story:
                word = story[cat]
            else:
                pool = words[:-1] if cat == "numbers" and "{numbers+1}" in out else words
                word = pool[rng.integers(len(pool))]
            last = word
            out = out.replace("{" + cat + "}", word, 1)
        if "{" + cat + "+1}" in out:
            if last is None:
                raise ValueError(f"template {template!r}: {{{cat}+1}} without a {{{cat}}} slot before it")
            out = out.replace("{" + cat + "+1}", words[(words.index(last) + 1) % len(words)])
    return out


def make_story(rng: np.random.Generator, n_middle: tuple[int, int] = (3, 4)) -> str:
    """One story: an opening, ``n_middle`` middle sentences (inclusive range), an ending; one word of each
    ``STORY_CATEGORIES`` category for the whole story (module constants)."""
    story = {c: CATEGORIES[c][rng.integers(len(CATEGORIES[c]))] for c in STORY_CATEGORIES}
    parts = [OPENINGS[rng.integers(len(OPENINGS))]]
    for _ in range(int(rng.integers(n_middle[0], n_middle[1] + 1))):
        parts.append(MIDDLES[rng.integers(len(MIDDLES))])
    parts.append(ENDINGS[rng.integers(len(ENDINGS))])
    return " ".join(_fill(p, rng, story) for p in parts)


def make_corpus(n_stories: int, seed: int) -> list[str]:
    """``n_stories`` stories from the grammar; identical for identical ``seed``."""
    if n_stories < 1:
        raise ValueError(f"n_stories must be >= 1, got {n_stories}")
    rng = np.random.default_rng(seed)
    return [make_story(rng) for _ in range(n_stories)]


def split_corpus(stories: list[str], heldout_fraction: float) -> tuple[list[str], list[str]]:
    """(train, held-out): the last ``heldout_fraction`` of the stories are held out (≥ 1 each)."""
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
    n_held = min(max(1, round(len(stories) * heldout_fraction)), len(stories) - 1)
    if n_held < 1:
        raise ValueError("need at least 2 stories for a train/held-out split")
    return stories[:-n_held], stories[-n_held:]


def write_corpus(out_dir: str | Path, n_stories: int, heldout_fraction: float, seed: int) -> dict:
    """Rule ``corpus``: ``train.txt``, ``heldout.txt`` and ``categories.json`` under ``out_dir`` (atomic)."""
    train, held = split_corpus(make_corpus(n_stories, seed), heldout_fraction)
    meta = {"categories": CATEGORIES, "seed": seed, "n_stories": n_stories, "n_train": len(train),
            "n_heldout": len(held)}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "train.txt").write_text("\n".join(train) + "\n")
        (tmp / "heldout.txt").write_text("\n".join(held) + "\n")
        (tmp / "categories.json").write_text(strict_json.dumps(meta, indent=1))
    return meta


def read_stories(path: str | Path) -> list[str]:
    """Stories of a split file, one per non-empty line."""
    return [line for line in Path(path).read_text().splitlines() if line.strip()]


def read_categories(corpus_dir: str | Path) -> dict[str, list[str]]:
    """The corpus's word categories, ``{name: [words]}``."""
    return json.loads((Path(corpus_dir) / "categories.json").read_text())["categories"]
