"""Fetching a catalogued corpus into the cache: downloaded (or copied from a mirror) into
`FILE.part`, verified by SHA-256, and only then renamed to `FILE`.

1) a file already in the cache is verified again and kept if it is still right;
2) otherwise the bytes go to `FILE.part`: an interrupted download leaves it there, and the next
   fetch asks the server for the rest (an HTTP Range request; a server that ignores it sends the
   whole file again);
3) the finished `.part` is hashed: a wrong SHA-256 deletes it (nothing is kept), a right one
   is renamed into place.

Sources, in this order: `mirror` (a folder or an http(s):// URL laid out NAME/FILE, the way the
cache is), else the folder or URL in $RNNCLI_CORPUS_MIRROR, else the catalogue's public URL.
Only the standard library's urllib is used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from rnncli import __version__
from rnncli.errors import DataError
from rnncli.text.corpora import MIRROR_ENV, Corpus, CorpusFile, cached_path, get_corpus
from rnncli.text.files import open_regular, size

CHUNK = 1 << 16  # bytes read and written at a time
TIMEOUT = 30.0  # seconds a connection may stay silent before the download counts as broken
# what a connection that broke off raises while the body is read
BROKEN = (http.client.HTTPException, ConnectionError, TimeoutError)

Progress = Callable[[str, int, "int | None"], None]  # (file label, bytes so far, total or None)


@dataclass(frozen=True)
class Fetched:
    path: Path  # the verified file in the cache
    source: str | None  # where its bytes came from; None: it was in the cache already
    size: int  # bytes


def fetch(name: str, mirror: str | None = None, catalogue: Mapping[str, Corpus] | None = None,
          progress: Progress | None = None, timeout: float = TIMEOUT) -> list[Fetched]:
    """Fetch every file of the corpus `name` into the cache (rnncli.text.corpora.cache_root);
    returns them in the catalogue's order. Anything that goes wrong is a DataError; a file that
    failed is never in the cache (at most its `.part`, to resume from)."""
    corpus = get_corpus(name, catalogue)
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    return [fetch_file(corpus, f, mirror, progress, timeout) for f in corpus.files]


def fetch_file(corpus: Corpus, f: CorpusFile, mirror: str | None = None,
               progress: Progress | None = None, timeout: float = TIMEOUT) -> Fetched:
    dest = cached_path(corpus, f)
    if dest.is_file():
        if sha256_of(dest) == f.sha256:
            return Fetched(dest, None, dest.stat().st_size)
        dest.unlink()  # changed since it was verified: fetched again
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{dest.parent}: cannot create the cache folder: {e.strerror}") from None
    part = dest.with_name(dest.name + ".part")
    label = f"{corpus.name}/{f.name}"
    if mirror is None:
        source = _http_get(f.url, part, label, progress, timeout)
    elif re.match(r"https?://", mirror):
        source = _http_mirror(mirror, corpus, f, part, label, progress, timeout)
    else:
        source = _copy(_in_folder(mirror, corpus, f), part, label, progress)
    digest = sha256_of(part)
    if digest != f.sha256:
        part.unlink(missing_ok=True)
        raise DataError(f"{source}: SHA-256 {digest}, but {label} has {f.sha256}: the file is "
                        "not the catalogue's, nothing was kept")
    os.replace(part, dest)
    return Fetched(dest, source, dest.stat().st_size)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


class _NotFound(Exception):
    """HTTP 404: a mirror may have the file under another of its names."""


def _http_mirror(base: str, corpus: Corpus, f: CorpusFile, part: Path, label: str,
                 progress: Progress | None, timeout: float) -> str:
    """Fetch NAME/FILE from an HTTP mirror, trying the file's aliases where it has no FILE."""
    urls = [f"{base.rstrip('/')}/{corpus.name}/{name}" for name in (f.name, *f.aliases)]
    for url in urls:
        try:
            return _http_get(url, part, label, progress, timeout, missing_ok=True)
        except _NotFound:
            continue
    raise DataError(f"{urls[0]}: not found on the mirror (HTTP 404)"
                    + (f", nor under {', '.join(f.aliases)}" if f.aliases else ""))


def _http_get(url: str, part: Path, label: str, progress: Progress | None, timeout: float,
              missing_ok: bool = False) -> str:
    """Download `url` into `part`, going on from the bytes already there (Range)."""
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"rnncli/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as e:
        if e.code == 416 and have:  # nothing after the bytes we have: the hash decides
            return url
        if e.code == 404 and missing_ok:
            raise _NotFound(url) from None
        raise DataError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", None) or e
        raise DataError(f"{url}: cannot download ({reason}); on a machine without internet, "
                        f"fetch from a mirror with --from DIR|URL or {MIRROR_ENV}") from None
    with response:
        if response.status != 206 or _range_start(response.headers) != have:
            have = 0  # the whole file came: start again
        length = response.headers.get("Content-Length", "")
        total = have + int(length) if length.isdigit() else None
        done = have

        def broke_off(why: object) -> DataError:
            return DataError(f"{url}: the download broke off after {done:,} of "
                             f"{'?' if total is None else f'{total:,}'} bytes ({why}); run the "
                             "same command again to resume")

        try:
            with open(part, "ab" if have else "wb") as out:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except BROKEN as e:
                        raise broke_off(type(e).__name__) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(label, done, total)
        except OSError as e:
            raise DataError(f"{part}: cannot write: {e.strerror or e}") from None
        if total is not None and done < total:
            raise broke_off("the connection closed early")
    return url


def _range_start(headers) -> int | None:
    """The first byte of a 206 response's `Content-Range: bytes START-END/SIZE`."""
    match = re.match(r"bytes (\d+)-", headers.get("Content-Range", ""))
    return int(match[1]) if match else None


def _in_folder(mirror: str, corpus: Corpus, f: CorpusFile) -> Path:
    """The file in a mirror folder: NAME/FILE, or NAME/ALIAS."""
    root = Path(mirror).expanduser()
    if not root.is_dir():
        raise DataError(f"{mirror}: no such mirror folder (a folder or an http(s):// URL laid "
                        "out NAME/FILE)")
    for name in (f.name, *f.aliases):
        if (root / corpus.name / name).is_file():
            return root / corpus.name / name
    also = f" (nor {', '.join(f.aliases)})" if f.aliases else ""
    raise DataError(f"{root / corpus.name / f.name}: not in the mirror{also}")


def _copy(src: Path, part: Path, label: str, progress: Progress | None) -> str:
    """Copy a mirror folder's file into `part`, going on from the bytes already there."""
    try:
        with open_regular(src) as inp:
            total = size(inp)
            have = part.stat().st_size if part.is_file() else 0
            have = have if have <= total else 0
            inp.seek(have)
            done = have
            with open(part, "ab" if have else "wb") as out:
                while chunk := inp.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(label, done, total)
    except OSError as e:
        raise DataError(f"{e.filename or src}: cannot copy: {e.strerror or e}") from None
    return str(src)
