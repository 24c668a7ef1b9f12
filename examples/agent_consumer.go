// A downstream agent in Go, reading FXStream's topics with confluent-kafka-go (librdkafka): the same
// agent as examples/agent_consumer.py, with the same flags and the same output (one JSON line per
// message it keeps). See docs/for-agents.md.
//
// It checks the contract version `v` (skipping and reporting unknown versions), keeps prices and
// sizes exact (decimal strings, compared as big.Rat, printed as published), deduplicates ticks as
// the aggregator does, keeps the highest (revision, final) per candle, keeps only the candle price
// types asked for, commits offsets itself after processing (at least once) and, with --from-time,
// seeks every newly assigned partition with OffsetsForTimes.
//
// Build: `bash scripts/build-go-agent.sh` (after scripts/install-deps.sh), or by hand (Debian's packages, no
// module proxy; librdkafka >= 2.x, e.g. the one scripts/install-deps.sh
// builds into .deps/rdkafka):
//
//	apt-get install golang-go
//	apt-get download golang-github-confluentinc-confluent-kafka-go-dev && dpkg -x golang-github-confluentinc-confluent-kafka-go-dev_*.deb /opt/gocode-deb
//	GO111MODULE=off GOPATH=/opt/gocode-deb/usr/share/gocode PKG_CONFIG_PATH=$PWD/.deps/rdkafka/lib/pkgconfig \
//	    go build -tags static -o agent_consumer examples/agent_consumer.go
//	./agent_consumer --brokers 127.0.0.1:19092 --prefix fx. --group my-agent
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

const (
	supportedVersion    = 1
	dedupWindowNs       = int64(60 * 60 * 1e9) // the aggregator's default duplicate window (event time)
	maxCandlesTracked   = 200000
	commitEveryMessages = 1000
	commitEvery         = time.Second
)

// skip: a message this agent does not process (reported on stderr; its offset is still committed).
type skip struct{ reason string }

func (s skip) Error() string { return s.reason }

func skipf(format string, args ...interface{}) error { return skip{fmt.Sprintf(format, args...)} }

type event map[string]interface{}

// text: a string member, or "" when absent or not a string.
func (e event) text(name string) (string, bool) {
	s, ok := e[name].(string)
	return s, ok
}

// integer: a JSON integer literal (json.Number without fraction or exponent), exactly.
func (e event) integer(name string) (int64, error) {
	n, ok := e[name].(json.Number)
	if !ok {
		return 0, skipf("'%s' is not an integer", name)
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, skipf("'%s' = %s is not an integer", name, n)
	}
	return v, nil
}

