#!/usr/bin/env python3
"""A downstream agent that keeps order books from FXStream's `<prefix>books` topic (confluent-kafka).

It applies the topic the way docs/topics.md says (and FXContracts' BookBuilder does):

- a snapshot replaces the book (no level of the old book survives); a snapshot split into chunks is
  assembled first (chunk 0, 1, ... with consecutive seq, the last one flagged `last_chunk`);
- a delta sets absolute quantities; a zero quantity deletes the level; afterwards each side is cut to
  the message's `depth` (the venue sends no delete for a level pushed out of scope);
- `seq` must be the previous seq + 1 within an epoch: a hole means a lost message, so the book is set
  aside until the next snapshot (a periodic one comes every 30 s); a repeated seq is ignored;
- a higher `epoch` drops the book and waits for that epoch's snapshot; an older epoch is ignored;
- a Kraken checksum (`kraken_crc32`) is verified against the rebuilt book: a mismatch sets it aside too;
- a crossed book (best bid >= best ask: a change the venue's feed missed) is set aside until the next
  snapshot (the ingestor resyncs that symbol);
- prices and quantities stay the exact text that was published (Kraken's trailing zeros included);
  levels are ordered by their Decimal value, never by text or float.

A cold start does not read the whole topic: by default it starts at the offsets of `--lookback`
seconds ago (offsets_for_times; 60 s covers one 30 s snapshot interval with margin) and ignores a
symbol's deltas until its first snapshot. `--from-beginning` reads the topic from its start.

    pip install confluent-kafka
    python3 examples/book_agent.py --brokers 127.0.0.1:19092 --prefix fx. --duration 30

It prints one JSON line per book when it stops (`--duration` seconds, or once every book named by
`--until KEY=TS,...` has passed its venue time TS in ns: then each such book is the one that stood
after the symbol's last change at or before that instant): {"key", "epoch", "seq", "in_sync", "bids", "asks", "ts"}. Problems
(gaps, new epochs, checksum mismatches, messages it cannot read) are reported on stderr.
"""
import argparse
import json
import sys
import time
import zlib
from decimal import Decimal, InvalidOperation

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

SUPPORTED_VERSION = 1


class Book:
    """One symbol's book in one epoch."""

    def __init__(self):
        self.epoch = 0
        self.seq = 0
        self.in_sync = False
        self.depth = None
        self.bids = {}  # Decimal price -> (price text, quantity text)
        self.asks = {}
        self.assembling = None  # (bids, asks) of a chunked snapshot being read
        self.ts = None

    def side(self, name):
        return self.bids if name == "bids" else self.asks

    def sorted_levels(self, name):
        levels = self.side(name)
        keys = sorted(levels, reverse=(name == "bids"))
        return [list(levels[k]) for k in keys]

    def truncate(self):
        if self.depth is None:
            return
        for name in ("bids", "asks"):
            levels = self.side(name)
            for price in sorted(levels, reverse=(name == "bids"))[self.depth:]:
                del levels[price]

    def kraken_checksum(self):
        text = ""
        for name, count in (("asks", 10), ("bids", 10)):
            for price, quantity in self.sorted_levels(name)[:count]:
                for value in (price, quantity):
                    text += value.replace(".", "").lstrip("0")
        return zlib.crc32(text.encode("ascii"))


def decimal_levels(levels):
    result = {}
    for level in levels:
        if not (isinstance(level, list) and len(level) == 2 and all(isinstance(x, str) for x in level)):
            raise ValueError(f"a level that is not [\"price\",\"quantity\"]: {level!r}")
        price, quantity = Decimal(level[0]), Decimal(level[1])
        if not price.is_finite() or price <= 0 or not quantity.is_finite() or quantity < 0:
            raise ValueError(f"a level out of range: {level!r}")
        result[price] = (level[0], level[1], quantity)
    return result


def report(text):
    print(text, file=sys.stderr, flush=True)


