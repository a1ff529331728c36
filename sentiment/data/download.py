"""Fetching the two datasets from their official sources into the data folder, checked by sha256.

    python -m sentiment.download imdb|hotel [--dir DIR]

``download(name)`` streams the file into a hidden temporary file beside its final place, hashing
as it goes, and renames it into place only when the size and sha256 match what the source
publishes; on any failure (no network, an HTTP error, a cut connection, a wrong checksum) the
temporary file is removed, nothing is left behind and ``DownloadError`` says what happened and
what to do. A dataset already in the data folder is not fetched again.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sentiment import spec
from sentiment.errors import GateScopeError


class DownloadError(GateScopeError):
    """A dataset that could not be fetched; nothing was saved."""


@dataclass(frozen=True)
class Source:
    name: str  # "imdb" | "hotel"
    title: str
    url: str
    filename: str  # under the data folder, as sentiment.data.readers.KNOWN_FILES expects it
    sha256: str
    size: int  # bytes


SOURCES: dict[str, Source] = {
    "imdb": Source(
        "imdb", "IMDB Large Movie Review Dataset v1.0 (Maas et al. 2011)",
        "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz", "aclImdb_v1.tar.gz",
        "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe", 84_125_825),
    "hotel": Source(
        "hotel", "ChnSentiCorp hotel reviews (ChineseNlpCorpus)",
        "https://raw.githubusercontent.com/SophonPlus/ChineseNlpCorpus/master/datasets/ChnSentiCorp_htl_all/"
        "ChnSentiCorp_htl_all.csv", "ChnSentiCorp_htl_all.csv",
        "1d414b9c65caf3a836abdb4efded621968502ad3338e1a9d885ae131c86083f0", 2_904_858),
}

CHUNK = 1 << 16
Progress = Callable[[int, int], None]  # (bytes so far, total bytes)


def target_dir() -> Path:
    """Where downloads go: $GATESCOPE_DATA if set, else ./data."""
    return spec.download_dir()


def _no_network(src: Source, reason: object) -> DownloadError:
    return DownloadError("download.no_network", host=urllib.request.urlparse(src.url).hostname, reason=reason,
                         url=src.url, file=src.filename, folder=target_dir().resolve())


def download(name: str, dest: str | Path | None = None, progress: Progress | None = None,
             source: Source | None = None, timeout: float = 30.0) -> Path:
    """Fetch dataset ``name`` into ``dest`` (default: target_dir()) and return its path.

    ``source`` replaces SOURCES[name] (tests serve a file locally). Raises DownloadError with a
    message for a person; on failure no file, complete or partial, is left."""
    src = source or SOURCES.get(name)
    if src is None:
        raise DownloadError("download.unknown", name=name, choices=", ".join(SOURCES))
    folder = Path(dest) if dest is not None else target_dir()
    final = folder / src.filename
    if final.exists():
        return final
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError("download.folder", folder=folder, err=e.strerror or e) from None
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{src.filename}.", suffix=".part")  # unique: two sessions may fetch at once
    os.close(fd)
    part = Path(tmp)
    digest, got = hashlib.sha256(), 0
    try:
        try:
            resp = urllib.request.urlopen(urllib.request.Request(src.url, headers={"User-Agent": "GateScope"}),
                                          timeout=timeout)
        except urllib.error.HTTPError as e:
            raise DownloadError("download.http", url=src.url, status=e.code, reason=e.reason, file=src.filename,
                                folder=folder.resolve()) from None
        except urllib.error.URLError as e:
            raise _no_network(src, e.reason) from None
        except (OSError, http.client.HTTPException) as e:  # timeouts and refused connections are OSErrors
            raise _no_network(src, e) from None
        with resp, open(part, "wb") as out:
            total = int(resp.headers.get("Content-Length") or src.size)
            if progress:
                progress(0, total)
            while True:
                try:
                    block = resp.read(CHUNK)
                except (OSError, http.client.HTTPException) as e:  # timeouts and refused connections are OSErrors
                    raise DownloadError("download.broken", url=src.url, got=got, total=total, err=e) from None
                if not block:
                    break
                got += len(block)
                if got > src.size:  # more than the published file: stop before it fills the disk
                    raise DownloadError("download.too_long", url=src.url, size=src.size)
                out.write(block)
                digest.update(block)
                if progress:
                    progress(got, total)
            out.flush()
            os.fsync(out.fileno())
        if got != src.size:
            raise DownloadError("download.too_short", url=src.url, got=got, size=src.size)
        if digest.hexdigest() != src.sha256:
            raise DownloadError("download.checksum", url=src.url, got=digest.hexdigest()[:16], expected=src.sha256[:16])
        os.replace(part, final)  # atomic: the dataset appears whole or not at all
        return final
    finally:
        part.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentiment.download", description=__doc__.splitlines()[0])
    ap.add_argument("name", choices=sorted(SOURCES))
    ap.add_argument("--dir", default=None, help="data folder (default: $GATESCOPE_DATA or ./data)")
    args = ap.parse_args(argv)
    src = SOURCES[args.name]
    shown = [-1]

    def report(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if pct != shown[0]:
            shown[0] = pct
            print(f"\r{src.filename}: {pct:3d}% of {total / 1e6:.1f} MB", end="", file=sys.stderr, flush=True)

    try:
        path = download(args.name, args.dir, progress=report)
    except DownloadError as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
