#!/usr/bin/env python3
"""Validates FXStream topic messages against the JSON Schemas in docs/schemas (draft 2020-12).

    python3 scripts/validate-messages.py --schemas docs/schemas FILE... [--require ticks,candles]

Each FILE (or `-` for standard input) holds NDJSON, one message a line:

    {"topic": "ticks", "value": {"v": 1, "kind": "trade", ...}}
    {"topic": "fx.candles", "key": "coinbase:BTC/USD", "partition": 0, "offset": 17, "value": {...}}

`topic` is `ticks`, `gaps`, `health`, `rejects`, `candles`, `alerts`, `books` or `latest` (where a null
`value` is a tombstone), with or without the
deployment's prefix (`fx.ticks`, `kit.ticks`); `value` is the message's JSON exactly as read from
Kafka (a message that is not JSON goes in as a JSON string and fails). `key` (the Kafka key as
text) is optional: when present it is checked too. Other members (`partition`, `offset`, ...) are
ignored.

Besides the schema, a few rules no JSON Schema can state are checked ("contract: ..."): gap windows
run forwards (from_ts <= to_ts), quotes are not crossed (ask >= bid), book messages keep their
reason/kind/chunk rules and a snapshot's levels are unique and best first, candles are consistent
(low <= open, close <= high; end = start + timeframe), a reject's `truncated` matches its sizes, no
member name appears twice, and the key (when given) is the one the topic's writers use.

Numbers are read exactly: integers of any size as Python ints, numbers with a fraction or an
exponent as Decimal (so `1.0` or `1e18` where the contract wants an integer fails, as it should: the
topics write integers as integer literals).

Prints each invalid message (file:line, topic, where in the message and why) and one count line per
topic; exits 1 when a message is invalid or a `--require`d topic has no valid message, 2 on usage
errors. Needs the `jsonschema` package (pip install jsonschema; check-jsonschema brings it).
"""
import argparse
import json
import os
import re
import sys
from decimal import Decimal

try:
    from jsonschema import Draft202012Validator
except ImportError:  # pragma: no cover
    sys.exit("validate-messages: the Python package 'jsonschema' is missing (pip install jsonschema)")

TOPICS = ["ticks", "gaps", "health", "rejects", "candles", "alerts", "books", "latest"]
TIMEFRAME_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class DuplicateMember(ValueError):
    pass


def object_pairs(pairs):
    result = {}
    for name, value in pairs:
        if name in result:
            raise DuplicateMember(f"member '{name}' appears twice")
        result[name] = value
    return result


def parse(text):
    """JSON with exact numbers and no repeated member names."""
    return json.loads(text, parse_float=Decimal, object_pairs_hook=object_pairs,
                      parse_constant=lambda name: (_ for _ in ()).throw(ValueError(f"{name} is not JSON")))


def short_topic(topic):
    if not isinstance(topic, str):
        return None
    for name in TOPICS:
        if topic == name or topic.endswith(name):
            return name
    return None


def load_validators(folder):
    validators = {}
    for name in TOPICS:
        path = os.path.join(folder, f"{name}.schema.json")
        with open(path, encoding="utf-8") as handle:
            schema = json.load(handle)
        Draft202012Validator.check_schema(schema)
        validators[name] = Draft202012Validator(schema)
    return validators


def readable(message):
    """jsonschema's message with Decimal('1.5') shown as the JSON number it was: 1.5."""
    return re.sub(r"Decimal\('([^']*)'\)", r"\1 (a JSON number)", message)


def where(error):
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return path or "(message)"


def schema_errors(validator, value):
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    messages = []
    for error in errors:
        # if/then and anyOf failures say little on their own: name the branch's own failures.
        details = error.context or []
        if details:
            inner = "; ".join(sorted({f"{where(d)}: {readable(d.message)}" for d in details}))
            messages.append(f"{where(error)}: {readable(error.message)} ({inner})")
        else:
            messages.append(f"{where(error)}: {readable(error.message)}")
    return messages