// exact: a decimal member, which must be a JSON string holding a decimal (never a JSON number).
func (e event) exact(name string, nullable bool) (*big.Rat, string, error) {
	raw, present := e[name]
	if (raw == nil || !present) && nullable {
		return nil, "", nil
	}
	s, ok := raw.(string)
	if !ok {
		return nil, "", skipf("'%s' is not a decimal string", name)
	}
	if strings.ContainsAny(s, "eE/") {
		return nil, "", skipf("'%s' = %q is not plain decimal text", name, s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, "", skipf("'%s' = %q is not a decimal", name, s)
	}
	return r, s, nil
}

func fractionDigits(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// canonical: an exact value with `digits` places as canonical text (no trailing fractional zeros).
func canonical(r *big.Rat, digits int) string {
	s := r.FloatString(digits)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// line: a JSON object with its members in the given order.
type line []struct {
	k string
	v interface{}
}

func (l *line) add(k string, v interface{}) {
	*l = append(*l, struct {
		k string
		v interface{}
	}{k, v})
}

func (l line) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(kv.k)
		v, err := json.Marshal(kv.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ---- ticks

type ticks struct {
	seen   map[string]int64
	newest int64
}

func (t *ticks) identity(e event) string {
	source, _ := e.text("source")
	symbol, _ := e.text("symbol")
	kind, _ := e.text("kind")
	part := func(name string) string {
		if v, ok := e[name]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	if id, ok := e.text("trade_id"); kind == "trade" && ok {
		return source + "\x00" + symbol + "\x00t:" + id
	}
	if kind == "trade" {
		return strings.Join([]string{source, symbol, "T", part("ts"), part("seq"), part("price"), part("size")}, "\x00")
	}
	return strings.Join([]string{source, symbol, "q", part("ts"), part("seq"), part("bid"), part("ask"), part("bid_size"), part("ask_size")}, "\x00")
}

func (t *ticks) firstTime(e event, ts int64) bool {
	key := t.identity(e)
	if _, ok := t.seen[key]; ok {
		return false
	}
	t.seen[key] = ts
	if ts > t.newest {
		t.newest = ts
	}
	if len(t.seen)%10000 == 0 {
		for k, v := range t.seen {
			if v < t.newest-dedupWindowNs {
				delete(t.seen, k)
			}
		}
	}
	return true
}

func (t *ticks) line(e event) (line, int64, error) {
	source, ok1 := e.text("source")
	symbol, ok2 := e.text("symbol")
	if !ok1 || !ok2 {
		return nil, 0, skipf("source or symbol missing")
	}
	ts, err := e.integer("ts")
	if err != nil {
		return nil, 0, err
	}
	kind, _ := e.text("kind")
	var l line
	l.add("topic", "ticks")
	l.add("source", source)
	l.add("symbol", symbol)
	l.add("ts", ts)
	l.add("kind", kind)
	switch kind {
	case "trade":
		_, price, err := e.exact("price", false)
		if err != nil {
			return nil, 0, err
		}
		_, size, err := e.exact("size", false)
		if err != nil {
			return nil, 0, err
		}
		l.add("price", price)
		l.add("size", size)
		if id, ok := e.text("trade_id"); ok {
			l.add("trade_id", id)
		}
	case "quote":
		bid, bidText, err := e.exact("bid", true)
		if err != nil {
			return nil, 0, err
		}
		ask, askText, err := e.exact("ask", true)
		if err != nil {
			return nil, 0, err
		}
		if bid == nil && ask == nil {
			return nil, 0, skipf("a quote without bid and ask")
		}
		if bid != nil && ask != nil && ask.Cmp(bid) < 0 {
			return nil, 0, skipf("crossed quote (ask %s < bid %s)", askText, bidText)
		}
		l.add("bid", nullableText(bidText, bid != nil))
		l.add("ask", nullableText(askText, ask != nil))
		if bid != nil && ask != nil {
			mid := new(big.Rat).Add(bid, ask)
			mid.Quo(mid, big.NewRat(2, 1))
			digits := fractionDigits(bidText)
			if d := fractionDigits(askText); d > digits {
				digits = d
			}
			l.add("mid", canonical(mid, digits+1))
		}
	default:
		return nil, 0, skipf("unknown tick kind %q", kind)
	}
	return l, ts, nil
}

func nullableText(s string, present bool) interface{} {
	if !present {
		return nil
	}
	return s
}

// ---- candles

type candleVersion struct {
	revision int64
	final    bool
}

func (v candleVersion) after(o candleVersion) bool {
	return v.revision > o.revision || (v.revision == o.revision && v.final && !o.final)
}

type candles struct {
	priceTypes map[string]bool
	latest     map[string]candleVersion
	order      []string
}

func (c *candles) line(e event) (line, string, candleVersion, string, error) {
	var names [4]string
	for i, name := range []string{"source", "symbol", "timeframe", "price_type"} {
		s, ok := e.text(name)
		if !ok {
			return nil, "", candleVersion{}, "", skipf("'%s' is missing", name)
		}
		names[i] = s
	}
	start, err := e.integer("start")
	if err != nil {
		return nil, "", candleVersion{}, "", err
	}
	revision, err := e.integer("revision")
	if err != nil {
		return nil, "", candleVersion{}, "", err
	}
	final, _ := e["final"].(bool)
	values := map[string]*big.Rat{}
	texts := map[string]string{}
	for _, name := range []string{"open", "high", "low", "close", "volume"} {
		if values[name], texts[name], err = e.exact(name, false); err != nil {
			return nil, "", candleVersion{}, "", err
		}
	}
	vwap, vwapText, err := e.exact("vwap", true)
	if err != nil {
		return nil, "", candleVersion{}, "", err
	}
	o, h, lo, cl := values["open"], values["high"], values["low"], values["close"]
	if lo.Cmp(o) > 0 || lo.Cmp(cl) > 0 || h.Cmp(o) < 0 || h.Cmp(cl) < 0 {
		return nil, "", candleVersion{}, "", skipf("inconsistent candle (open %s, high %s, low %s, close %s)", texts["open"], texts["high"], texts["low"], texts["close"])
	}
	var l line
	l.add("topic", "candles")
	l.add("source", names[0])
	l.add("symbol", names[1])
	l.add("timeframe", names[2])
	l.add("price_type", names[3])
	l.add("start", start)
	end, _ := e.integer("end")
	l.add("end", end)
	for _, name := range []string{"open", "high", "low", "close", "volume"} {
		l.add(name, texts[name])
	}
	l.add("vwap", nullableText(vwapText, vwap != nil))
	tickCount, _ := e.integer("tick_count")
	l.add("tick_count", tickCount)
	l.add("final", final)
	l.add("revision", revision)
	origin, ok := e.text("origin")
	if !ok {
		origin = "stream"
	}
	l.add("origin", origin)
	key := strings.Join(append(names[:], strconv.FormatInt(start, 10)), "\x00")
	return l, key, candleVersion{revision, final}, names[3], nil
}

// newer: true when this (revision, final) is beyond what was seen for the candle (then remembered).
func (c *candles) newer(key string, v candleVersion) bool {
	if known, ok := c.latest[key]; ok && !v.after(known) {
		return false
	} else if !ok {
		c.order = append(c.order, key)
	}
	c.latest[key] = v
	for len(c.order) > maxCandlesTracked {
		delete(c.latest, c.order[0])
		c.order = c.order[1:]
	}
	return true
}

// ---- offsets

type offsets struct {
	consumer    *kafka.Consumer
	pending     map[string]kafka.TopicPartition
	sinceCommit int
	lastCommit  time.Time
}

func (o *offsets) processed(m *kafka.Message) {
	tp := m.TopicPartition
	tp.Offset++
	o.pending[fmt.Sprintf("%s/%d", *tp.Topic, tp.Partition)] = tp
	o.sinceCommit++
	if o.sinceCommit >= commitEveryMessages || time.Since(o.lastCommit) > commitEvery {
		o.commit(nil)
	}
}

// commit: the processed offsets (of `only`'s partitions when given), synchronously.
func (o *offsets) commit(only []kafka.TopicPartition) {
	o.lastCommit, o.sinceCommit = time.Now(), 0
	var todo []kafka.TopicPartition
	for key, tp := range o.pending {
		keep := only == nil
		for _, p := range only {
			keep = keep || (*p.Topic == *tp.Topic && p.Partition == tp.Partition)
		}
		if keep {
			todo = append(todo, tp)
			delete(o.pending, key)
		}
	}
	if len(todo) == 0 {
		return
	}
	if _, err := o.consumer.CommitOffsets(todo); err != nil {
		// Not fatal: the messages since the last commit are read again (at least once).
		fmt.Fprintf(os.Stderr, "commit failed (will retry): %v\n", err)
		for _, tp := range todo {
			o.pending[fmt.Sprintf("%s/%d", *tp.Topic, tp.Partition)] = tp
		}
	}
}

func parseTime(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n / 1e6, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return t.UnixNano() / 1e6, nil
}

func main() {
	brokers := flag.String("brokers", "127.0.0.1:19092", "Kafka bootstrap servers")
	prefix := flag.String("prefix", "fx.", "the pipeline's topic prefix")
	group := flag.String("group", "example-agent", "this agent's consumer group")
	topicList := flag.String("topics", "candles,ticks", "which of candles,ticks to read")
	priceTypes := flag.String("price-types", "trade", "candle price types to keep, comma-separated (trade, mid, bid, ask)")
	fromTime := flag.String("from-time", "", "start at messages written at or after this time (RFC 3339, e.g. 2026-12-04T09:00:00Z, or integer ns)")
	count := flag.Int("count", 0, "stop after N candles and N ticks (0: run until interrupted)")
	timeout := flag.Float64("timeout", 120, "with --count: give up after this many seconds")
	flag.Parse()

	var names []string
	for _, t := range strings.Split(*topicList, ",") {
		if t = strings.TrimSpace(t); t == "candles" || t == "ticks" {
			names = append(names, t)
		} else if t != "" {
			fmt.Fprintln(os.Stderr, "--topics takes candles and/or ticks")
			os.Exit(2)
		}
	}
	fromMs := int64(-1)
	if *fromTime != "" {
		var err error
		if fromMs, err = parseTime(*fromTime); err != nil {
			fmt.Fprintf(os.Stderr, "--from-time: %v\n", err)
			os.Exit(2)
		}
	}
	consumer, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": *brokers, "group.id": *group, "auto.offset.reset": "earliest",
		"enable.auto.commit": false, "session.timeout.ms": 6000,
		"go.application.rebalance.enable": true, // assignments come as events: seek, commit on revocation
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "consumer: %v\n", err)
		os.Exit(1)
	}
	committed := &offsets{consumer: consumer, pending: map[string]kafka.TopicPartition{}, lastCommit: time.Now()}
	seeked := map[string]bool{}
	var topics []string
	for _, t := range names {
		topics = append(topics, *prefix+t)
	}
	if err := consumer.SubscribeTopics(topics, nil); err != nil {
		fmt.Fprintf(os.Stderr, "subscribe: %v\n", err)
		os.Exit(1)
	}
	tk := &ticks{seen: map[string]int64{}}
	cd := &candles{priceTypes: map[string]bool{}, latest: map[string]candleVersion{}}
	for _, p := range strings.Split(*priceTypes, ",") {
		cd.priceTypes[strings.TrimSpace(p)] = true
	}
	seen := map[string]int{}
	skipped := map[string]int{}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	deadline := time.Now().Add(time.Duration(*timeout * float64(time.Second)))
	status := 0
	enough := func() bool {
		if *count == 0 {
			return false
		}
		for _, t := range names {
			if seen[t] < *count {
				return false
			}
		}
		return true
	}
loop:
	for !enough() {
		select {
		case <-stop:
			break loop
		default:
		}
		if *count > 0 && time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "timed out with %v\n", seen)
			status = 1
			break
		}
		switch ev := consumer.Poll(1000).(type) {
		case nil:
			committed.commit(nil)
		case kafka.AssignedPartitions:
			partitions := ev.Partitions
			// --from-time applies once per partition and run; later assignments resume from the commits.
			var fresh []kafka.TopicPartition
			for _, p := range partitions {
				if key := fmt.Sprintf("%s/%d", *p.Topic, p.Partition); fromMs >= 0 && !seeked[key] {
					seeked[key] = true
					p.Offset = kafka.Offset(fromMs)
					fresh = append(fresh, p)
				}
			}
			if len(fresh) > 0 {
				found, err := consumer.OffsetsForTimes(fresh, 10000)
				if err != nil {
					fmt.Fprintf(os.Stderr, "offsets for times: %v\n", err)
					os.Exit(1)
				}
				for i, p := range partitions {
					for _, f := range found {
						if *f.Topic == *p.Topic && f.Partition == p.Partition {
							partitions[i].Offset = f.Offset
							if f.Offset < 0 { // nothing written at or after that time yet: start at the end
								partitions[i].Offset = kafka.OffsetEnd
							}
						}
					}
				}
				fmt.Fprintf(os.Stderr, "seeked %d partition(s) to %s\n", len(fresh), *fromTime)
			}
			consumer.Assign(partitions)
		case kafka.RevokedPartitions:
			committed.commit(ev.Partitions)
			consumer.Unassign()
		case kafka.Error:
			fmt.Fprintf(os.Stderr, "kafka: %v\n", ev)
		case *kafka.Message:
			kind := "ticks"
			if strings.HasSuffix(*ev.TopicPartition.Topic, "candles") {
				kind = "candles"
			}
			if err := process(ev, kind, tk, cd, seen); err != nil {
				skipped[kind]++
				fmt.Fprintf(os.Stderr, "skipped %s [%d] @%d: %v\n", *ev.TopicPartition.Topic, ev.TopicPartition.Partition, ev.TopicPartition.Offset, err)
			}
			committed.processed(ev) // processed (printed, filtered or skipped): its offset may be committed
		}
	}
	committed.commit(nil)
	consumer.Close()
	if len(skipped) > 0 {
		fmt.Fprintf(os.Stderr, "skipped messages: %v\n", skipped)
	}
	os.Exit(status)
}

func process(m *kafka.Message, kind string, tk *ticks, cd *candles, seen map[string]int) error {
	decoder := json.NewDecoder(bytes.NewReader(m.Value))
	decoder.UseNumber() // numbers stay exact text: nanosecond times exceed 2^53
	var e event
	if err := decoder.Decode(&e); err != nil {
		return skipf("not a JSON object: %v", err)
	}
	if v, ok := e["v"].(json.Number); !ok || string(v) != strconv.Itoa(supportedVersion) {
		return skipf("unsupported contract version v=%v (this agent reads v%d)", e["v"], supportedVersion)
	}
	var out line
	keep := false
	if kind == "candles" {
		l, key, version, priceType, err := cd.line(e)
		if err != nil {
			return err
		}
		out, keep = l, cd.priceTypes[priceType] && cd.newer(key, version)
	} else {
		l, ts, err := tk.line(e)
		if err != nil {
			return err
		}
		out, keep = l, tk.firstTime(e, ts)
	}
	if keep {
		text, err := json.Marshal(out)
		if err != nil {
			return err
		}
		fmt.Println(string(text))
		seen[kind]++
	}
	return nil
}
