#!/usr/bin/env python3
"""A downstream agent reading FXStream's topics with a standard Kafka client (confluent-kafka).

Reads `<prefix>candles` and `<prefix>ticks` in a consumer group of its own, keeps every price and size
as an exact `Decimal` (the topics carry them as decimal strings: never parse them into floats), and
prints one JSON line per message. Run it next to a running pipeline:

    pip install confluent-kafka
    python3 examples/agent_consumer.py --brokers localhost:9094 --prefix fx.

`--count N` stops after N candles and N ticks (exit 0), or fails after `--timeout` seconds (exit 1).
"""
import argparse
import json
import sys
import time
from decimal import Decimal

from confluent_kafka import Consumer, KafkaError


def candle(event):
    o, h, l, c = (Decimal(event[k]) for k in ("open", "high", "low", "close"))
    if not (l <= min(o, c) and max(o, c) <= h):
        raise ValueError(f"inconsistent candle: {event}")
    return {"topic": "candles", "source": event["source"], "symbol": event["symbol"], "timeframe": event["timeframe"],
            "price_type": event["price_type"], "start": event["start"], "open": str(o), "high": str(h), "low": str(l),
            "close": str(c), "volume": str(Decimal(event["volume"])), "final": event["final"],
            "revision": event["revision"], "origin": event.get("origin", "stream")}


def tick(event):
    line = {"topic": "ticks", "source": event["source"], "symbol": event["symbol"], "ts": event["ts"], "kind": event["kind"]}
    if event["kind"] == "trade":
        line["price"] = str(Decimal(event["price"]))
        line["size"] = str(Decimal(event["size"]))
    else:
        bid, ask = (Decimal(event[k]) if event.get(k) is not None else None for k in ("bid", "ask"))
        line["bid"], line["ask"] = (str(v) if v is not None else None for v in (bid, ask))
        if bid is not None and ask is not None:
            line["mid"] = str((bid + ask) / 2)
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default="localhost:9094", help="Kafka bootstrap servers")
    parser.add_argument("--prefix", default="fx.", help="the pipeline's topic prefix")
    parser.add_argument("--group", default="example-agent", help="this agent's consumer group")
    parser.add_argument("--count", type=int, default=0, help="stop after N candles and N ticks (0: run until interrupted)")
    parser.add_argument("--timeout", type=float, default=120, help="with --count: give up after this many seconds")
    args = parser.parse_args()

    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": args.group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": True, "session.timeout.ms": 6000})
    consumer.subscribe([args.prefix + "candles", args.prefix + "ticks"])
    seen = {"candles": 0, "ticks": 0}
    deadline = time.monotonic() + args.timeout
    try:
        while not args.count or min(seen.values()) < args.count:
            if args.count and time.monotonic() > deadline:
                print(f"timed out with {seen}", file=sys.stderr)
                return 1
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(message.error())
            event = json.loads(message.value(), parse_float=Decimal)
            kind = "candles" if message.topic().endswith("candles") else "ticks"
            print(json.dumps(candle(event) if kind == "candles" else tick(event)), flush=True)
            seen[kind] += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