def decimal(text):
    try:
        return Decimal(text)
    except Exception:
        return None


def contract_errors(topic, value, key):
    """The rules a JSON Schema cannot state; only called for schema-valid messages."""
    errors = []
    if topic == "ticks":
        if value["kind"] == "quote" and value.get("bid") is not None and value.get("ask") is not None:
            if decimal(value["ask"]) < decimal(value["bid"]):
                errors.append(f"contract: crossed quote (ask {value['ask']} < bid {value['bid']})")
        expected = f"{value['source']}:{value['symbol']}"
    elif topic == "gaps":
        if value["from_ts"] > value["to_ts"]:
            errors.append(f"contract: from_ts {value['from_ts']} is after to_ts {value['to_ts']}")
        if value["reason"] == "bootstrap" and value["from_ts"] != value["to_ts"]:
            errors.append("contract: a bootstrap event has from_ts = to_ts")
        expected = f"{value['source']}:{value['symbol']}"
    elif topic == "candles":
        o, h, l, c = (decimal(value[k]) for k in ("open", "high", "low", "close"))
        if not (l <= min(o, c) and max(o, c) <= h):
            errors.append(f"contract: inconsistent prices (open {o}, high {h}, low {l}, close {c})")
        match = re.fullmatch(r"([1-9][0-9]*)([smhd])", value["timeframe"])
        if match and value["end"] - value["start"] != int(match.group(1)) * TIMEFRAME_SECONDS[match.group(2)] * 10**9:
            errors.append(f"contract: end - start = {value['end'] - value['start']} ns is not the timeframe {value['timeframe']}")
        if match and value["start"] % (int(match.group(1)) * TIMEFRAME_SECONDS[match.group(2)] * 10**9) != 0:
            errors.append(f"contract: start {value['start']} is not aligned to {value['timeframe']}")
        expected = f"{value['source']}:{value['symbol']}"
    elif topic == "books":
        if (value["kind"] == "snapshot") != (value["reason"] is not None):
            errors.append("contract: 'reason' is set on snapshots and null on deltas")
        if value["kind"] == "delta" and (value["chunk"] != 0 or not value["last_chunk"]):
            errors.append("contract: a delta is never chunked")
        if value["kind"] == "snapshot":
            for side, descending in (("bids", True), ("asks", False)):
                prices = [decimal(level[0]) for level in value[side]]
                if prices != sorted(set(prices), reverse=descending):
                    errors.append(f"contract: snapshot {side} are not unique and best first")
                if any(decimal(level[1]) == 0 for level in value[side]):
                    errors.append(f"contract: a snapshot holds a zero quantity in {side}")
            if value["depth"] is not None and max(len(value["bids"]), len(value["asks"])) > value["depth"] and value["last_chunk"] and value["chunk"] == 0:
                errors.append(f"contract: a snapshot deeper than its depth {value['depth']}")
        expected = f"{value['source']}:{value['symbol']}"
    elif topic == "latest":
        if value is None:
            return [] if key is None or re.fullmatch(r"[a-z0-9_-]{1,32}:[A-Z0-9/._-]{1,32}", key) else [f"contract: tombstone key '{key}' is not source:symbol"]
        quote = value["quote"]
        if quote is not None and quote["bid"] is not None and quote["ask"] is not None and decimal(quote["ask"]) < decimal(quote["bid"]):
            errors.append(f"contract: crossed quote (ask {quote['ask']} < bid {quote['bid']})")
        newest = max([part["recv_ts"] for part in (quote, value["trade"]) if part is not None], default=None)
        if newest is not None and value["recv_ts"] != newest:
            errors.append(f"contract: recv_ts {value['recv_ts']} is not the newer part's ({newest})")
        expected = f"{value['source']}:{value['symbol']}"
    elif topic == "health":
        expected = f"{value['service']}:{value['instance']}"
    elif topic == "alerts":
        if not value["id"].startswith(value["rule"] + ":"):
            errors.append(f"contract: id '{value['id']}' does not start with the rule '{value['rule']}:'")
        expected = value["id"]
    else:  # rejects
        raw = value["raw"]
        kept = len(raw.encode("utf-8")) if value["raw_encoding"] == "utf8" else (len(raw) * 3) // 4 - raw.count("=")
        if value["truncated"] != (kept < value["raw_bytes"]):
            errors.append(f"contract: truncated is {str(value['truncated']).lower()} with {kept} of {value['raw_bytes']} bytes kept")
        if kept > 4096:
            errors.append(f"contract: raw keeps {kept} bytes (at most 4096)")
        expected = None
        if key is not None and not key:
            errors.append("contract: empty key")
    if key is not None and expected is not None and key != expected:
        errors.append(f"contract: key '{key}' is not '{expected}'")
    return errors


