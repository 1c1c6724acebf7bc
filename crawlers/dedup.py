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
    return set(_shingle_list(text, language))


def _shingle_list(text: str, language: str) -> list[bytes]:
    """The shingles in text order, repeats included (a MinHash is the same with or without them)."""
    folded = normalize_text(text)
    if language == "zh" or (language not in ("en", "other") and _CJK.search(folded)):
        chars = _NOT_WORD.sub("", folded)
        size = min(CHAR_SHINGLE, len(chars)) or 1
        return [chars[i:i + size].encode() for i in range(max(1, len(chars) - size + 1))]
    words = _WORD.findall(folded)
    size = min(WORD_SHINGLE, len(words)) or 1
    return [" ".join(words[i:i + size]).encode() for i in range(max(1, len(words) - size + 1))]


def minhash(text: str, language: str, num_perm: int) -> MinHash:
    """Returns the MinHash of the text's shingles, equal to datasketch's default (SHA-1, 32-bit) one."""
    signature = MinHash(num_perm=num_perm, seed=_SEED, scheme=SCHEME, permutations=_permutations(num_perm))
    # datasketch's sha1_hash32 is the first four bytes of each shingle's SHA-1 digest, little-endian:
    # here they are read from the joined digests in one step.
    digests = b"".join([sha1(shingle).digest() for shingle in _shingle_list(text, language)])
    hashed = np.frombuffer(digests, dtype="<u4")[::sha1().digest_size // 4]
    # datasketch's update_batch for the affine32 scheme (the fmix32 pre-mix, then a * h + b modulo
    # 2^32, the minimum per permutation) without its Python call per shingle: identical values.
    a, b = signature.permutations
    permuted = _fmix32(hashed.astype(np.uint32))[:, np.newaxis] * a + b
    signature.hashvalues = np.minimum(permuted.min(axis=0), signature.hashvalues)
    return signature


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, element-wise (multiplications wrap modulo 2^32), as datasketch applies it."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


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
