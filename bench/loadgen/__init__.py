"""Load generator for the whole pipeline: intake -> routing -> notify -> audit, over HTTP.

What it does, in order (`python -m bench.loadgen --help`, or `bench.pipeline` for `make bench`):

1. **Fleet** (`fleet.Fleet`): starts the four services as separate processes (`python -m
   <svc>`, as `make run` does) on free ports of 127.0.0.1, against the stack the tests use,
   each with a fresh PostgreSQL schema, private topics (`bench_pl_<run>_*.events` + `.dlq`)
   and private consumer groups, so a running `make run` (or a test session) on the same
   broker and database is never disturbed. Logs go to `.local/bench/pipeline-<run>/`.
2. **Driver** (`driver.Driver`): plays cases through the real HTTP APIs with tokens minted
   from a key pair made for the run. The case mix and the people come from `make demo`
   (`devstack.demo.plan_case`: items, tiers, islanders, missing materials, corrections,
   approvals and refusals); the driver waits for what it needs (the assignment, a
   correction request reaching intake) by reading the topics, never by polling the APIs.
   Arrivals at a fixed rate (Poisson) or a closed loop "as fast as possible", for a set
   duration and a bounded number of cases in flight.
3. **Trace** (`trace.TopicTail`, `trace.collect_audited`): every case's stage times come from
   the events' own `occurred_at` (intake, routing and notify topics) and from the audit
   log's `appended_at` (audit's inspector export API).
4. **Monitors** (`monitor`): Kafka consumer lag per group (committed vs end offsets, with
   the aiokafka admin client), audit's lag (its offsets live in its own table), each
   outbox's backlog, and every process's CPU and memory (psutil if present, else /proc).
5. **Report** (`report`): throughput, p50/p95/p99 per stage, lag over time, CPU/memory.

`baseline` measures the raw hops (aiokafka produce->consume round trip, one-row asyncpg
transaction) in the same run, so the pipeline's figures can be read as ratios.
"""
