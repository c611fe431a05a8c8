"""Identifiers: time-ordered run ids and memorable generated run names."""

from __future__ import annotations

import os
import random
import threading
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


_last = [0, 0]  # millisecond and counter of the previous id made by this process
_id_lock = threading.Lock()


def new_run_id() -> str:
    """A UUIDv7 as 32 hex digits: sorts by creation time, unique across processes.

    Ids made in the same millisecond by one process stay ordered through a 12-bit counter
    (RFC 9562, method 1); the remaining 62 bits are random.
    """
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:
            ms, counter = _last[0], _last[1] + 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
        else:
            counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last[:] = [ms, counter]
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return f"{value:032x}"


def new_run_name() -> str:
    """A memorable name such as `swift-otter-42`."""
    rng = random.SystemRandom()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(1, 999)}"
