"""Identifiers: time-ordered run ids and memorable generated run names."""

from __future__ import annotations

import os
import random
import time

_ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
    "fancy", "fast", "fierce", "gentle", "glad", "golden", "grand", "happy", "hidden", "jolly",
    "keen", "kind", "lively", "lucky", "mellow", "merry", "mighty", "misty", "noble", "polite",
    "proud", "quick", "quiet", "rapid", "rare", "royal", "rustic", "serene", "sharp", "shiny",
    "silent", "silver", "sleek", "smooth", "snowy", "solid", "sunny", "swift", "tidy", "vivid",
    "warm", "wild", "wise", "witty", "young", "zesty",
)
_NOUNS = (
    "badger", "bear", "bee", "bison", "cat", "cheetah", "crane", "crow", "deer", "dolphin",
    "eagle", "falcon", "ferret", "finch", "fox", "frog", "gecko", "goat", "hare", "hawk",
    "heron", "horse", "ibis", "jaguar", "koala", "lark", "lemur", "lion", "lynx", "mole",
    "moose", "newt", "otter", "owl", "panda", "panther", "puffin", "quail", "rabbit", "raven",
    "robin", "salmon", "seal", "shark", "sloth", "snail", "sparrow", "squid", "stork", "swan",
    "tiger", "toad", "trout", "turtle", "viper", "walrus", "whale", "wolf", "wombat", "yak",
)


def new_run_id() -> str:
    """A UUIDv7 as 32 hex digits: sorts by creation time, unique across processes."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 \
        | 0b10 << 62 | (rand & ((1 << 62) - 1))
    return f"{value:032x}"


def new_run_name() -> str:
    """A memorable name such as `swift-otter-42`."""
    rng = random.SystemRandom()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(1, 999)}"