def main():
    parser = argparse.ArgumentParser(description="Validates FXStream topic messages (NDJSON of {topic, value}) against docs/schemas.")
    parser.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "schemas"),
                        help="folder of <topic>.schema.json (default: docs/schemas beside this script)")
    parser.add_argument("--require", default="", help="comma-separated topics that must have at least one valid message")
    parser.add_argument("--max-errors", type=int, default=100, help="invalid messages printed at most (all are counted)")
    parser.add_argument("files", nargs="+", metavar="FILE", help="NDJSON files ('-': standard input)")
    args = parser.parse_args()

    required = [t.strip() for t in args.require.split(",") if t.strip()]
    unknown = [t for t in required if t not in TOPICS]
    if unknown:
        parser.error(f"--require: unknown topic(s) {', '.join(unknown)} (known: {', '.join(TOPICS)})")
    try:
        validators = load_validators(args.schemas)
    except (OSError, ValueError) as error:
        print(f"validate-messages: cannot load the schemas: {error}", file=sys.stderr)
        return 2

    valid = {t: 0 for t in TOPICS}
    invalid = {t: 0 for t in TOPICS}
    unreadable = 0
    printed = 0

    def report(label, topic, reasons):
        nonlocal printed
        if printed < args.max_errors:
            print(f"INVALID {label}: {topic or '?'}: " + "; ".join(reasons))
        printed += 1

    for name in args.files:
        handle = sys.stdin if name == "-" else open(name, encoding="utf-8")
        with handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                label = f"{name}:{number}"
                try:
                    record = parse(line)
                except ValueError as error:
                    unreadable += 1
                    report(label, None, [f"not a JSON line: {error}"])
                    continue
                if not isinstance(record, dict) or "value" not in record:
                    unreadable += 1
                    report(label, None, ["a line is {\"topic\": ..., \"value\": ...}"])
                    continue
                topic = short_topic(record.get("topic"))
                if topic is None:
                    unreadable += 1
                    report(label, record.get("topic"), [f"unknown topic (known: {', '.join(TOPICS)}, with or without a prefix)"])
                    continue
                value, key = record["value"], record.get("key")
                reasons = schema_errors(validators[topic], value)
                if not reasons:
                    reasons = contract_errors(topic, value, key)
                if reasons:
                    invalid[topic] += 1
                    report(label, topic, reasons)
                else:
                    valid[topic] += 1

    if printed > args.max_errors:
        print(f"... and {printed - args.max_errors} more invalid messages")
    for topic in TOPICS:
        print(f"{topic}: {valid[topic]} valid, {invalid[topic]} invalid")
    if unreadable:
        print(f"unreadable lines: {unreadable}")
    missing = [t for t in required if valid[t] == 0]
    if missing:
        print(f"no valid message on required topic(s): {', '.join(missing)}")
    bad = sum(invalid.values()) + unreadable
    print(f"total: {sum(valid.values())} valid, {bad} invalid")
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
