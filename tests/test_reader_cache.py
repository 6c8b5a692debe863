"""The reader's byte-bounded LRU cache: the bound holds, the least recently used goes."""

import threading

from tensorboard_picasso.reader import LruCache


def test_bound_holds_and_least_recently_used_is_evicted_first():
    cache = LruCache(max_bytes=100)
    for key in "abcd":
        cache.put(key, key.upper(), 25)
    assert cache.size == 100
    assert cache.get("a") == "A"          # now a is the most recently used
    cache.put("e", "E", 25)               # evicts b, the least recently used
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acde"] == ["A", "C", "D", "E"]
    assert cache.size == 100
    cache.put("f", "F", 20)               # evicts a (the least recently used now)
    assert cache.get("a") is None and cache.size == 95


def test_values_over_a_quarter_of_the_bound_are_not_kept():
    cache = LruCache(max_bytes=100)
    cache.put("small", 1, 25)
    cache.put("big", 2, 26)
    assert cache.get("big") is None and cache.get("small") == 1 and cache.size == 25


def test_bound_holds_under_concurrent_puts():
    cache = LruCache(max_bytes=1000)

    def fill(offset):
        for i in range(2000):
            cache.put((offset, i), i, 7)
            cache.get((offset, i - 3))
    threads = [threading.Thread(target=fill, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert 1000 - 7 < cache.size <= 1000
