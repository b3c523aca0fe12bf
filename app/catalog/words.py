"""The words of a text, for search: Chinese segmented by jieba, lower-cased, punctuation dropped.

Both sides use it. A product's index is its words (`index_text`), a query is its words
(`query_words`), and a query word matches a whole indexed word: "苹果手机" is 苹果 + 手机, and
手机 does not match inside the department name 手机数码. jieba's dictionary costs about 1 s of
CPU (2 s without its cache file) and ~60 MB once per process: `load()` builds it off the event
loop (the API does it at startup); after that a query costs ~50 µs.
"""

import asyncio
import logging
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)  # not its "Building prefix dict" lines on every start
_tokenizer = jieba.Tokenizer()


async def load() -> None:
    """Build the dictionary in a thread, once; later calls return at once."""
    if not _tokenizer.initialized:
        await asyncio.to_thread(_tokenizer.initialize)


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def query_words(text: str) -> list[str]:
    """A query's distinct words in order (jieba's precise mode)."""
    return list(dict.fromkeys(w for w in _tokenizer.cut(text.lower()) if _is_word(w)))


def _indexed(text: str) -> Iterable[str]:
    """Precise-mode words plus the shorter dictionary words inside long ones (中国移动 → 中国,
    移动), so a query word matches whichever way the index segmented it."""
    text = text.lower()
    yield from _tokenizer.cut(text)
    yield from _tokenizer.cut_for_search(text)


def index_text(segmented: Iterable[str], whole: Iterable[str]) -> str:
    """The space-padded words of a product: `segmented` texts split into words, `whole` names
    (categories above the leaf, display categories) kept whole, so that a department such as
    手机数码 does not make all its products match 手机."""
    words = [w for text in segmented for w in _indexed(text) if _is_word(w)]
    words += [w for name in whole for w in name.lower().split() if _is_word(w)]
    return " " + " ".join(dict.fromkeys(words)) + " "
