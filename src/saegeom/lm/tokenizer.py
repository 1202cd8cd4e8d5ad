"""A word-level Hugging Face ``tokenizers`` tokenizer for the story corpus, saved as ``tokenizer.json``.

Word level (split on whitespace; the corpus writes punctuation as separate words) so every
category word is exactly one token and a latent's top tokens read as words. It is saved in the
standard ``tokenizer.json`` format and loaded through ``transformers.PreTrainedTokenizerFast``,
the same interface pretrained models' tokenizers have, so toy and pretrained models are
tokenized by one code path.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np

from saegeom.io.atomic import atomic_path

BOS, PAD, UNK = "[BOS]", "[PAD]", "[UNK]"
SPECIAL_TOKENS = (BOS, PAD, UNK)  # ids 0, 1, 2
TOKENIZER_FILE = "tokenizer.json"


def train_tokenizer(stories: list[str], out: str | Path) -> int:
    """Train a word-level tokenizer on ``stories`` and save it to ``out`` (a ``tokenizer.json``, atomic).

    Returns the vocabulary size. Special tokens: ``[BOS]`` = 0, ``[PAD]`` = 1, ``[UNK]`` = 2.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(stories, trainers.WordLevelTrainer(special_tokens=list(SPECIAL_TOKENS)))
    with atomic_path(out) as tmp:
        tok.save(str(tmp))
    return tok.get_vocab_size()


#: kinds of tokenizer trained here (``lm.tokenizers.<name>.kind``)
TOKENIZER_KINDS = ("word", "bpe", "byte_bpe")


def train_tokenizer_of_kind(stories: list[str], out: str | Path, kind: str = "word",
                            vocab_size: int | None = None) -> int:
    """Train a tokenizer of ``kind`` on ``stories``, save it to ``out`` (atomic); returns the vocabulary size.

    ``word``: :func:`train_tokenizer` (whitespace split, one token per word). ``bpe``: byte-pair encoding
    over characters with the SentencePiece convention (a space becomes ``▁`` and starts the next word's first
    piece; Metaspace pre-tokenizer and decoder). ``byte_bpe``: byte-level BPE with the GPT-2 convention
    (bytes mapped to printable characters, a leading space written ``Ġ``; needs ``vocab_size`` > 259, since
    the 256 bytes and the special tokens come first). Both BPEs stop merging at ``vocab_size`` (special
    tokens included) and share the special tokens of the word-level one: ``[BOS]`` = 0, ``[PAD]`` = 1,
    ``[UNK]`` = 2. Fast tokenizers all, so every token carries its character offsets.
    """
    if kind == "word":
        return train_tokenizer(stories, out)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {list(TOKENIZER_KINDS)}")
    if vocab_size is None:
        raise ValueError(f"a {kind} tokenizer needs vocab_size")
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
        alphabet: list[str] = []
    else:
        if vocab_size <= 256 + len(SPECIAL_TOKENS):
            raise ValueError(f"a byte_bpe tokenizer needs vocab_size > {256 + len(SPECIAL_TOKENS)} (256 bytes and "
                             f"the special tokens come first), got {vocab_size}")
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=int(vocab_size), special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(stories, trainer)
    with atomic_path(out) as tmp:
        tok.save(str(tmp))
    return tok.get_vocab_size()


def load_tokenizer(path: str | Path):
    """A ``transformers.PreTrainedTokenizerFast`` from a ``tokenizer.json`` written by :func:`train_tokenizer`."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(path), bos_token=BOS, eos_token=BOS, pad_token=PAD,
                                   unk_token=UNK)


def tokenizer_fingerprint(tokenizer) -> str:
    """Short hash of a tokenizer's vocabulary (token → id): equal fingerprints tokenize alike."""
    vocab = sorted(tokenizer.get_vocab().items())
    return hashlib.sha256(json.dumps(vocab).encode()).hexdigest()[:16]


def bos_id(tokenizer) -> int:
    """The id put at position 0 of every story (BOS, else EOS as GPT-2/Pythia do)."""
    tid = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if tid is None:
        raise ValueError(f"tokenizer {type(tokenizer).__name__} has neither a BOS nor an EOS token")
    return int(tid)


def encode_stories(tokenizer, stories: list[str], n_ctx: int) -> list[np.ndarray]:
    """Token ids of each story with BOS prepended, truncated to ``n_ctx``: a list of (len_i,) int64."""
    bos = bos_id(tokenizer)
    out = []
    for story in stories:
        ids = tokenizer(story, add_special_tokens=False)["input_ids"]
        out.append(np.asarray([bos, *ids][:n_ctx], dtype=np.int64))
    return out


def pad_batch(seqs: list[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (n, max_len) int64 padded with ``pad_id``, mask (n, max_len) bool of real tokens)."""
    width = max(len(s) for s in seqs)
    tokens = np.full((len(seqs), width), pad_id, np.int64)
    mask = np.zeros((len(seqs), width), bool)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = s
        mask[i, : len(s)] = True
    return tokens, mask


def unigram_entropy(seqs: list[np.ndarray]) -> float:
    """Entropy (nats) of the token unigram distribution of ``seqs``, position 0 (BOS) excluded:
    the loss of the best model that ignores context."""
    counts: Counter[int] = Counter()
    for s in seqs:
        counts.update(s[1:].tolist())
    p = np.array(list(counts.values()), np.float64)
    p /= p.sum()
    return float(-(p * np.log(p)).sum())