def apply(books, message):
    """Applies one books message (a dict); returns nothing, reports problems on stderr."""
    if message.get("v") != SUPPORTED_VERSION:
        report(f"skipped: unsupported contract version v={message.get('v')!r}")
        return
    key = f"{message['source']}:{message['symbol']}"
    book = books.setdefault(key, Book())
    epoch, seq = message["epoch"], message["seq"]
    if epoch < book.epoch or (epoch == book.epoch and seq <= book.seq):
        return  # an older epoch, or a message already applied (a re-read)
    if epoch > book.epoch:
        if book.epoch:
            report(f"{key}: new epoch {epoch} (was {book.epoch}): the book waits for its snapshot")
        book.epoch, book.seq, book.in_sync, book.assembling = epoch, 0, False, None
        book.bids, book.asks = {}, {}
    elif seq != book.seq + 1 and book.seq != 0:
        if book.in_sync or book.assembling is not None:
            report(f"{key}: gap in epoch {epoch}: expected seq {book.seq + 1}, got {seq}; waiting for the next snapshot")
        book.in_sync, book.assembling = False, None
    bids, asks = decimal_levels(message["bids"]), decimal_levels(message["asks"])
    book.seq = seq
    book.depth = message.get("depth")
    if message["kind"] == "snapshot":
        if message["chunk"] == 0:
            book.assembling = ({}, {})
        elif book.assembling is None:
            return  # the middle of a snapshot whose start we did not see
        book.assembling[0].update(bids)
        book.assembling[1].update(asks)
        if not message["last_chunk"]:
            return
        new_bids, new_asks = book.assembling
        book.assembling = None
        book.bids = {p: (v[0], v[1]) for p, v in new_bids.items() if v[2] != 0}
        book.asks = {p: (v[0], v[1]) for p, v in new_asks.items() if v[2] != 0}
        book.in_sync = True
    else:
        if not book.in_sync:
            return  # deltas before a snapshot (a cold start, or after a gap) are not applied
        for levels, side in ((bids, book.bids), (asks, book.asks)):
            for price, (price_text, quantity_text, quantity) in levels.items():
                if quantity == 0:
                    side.pop(price, None)
                else:
                    side[price] = (price_text, quantity_text)
    book.truncate()
    book.ts = message["ts"]
    if book.in_sync and book.bids and book.asks and max(book.bids) >= min(book.asks):
        report(f"{key}: crossed book at epoch {epoch} seq {seq}: best bid {max(book.bids)} >= best ask {min(book.asks)}; waiting for the next snapshot")
        book.in_sync = False
        return
    checksum = message.get("checksum")
    if book.in_sync and checksum and checksum.get("kind") == "kraken_crc32":
        computed = book.kraken_checksum()
        if computed != checksum["value"]:
            report(f"{key}: checksum mismatch at epoch {epoch} seq {seq}: venue {checksum['value']}, book {computed}; waiting for the next snapshot")
            book.in_sync = False


def main():
    parser = argparse.ArgumentParser(description="Keeps order books from FXStream's books topic.")
    parser.add_argument("--brokers", default="127.0.0.1:19092")
    parser.add_argument("--prefix", default="fx.")
    parser.add_argument("--group", default=f"book-agent-{int(time.time())}")
    parser.add_argument("--lookback", type=float, default=60.0, help="cold start: seconds of the topic to read first")
    parser.add_argument("--from-beginning", action="store_true")
    parser.add_argument("--duration", type=float, default=30.0, help="stop after this many seconds")
    parser.add_argument("--until", default="", help="source:symbol=ts,...: stop once each of these books has passed its venue time (ns)")
    args = parser.parse_args()

    topic = args.prefix + "books"
    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": args.group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    metadata = consumer.list_topics(topic, timeout=10)
    partitions = sorted(metadata.topics[topic].partitions)
    if args.from_beginning:
        assignment = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
    else:
        start_ms = int((time.time() - args.lookback) * 1000)
        assignment = consumer.offsets_for_times([TopicPartition(topic, p, start_ms) for p in partitions], timeout=10)
        assignment = [tp if tp.offset >= 0 else TopicPartition(topic, tp.partition, OFFSET_BEGINNING) for tp in assignment]
    consumer.assign(assignment)

    books = {}
    held = {}  # key -> messages past --until-ts (not applied)
    until = {}
    for item in filter(None, args.until.split(",")):
        key, _, ts = item.rpartition("=")
        until[key] = int(ts)
    wanted = set(until)
    deadline = time.time() + args.duration
    while time.time() < deadline:
        record = consumer.poll(0.5)
        if record is None:
            if wanted and wanted <= set(held):
                break
            continue
        if record.error():
            if record.error().code() != KafkaError._PARTITION_EOF:
                report(f"kafka: {record.error()}")
            continue
        try:
            message = json.loads(record.value())
            key = f"{message['source']}:{message['symbol']}"
            if key in until:
                if key in held:
                    continue
                if message.get("reason") != "periodic" and message["ts"] > until[key]:
                    held[key] = True
                    continue
            apply(books, message)
        except (ValueError, KeyError, TypeError, InvalidOperation) as error:
            report(f"skipped {record.topic()} [{record.partition()}] @{record.offset()}: {error}")
    consumer.close()
    for key in sorted(books):
        book = books[key]
        print(json.dumps({"key": key, "epoch": book.epoch, "seq": book.seq, "in_sync": book.in_sync,
                          "bids": book.sorted_levels("bids"), "asks": book.sorted_levels("asks"), "ts": book.ts}))
    missing = wanted - set(held)
    if missing:
        report(f"timed out before passing --until: {', '.join(sorted(missing))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
