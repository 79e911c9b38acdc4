"""The witness: an independent party (the inspectorate) that watches the log's checkpoints.

Each poll:

1. ``GET /v1/log/checkpoint`` and verify the log's signature (the log's verifier key and
   origin are configured; nothing the log says is trusted unsigned);
2. compare with the newest checkpoint the log PUBLISHED outside its database
   (``GET /v1/log/published``, `audit.log.publish`): a smaller one served -> **rollback**;
   another root at the same size -> **split view**;
3. compare with the last checkpoint this witness verified (kept in its own state directory,
   never in the log's database):
   * same size, other root -> **split view** (the log showed two different histories);
   * same size, same root: the log must still prove its last entry in it (public inclusion
     proof), else **unprovable** (its entries were cut back under its checkpoint);
   * smaller size -> **rollback**;
   * larger size -> ``GET /v1/log/proof/consistency?first=old&second=new`` and verify it
     with `tlog.proofs.verify_consistency`; a bad or missing proof -> **alarm**;
   * the very first checkpoint is accepted as is (trust on first use; start the witness
     together with the log, or pin the first checkpoint with --state-dir from a trusted copy);
4. cosign: add this witness's signature line to the note (`tlog.note.add_signatures`,
   golang.org/x/mod/sumdb/note style; not the timestamped C2SP cosignature/v1 format), keep
   it in ``<state-dir>/checkpoints/<size>.note`` and, unless --no-publish, POST it back to
   ``/v1/log/cosignatures`` so that anyone fetching the checkpoint sees it was witnessed.

An alarm is written to ``<state-dir>/ALARM.json`` (or --alarm-file) with both notes as
evidence, logged at ERROR, and the witness stops with exit code 3: it never cosigns anything
after it has seen the log lie. The state only ever moves forward.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventkit.clock import Clock
from eventkit.loops import TRANSIENT_ERRORS, LoopHealth, supervise
from tlog.note import NoteError, Signer, Verifier, add_signatures, open_checkpoint
from tlog.proofs import ProofError, verify_consistency, verify_inclusion

log = logging.getLogger("audit.witness")

EXIT_ALARM = 3

# (method, path, query, body) -> (status, text)
Transport = Callable[[str, str, dict[str, Any], bytes | None], Awaitable[tuple[int, str]]]


def urllib_transport(base_url: str, timeout: float = 10.0) -> Transport:
    """A dependency-free HTTP transport (the witness runs on the inspectorate's machines)."""

    def call(method: str, path: str, query: dict[str, Any], body: bytes | None) -> tuple[int, str]:
        url = base_url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "text/plain; charset=utf-8")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    async def transport(
        method: str, path: str, query: dict[str, Any], body: bytes | None
    ) -> tuple[int, str]:
        return await asyncio.to_thread(call, method, path, query, body)

    return transport


