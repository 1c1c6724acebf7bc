"""MinHash signatures and LSH band keys for near-duplicate detection.

Chinese text is shingled into character 5-grams (no word boundaries needed); other text into word
3-grams. The band layout (b bands of r rows) is the one datasketch's `MinHashLSH` picks for the
threshold, so candidates are found with the false-positive/negative balance datasketch documents;
the bands themselves live in the library database (crawlers.models.MinHashBand), see
docs/ARCHITECTURE.md for why.
"""
import hashlib
from hashlib import sha1
import re
from functools import lru_cache

import numpy as np
from datasketch import MinHash, MinHashLSH

from contentlib.text import normalize_text

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+", re.U)
_NOT_WORD = re.compile(r"[\W_]+", re.U)
CHAR_SHINGLE = 5
WORD_SHINGLE = 3
_SEED = 1
# Stored signatures must be read back with the scheme that made them: datasketch cannot tell.
SCHEME = "affine32"


def shingles(text: str, language: str) -> set[bytes]:
    """Returns the shingles of `text`: character 5-grams for Chinese, word 3-grams otherwise."""
    folded = normalize_text(text)
    if language == "zh" or (language not in ("en", "other") and _CJK.search(folded)):
        chars = _NOT_WORD.sub("", folded)
        size = min(CHAR_SHINGLE, len(chars)) or 1
        return {chars[i:i + size].encode() for i in range(max(1, len(chars) - size + 1))}
    words = _WORD.findall(folded)
    size = min(WORD_SHINGLE, len(words)) or 1
    return {" ".join(words[i:i + size]).encode() for i in range(max(1, len(words) - size + 1))}


def minhash(text: str, language: str, num_perm: int) -> MinHash:
    """Returns the MinHash of the text's shingles, equal to datasketch's default (SHA-1, 32-bit) one."""
    signature = MinHash(num_perm=num_perm, seed=_SEED, scheme=SCHEME, hashfunc=int, permutations=_permutations(num_perm))
    # datasketch's sha1_hash32, without a Python call and a struct.unpack per shingle: the first four
    # bytes of each SHA-1 digest, little-endian.
    digests = b"".join([sha1(shingle).digest()[:4] for shingle in shingles(text, language)])
    signature.update_batch(np.frombuffer(digests, dtype="<u4").tolist())
    return signature


@lru_cache(maxsize=4)
def _permutations(num_perm: int):
    return MinHash(num_perm=num_perm, seed=_SEED, scheme=SCHEME).permutations


def minhash_from_bytes(data: bytes, num_perm: int) -> MinHash:
    # The shared permutations: without them datasketch draws them afresh for every signature read.
    return MinHash(num_perm=num_perm, seed=_SEED, scheme=SCHEME, hashvalues=np.frombuffer(data, dtype="<u4"),
                   permutations=_permutations(num_perm))


def minhash_to_bytes(signature: MinHash) -> bytes:
    return signature.hashvalues.astype("<u4").tobytes()


@lru_cache(maxsize=8)
def band_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """Returns (bands, rows per band) as datasketch's MinHashLSH chooses them for `threshold`."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def band_keys(signature: MinHash, threshold: float) -> list[int]:
    """Returns one signed 63-bit key per LSH band; two texts sharing a key are candidates."""
    bands, rows = band_layout(threshold, len(signature.hashvalues))
    values = signature.hashvalues.astype("<u4")
    keys = []
    for band in range(bands):
        digest = hashlib.blake2b(band.to_bytes(2, "little") + values[band * rows:(band + 1) * rows].tobytes(),
                                 digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little") >> 1)  # fits a signed BIGINT
    return keys
