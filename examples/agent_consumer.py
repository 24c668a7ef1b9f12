#!/usr/bin/env python3
"""A downstream agent reading FXStream's topics with a standard Kafka client (confluent-kafka).

Reads `<prefix>candles` and `<prefix>ticks` in a consumer group of its own and prints one JSON line per
message it keeps. It does what every consumer of these topics should do (docs/for-agents.md):

- checks the contract version `v` and skips (and reports on stderr) messages of a version it does
  not know, or that do not follow the contract, instead of crashing on them;
- keeps prices and sizes exact: they are decimal strings, read into `Decimal`, never floats, and
  printed as the very text that was published;
- deduplicates ticks the way the aggregator does: per (source, symbol), a trade with a `trade_id` by
  that id, any other tick by its content (ts, seq and its prices and sizes);
- keeps the highest `revision` per candle (source, symbol, timeframe, price_type, start): a candle is
  published as open updates (final false), then final, then again with a higher revision after a late
  tick or a backfill repair; older or repeated revisions are dropped;
- keeps only the candle price types asked for (`--price-types`, default `trade`): trade and mid
  candles of one symbol are different series;
- commits offsets itself, after the messages are processed (at least once: after a crash the
  messages since the last commit come again, and the deduplication above makes them harmless);
- with `--from-time`, starts at the first message written at or after that time
  (`offsets_for_times`), instead of the group's committed offsets.

    pip install confluent-kafka
    python3 examples/agent_consumer.py --brokers 127.0.0.1:19092 --prefix fx. --group my-agent
    python3 examples/agent_consumer.py --group my-agent --from-time 2026-12-04T09:00:00Z

`--count N` stops after N candles and N ticks (exit 0), or fails after `--timeout` seconds (exit 1).
"""
import argparse
import datetime
import decimal
import json
import signal
import sys
import time
from collections import OrderedDict
from decimal import Decimal

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

SUPPORTED_VERSION = 1
DEDUP_WINDOW_NS = 60 * 60 * 10**9      # the aggregator's default duplicate window (event time)
MAX_CANDLES_TRACKED = 200_000           # candle revisions remembered (oldest forgotten first)
COMMIT_EVERY_SECONDS = 1.0
COMMIT_EVERY_MESSAGES = 1000
EXACT = decimal.Context(prec=200)       # exact arithmetic on contract decimals (<= 38 digits)


class Skip(Exception):
    """A message this agent does not process: reported on stderr, then its offset is committed."""


def exact(event, name, nullable=False):
    """A decimal field: a JSON string holding a decimal, never a JSON number (a float would be inexact)."""
    text = event.get(name)
    if text is None and nullable:
        return None, None
    if not isinstance(text, str):
        raise Skip(f"'{name}' is {type(text).__name__}, not a decimal string")
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise Skip(f"'{name}' = {text!r} is not a decimal")
    if not value.is_finite():
        raise Skip(f"'{name}' = {text!r} is not a finite decimal")
    return value, text


