"""HTTP for the web sources (httpx): a timeout on every request, retries with backoff
on what may pass (a timeout, a refused connection, 429 and 5xx), none on what will not
(another 4xx), and an answer bounded in size and read as JSON. Every failure is a
SourceError naming the source, in one line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from edge.sources.series import SourceError

MAX_RETRY_AFTER_S = 60.0  # a server's Retry-After beyond this is not waited for here


@dataclass(frozen=True)
class HttpPolicy:
    timeout_s: float = 10.0  # connect, read, write and pool, each
    attempts: int = 3  # tries in all, the first included
    backoff_s: float = 2.0  # before the second try; doubled before each later one
    max_bytes: int = 2 * 2**20  # a larger answer is refused (a 48 h forecast is ~20 kB)


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after_s(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after", "")
    return min(float(value), MAX_RETRY_AFTER_S) if value.isdigit() else None


async def _read(resp: httpx.Response, source: str, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in resp.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise SourceError(source, f"answer over {max_bytes} bytes; refused")
    return bytes(body)


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    source: str,
    policy: HttpPolicy,
    *,
    params: Mapping[str, str | int | float] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET url and return its JSON. Raises SourceError after the last try."""
    why = ""
    wait_s = policy.backoff_s
    for attempt in range(policy.attempts):
        if attempt:
            await asyncio.sleep(wait_s)
        wait_s = policy.backoff_s * 2**attempt
        try:
            async with client.stream(
                "GET", url, params=params, headers=headers, timeout=policy.timeout_s
            ) as resp:
                if resp.status_code != 200:
                    why = f"HTTP {resp.status_code} {resp.reason_phrase}".strip()
                    if not _retryable(resp.status_code):
                        raise SourceError(source, f"{why} from {resp.url.host}")
                    wait_s = _retry_after_s(resp) or wait_s
                    continue
                body = await _read(resp, source, policy.max_bytes)
        except httpx.TimeoutException:
            why = f"no answer within {policy.timeout_s:g} s"
            continue
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}"
            continue
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise SourceError(source, f"answer is not JSON ({exc})") from None
    tries = "try" if policy.attempts == 1 else "tries"
    raise SourceError(source, f"{why} after {policy.attempts} {tries}")