class Alarm(Exception):
    """The log misbehaved: split view, rollback, bad signature or bad consistency proof."""

    def __init__(self, kind: str, detail: str, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.evidence = evidence or {}


class Unavailable(Exception):
    """The log did not answer (not an alarm: retried on the next poll)."""


@dataclass
class PollResult:
    status: str  # "first" | "new" | "unchanged"
    size: int
    cosigned: str | None = None
    published: bool = False


class Witness:
    def __init__(
        self,
        transport: Transport,
        log_verifier: Verifier,
        origin: str,
        signer: Signer,
        state_dir: Path,
        *,
        clock: Clock,
        publish: bool = True,
        alarm_file: Path | None = None,
        settle_s: float = 5.0,
    ) -> None:
        """`clock` stamps what the witness records (`verified_at`, an alarm's `at`): the
        process's (`__main__`), or a test's, like every other clock of the audit."""
        self.transport = transport
        self.log_verifier = log_verifier
        self.origin = origin
        self.signer = signer
        self.state_dir = state_dir
        self.clock = clock
        self.publish = publish
        self.alarm_file = alarm_file or state_dir / "ALARM.json"
        self._published_seen = -1
        self.settle_s = settle_s
        """How long a served checkpoint older than the newest published one may take to catch
        up before it is a rollback: the log publishes a note just BEFORE it commits its row
        (`audit.log.checkpoint`), so a poll between the two sees the published one ahead."""
        (state_dir / "checkpoints").mkdir(parents=True, exist_ok=True)

    # -- state ---------------------------------------------------------------------------------
    @property
    def _state_path(self) -> Path:
        return self.state_dir / "state.json"

    def load_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self._state_path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None

    def _save_state(self, size: int, root: bytes, note: str) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "size": size,
                    "root": base64.b64encode(root).decode(),
                    "note": note,
                    "verified_at": self.clock().isoformat(),
                }
            ),
            encoding="utf-8",
        )
        os.replace(tmp, self._state_path)

    def raise_alarm(self, alarm: Alarm) -> None:
        record = {
            "alarm": alarm.kind,
            "detail": alarm.detail,
            "at": self.clock().isoformat(),
            "origin": self.origin,
            "evidence": alarm.evidence,
        }
        self.alarm_file.write_text(json.dumps(record, indent=2, ensure_ascii=False))
        log.error("WITNESS ALARM %s: %s", alarm.kind, alarm.detail, extra={"alarm": alarm.kind})

    # -- one poll ------------------------------------------------------------------------------
    async def _get(self, path: str, **query: Any) -> tuple[int, str]:
        try:
            return await self.transport("GET", path, query, None)
        except (OSError, TimeoutError) as exc:
            raise Unavailable(f"GET {path}: {exc}") from None

    async def poll_once(self) -> PollResult:
        """One round; raises Alarm (after recording it) or Unavailable."""
        try:
            return await self._poll()
        except Alarm as alarm:
            self.raise_alarm(alarm)
            raise

    async def _poll(self) -> PollResult:
        status, note = await self._get("/v1/log/checkpoint")
        if status == 404:
            prev = self.load_state()
            if prev is not None:
                raise Alarm(
                    "rollback",
                    f"the log serves no checkpoint any more (it served size {prev['size']})",
                    {"previous": prev["note"], "current": note},
                )
            raise Unavailable("the log has no checkpoint yet")
        if status != 200:
            raise Unavailable(f"checkpoint: HTTP {status}")
        try:
            cp, _ = open_checkpoint(note, [self.log_verifier], self.origin)
        except (NoteError, ValueError) as exc:
            raise Alarm(
                "bad_signature", f"checkpoint does not verify: {exc}", {"note": note}
            ) from None
        await self._check_published(cp.size, cp.root_hash, note)
        prev = self.load_state()
        kind = "first"
        if prev is not None:
            prev_root = base64.b64decode(prev["root"])
            evidence = {"previous": prev["note"], "current": note}
            if cp.size < prev["size"]:
                raise Alarm(
                    "rollback",
                    f"the log went back from size {prev['size']} to {cp.size}",
                    evidence,
                )
            if cp.size == prev["size"]:
                if cp.root_hash != prev_root:
                    raise Alarm(
                        "split_view",
                        f"two different signed roots at size {cp.size}",
                        evidence,
                    )
                await self._check_backed(cp.size, cp.root_hash, note)
                return PollResult("unchanged", cp.size)
            status, body = await self._get(
                "/v1/log/proof/consistency", first=prev["size"], second=cp.size
            )
            if status != 200:
                raise Alarm(
                    "no_consistency_proof",
                    f"the log gave no consistency proof {prev['size']} -> {cp.size} "
                    f"(HTTP {status}: {body[:200]})",
                    evidence,
                )
            try:
                data = json.loads(body)
                proof = [base64.b64decode(p, validate=True) for p in data["proof"]]
                verify_consistency(prev["size"], cp.size, proof, prev_root, cp.root_hash)
            except (ValueError, KeyError, TypeError, ProofError) as exc:
                raise Alarm(
                    "inconsistent",
                    f"size {cp.size} is not an append-only extension of size {prev['size']}: {exc}",
                    evidence | {"proof": body},
                ) from None
            kind = "new"
        # keep only the log's own signature line(s) before adding ours
        log_only = _only_signatures_of(note, self.log_verifier)
        cosigned = add_signatures(log_only, [self.signer])
        (self.state_dir / "checkpoints" / f"{cp.size}.note").write_text(cosigned)
        self._save_state(cp.size, cp.root_hash, note)
        published = False
        if self.publish:
            try:
                st, body = await self.transport(
                    "POST", "/v1/log/cosignatures", {}, cosigned.encode("utf-8")
                )
                published = st in (200, 201)
                if not published:
                    log.warning("cosignature not accepted: HTTP %s %s", st, body[:200])
            except (OSError, TimeoutError) as exc:
                log.warning("cosignature not delivered: %s", exc)
        log.info("checkpoint witnessed", extra={"size": cp.size, "kind": kind})
        return PollResult(kind, cp.size, cosigned, published)

    async def _check_backed(self, size: int, root: bytes, note: str) -> None:
        """The log must still be able to prove the checkpoint it serves: the inclusion proof
        of its last entry (public) verifies against the signed root. A log cut back under its
        own checkpoint cannot give it (the checkpointer then refuses to sign, so the served
        checkpoint stops moving and only this shows that its entries are gone)."""
        status, body = await self._get("/v1/log/proof/inclusion", index=size - 1, tree_size=size)
        if status >= 500:
            raise Unavailable(f"inclusion proof: HTTP {status}")
        try:
            if status != 200:
                raise ValueError(f"HTTP {status}: {body[:200]}")
            data = json.loads(body)
            proof = [base64.b64decode(p, validate=True) for p in data["proof"]]
            lh = base64.b64decode(data["leaf_hash"], validate=True)
            verify_inclusion(lh, size - 1, size, proof, root)
        except (ValueError, KeyError, TypeError, ProofError) as exc:
            raise Alarm(
                "unprovable",
                f"the log cannot prove entry {size - 1} of its own checkpoint of size {size}: "
                f"{exc}",
                {"current": note, "proof": body},
            ) from None

    async def _check_published(self, size: int, root: bytes, note: str) -> None:
        """The checkpoints the log published outside its database (`GET /v1/log/published`):
        the one it serves now must not be older than the newest published (a rollback) nor
        differ from the one published at its size (a split view). A log without a store
        answers 404: nothing to compare."""
        while True:
            status, body = await self._get("/v1/log/published", after=self._published_seen)
            if status == 404:
                return
            if status != 200:
                raise Unavailable(f"published: HTTP {status}")
            sizes = [int(x) for x in json.loads(body)["sizes"]]
            if not sizes:
                break
            self._published_seen = max(self._published_seen, *sizes)
        newest = self._published_seen
        if newest < size:
            return
        st, pub = await self._get(f"/v1/log/published/{newest}")
        if st != 200:
            raise Unavailable(f"published/{newest}: HTTP {st}")
        try:
            pcp, _ = open_checkpoint(pub, [self.log_verifier], self.origin)
        except (NoteError, ValueError) as exc:
            raise Alarm(
                "bad_signature",
                f"published checkpoint {newest} does not verify: {exc}",
                {"note": pub},
            ) from None
        evidence = {"published": pub, "current": note}
        if pcp.size > size:
            if await self._catches_up(pcp.size):
                raise Unavailable(f"checkpoint {pcp.size} was published and not yet served")
            raise Alarm(
                "rollback",
                f"the log serves size {size} but published a checkpoint of size {pcp.size}",
                evidence,
            )
        if pcp.root_hash != root:
            raise Alarm("split_view", f"two different signed roots at size {size}", evidence)

    async def _catches_up(self, published: int) -> bool:
        """Does the served checkpoint reach `published` within `settle_s` (a commit in
        flight), re-read every 0.2 s? A rollback stays behind."""
        deadline = asyncio.get_running_loop().time() + self.settle_s
        while True:
            status, note = await self._get("/v1/log/checkpoint")
            if status == 200:
                try:
                    cp, _ = open_checkpoint(note, [self.log_verifier], self.origin)
                except (NoteError, ValueError):
                    return False
                if cp.size >= published:
                    return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.2)

    async def run(self, interval: float, once: bool = False) -> int:
        """Poll until an alarm (exit code 3) or, with `once`, after one round (0 / 1).

        The polls run under `eventkit.loops.supervise`: a log that does not answer is logged
        as a warning, anything unexpected with its traceback, and polling resumes after a
        capped backoff; only an alarm ends it (the old loop ended the process on any error
        but those two)."""
        if once:
            try:
                await self.poll_once()
            except Alarm:
                return EXIT_ALARM
            except Unavailable as exc:
                log.warning("log unavailable: %s", exc)
                return 1
            return 0
        stop = asyncio.Event()
        outcome = 0

        async def polls(health: LoopHealth) -> None:
            nonlocal outcome
            while True:
                try:
                    await self.poll_once()
                except Alarm:
                    outcome = EXIT_ALARM
                    stop.set()
                    return
                health.running()
                await asyncio.sleep(interval)

        await supervise(
            "witness", polls, stop=stop, transient=(*TRANSIENT_ERRORS, Unavailable), logger=log
        )
        return outcome


def _only_signatures_of(note: str, verifier: Verifier) -> str:
    text, _, sigs = note.rpartition("\n\n")
    keep = []
    for line in sigs.split("\n"):
        if not line:
            continue
        name, _, b64 = line[2:].partition(" ")
        try:
            raw = base64.b64decode(b64)
        except ValueError:
            continue
        if name == verifier.name and int.from_bytes(raw[:4], "big") == verifier.key_hash:
            keep.append(line + "\n")
    return text + "\n\n" + "".join(keep)