def canonical(value):
    """A Decimal as canonical text: no exponent, no trailing fractional zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def integer(event, name):
    value = event.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Skip(f"'{name}' is not an integer")
    return value


class Ticks:
    """Duplicate suppression within an event-time window, as the aggregator does it."""

    def __init__(self, window_ns=DEDUP_WINDOW_NS):
        self.window_ns = window_ns
        self.seen = {}          # identity -> event time
        self.newest = 0

    @staticmethod
    def identity(event):
        if event["kind"] == "trade" and event.get("trade_id") is not None:
            content = ("t", event["trade_id"])
        elif event["kind"] == "trade":
            content = ("T", event["ts"], event.get("seq"), event.get("price"), event.get("size"))
        else:
            content = ("q", event["ts"], event.get("seq"), event.get("bid"), event.get("ask"), event.get("bid_size"), event.get("ask_size"))
        return (event["source"], event["symbol"]) + content

    def first_time(self, event):
        key = self.identity(event)
        if key in self.seen:
            return False
        self.seen[key] = event["ts"]
        self.newest = max(self.newest, event["ts"])
        if len(self.seen) % 10_000 == 0:
            horizon = self.newest - self.window_ns
            self.seen = {k: ts for k, ts in self.seen.items() if ts >= horizon}
        return True

    def line(self, event):
        for name in ("source", "symbol"):
            if not isinstance(event.get(name), str):
                raise Skip(f"'{name}' is missing")
        ts = integer(event, "ts")
        line = {"topic": "ticks", "source": event["source"], "symbol": event["symbol"], "ts": ts, "kind": event.get("kind")}
        if event.get("kind") == "trade":
            _, line["price"] = exact(event, "price")
            _, line["size"] = exact(event, "size")
            if event.get("trade_id") is not None:
                line["trade_id"] = event["trade_id"]
        elif event.get("kind") == "quote":
            bid, line["bid"] = exact(event, "bid", nullable=True)
            ask, line["ask"] = exact(event, "ask", nullable=True)
            if bid is None and ask is None:
                raise Skip("a quote without bid and ask")
            if bid is not None and ask is not None and ask < bid:
                raise Skip(f"crossed quote (ask {line['ask']} < bid {line['bid']})")
            if bid is not None and ask is not None:
                line["mid"] = canonical(EXACT.divide(EXACT.add(bid, ask), 2))
        else:
            raise Skip(f"unknown tick kind {event.get('kind')!r}")
        return line


class Candles:
    """The highest (revision, final) seen per candle; older and repeated publications are dropped."""

    def __init__(self, price_types):
        self.price_types = price_types
        self.latest = OrderedDict()

    def line(self, event):
        for name in ("source", "symbol", "timeframe", "price_type"):
            if not isinstance(event.get(name), str):
                raise Skip(f"'{name}' is missing")
        start, revision = integer(event, "start"), integer(event, "revision")
        final = event.get("final") is True
        o, open_text = exact(event, "open")
        h, high_text = exact(event, "high")
        l, low_text = exact(event, "low")
        c, close_text = exact(event, "close")
        _, volume_text = exact(event, "volume")
        _, vwap_text = exact(event, "vwap", nullable=True)
        if not (l <= min(o, c) and max(o, c) <= h):
            raise Skip(f"inconsistent candle (open {open_text}, high {high_text}, low {low_text}, close {close_text})")
        return (event["source"], event["symbol"], event["timeframe"], event["price_type"], start), (revision, final), {
            "topic": "candles", "source": event["source"], "symbol": event["symbol"], "timeframe": event["timeframe"],
            "price_type": event["price_type"], "start": start, "end": event.get("end"), "open": open_text, "high": high_text,
            "low": low_text, "close": close_text, "volume": volume_text, "vwap": vwap_text, "tick_count": event.get("tick_count"),
            "final": final, "revision": revision, "origin": event.get("origin", "stream")}

    def newer(self, key, version):
        """True when (revision, final) is beyond what was seen for this candle (then it is remembered)."""
        known = self.latest.get(key)
        if known is not None and version <= known:
            return False
        self.latest[key] = version
        self.latest.move_to_end(key)
        while len(self.latest) > MAX_CANDLES_TRACKED:
            self.latest.popitem(last=False)
        return True


def parse_time(text):
    """Milliseconds since the epoch from ISO 8601 (`2026-12-04T09:00:00Z`) or integer nanoseconds."""
    if text.isdigit():
        return int(text) // 1_000_000
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)


class Offsets:
    """Offsets of processed messages, committed in batches, on revocation and at the end."""

    def __init__(self, consumer):
        self.consumer = consumer
        self.pending = {}
        self.since_commit = 0
        self.last_commit = time.monotonic()

    def processed(self, message):
        self.pending[(message.topic(), message.partition())] = message.offset() + 1
        self.since_commit += 1
        if self.since_commit >= COMMIT_EVERY_MESSAGES or time.monotonic() - self.last_commit > COMMIT_EVERY_SECONDS:
            self.commit()

    def commit(self, partitions=None):
        todo = {k: v for k, v in self.pending.items() if partitions is None or k in partitions}
        self.last_commit = time.monotonic()
        self.since_commit = 0
        if not todo:
            return
        try:
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in todo.items()], asynchronous=False)
            for k in todo:
                self.pending.pop(k, None)
        except KafkaException as error:
            # Not fatal: the messages since the last commit are read again (at least once).
            print(f"commit failed (will retry): {error}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default="127.0.0.1:19092", help="Kafka bootstrap servers")
    parser.add_argument("--prefix", default="fx.", help="the pipeline's topic prefix")
    parser.add_argument("--group", default="example-agent", help="this agent's consumer group")
    parser.add_argument("--topics", default="candles,ticks", help="which of candles,ticks to read")
    parser.add_argument("--price-types", default="trade", help="candle price types to keep, comma-separated (trade, mid, bid, ask)")
    parser.add_argument("--from-time", help="start at messages written at or after this time (ISO 8601, e.g. 2026-12-04T09:00:00Z, "
                                            "or integer ns): seeks every assigned partition with offsets_for_times")
    parser.add_argument("--count", type=int, default=0, help="stop after N candles and N ticks (0: run until interrupted)")
    parser.add_argument("--timeout", type=float, default=120, help="with --count: give up after this many seconds")
    parser.add_argument("--kafka-property", action="append", default=[], metavar="KEY=VALUE", help="extra librdkafka property (repeatable)")
    args = parser.parse_args()

    names = [t.strip() for t in args.topics.split(",") if t.strip()]
    if not names or any(t not in ("candles", "ticks") for t in names):
        parser.error("--topics takes candles and/or ticks")
    from_ms = parse_time(args.from_time) if args.from_time else None
    config = {"bootstrap.servers": args.brokers, "group.id": args.group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "session.timeout.ms": 6000}
    for item in args.kafka_property:
        key, _, value = item.partition("=")
        config[key] = value
    consumer = Consumer(config)
    offsets = Offsets(consumer)

    seeked = set()

    def on_assign(consumer, partitions):
        # --from-time applies once per partition and run: a partition assigned again after a rebalance
        # resumes from the offsets this agent committed.
        fresh = [p for p in partitions if (p.topic, p.partition) not in seeked] if from_ms is not None else []
        if not fresh:
            return
        for partition in fresh:
            partition.offset = from_ms
        found = {(p.topic, p.partition): p.offset for p in consumer.offsets_for_times(fresh, timeout=10)}
        for partition in fresh:
            offset = found.get((partition.topic, partition.partition), -1)
            partition.offset = offset if offset >= 0 else OFFSET_END   # nothing written since: start at the end
            seeked.add((partition.topic, partition.partition))
        consumer.assign(partitions)
        print(f"seeked {len(fresh)} partition(s) to {args.from_time}", file=sys.stderr)

    def on_revoke(consumer, partitions):
        offsets.commit({(p.topic, p.partition) for p in partitions})

    consumer.subscribe([args.prefix + t for t in names], on_assign=on_assign, on_revoke=on_revoke)
    ticks, candles = Ticks(), Candles({p.strip() for p in args.price_types.split(",") if p.strip()})
    seen = {t: 0 for t in names}
    skipped = {}
    deadline = time.monotonic() + args.timeout
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    status = 0
    try:
        while not stopping and (not args.count or min(seen.values()) < args.count):
            if args.count and time.monotonic() > deadline:
                print(f"timed out with {seen}", file=sys.stderr)
                status = 1
                break
            message = consumer.poll(1.0)
            if message is None:
                offsets.commit()
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(message.error())
            kind = "candles" if message.topic().endswith("candles") else "ticks"
            try:
                try:
                    event = json.loads(message.value(), parse_float=Decimal)
                except ValueError as error:
                    raise Skip(f"not JSON: {error}")
                if not isinstance(event, dict):
                    raise Skip("not a JSON object")
                if event.get("v") != SUPPORTED_VERSION:
                    raise Skip(f"unsupported contract version v={event.get('v')!r} (this agent reads v{SUPPORTED_VERSION})")
                if kind == "candles":
                    key, version, line = candles.line(event)
                    keep = event["price_type"] in candles.price_types and candles.newer(key, version)
                else:
                    line = ticks.line(event)
                    keep = ticks.first_time(event)
                if keep:
                    print(json.dumps(line), flush=True)
                    seen[kind] += 1
            except Skip as why:
                skipped[kind] = skipped.get(kind, 0) + 1
                print(f"skipped {message.topic()} [{message.partition()}] @{message.offset()}: {why}", file=sys.stderr)
            offsets.processed(message)      # processed (printed, filtered or skipped): its offset may be committed
    except KeyboardInterrupt:
        pass
    finally:
        offsets.commit()
        consumer.close()
        if skipped:
            print(f"skipped messages: {skipped}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
